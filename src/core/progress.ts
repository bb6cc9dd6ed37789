// A run's progress from its events: iteration of max, loss, tokens/s, ETA, last val loss. The
// CLI's live line, the extension's progress notification and status bar read the same figures.
import type { RunEvent } from './events';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class TrainProgress {
  maxIters = 0;
  iter = 0;
  loss: number | undefined;
  tokensPerS: number | undefined;
  valLoss: number | undefined;
  private startIter = 0;
  private startTime = 0;

  update(event: RunEvent): boolean {
    switch (event.type) {
      case 'start':
        this.maxIters = event.max_iters;
        this.startIter = this.iter = event.iter;
        this.startTime = event.time;
        return true;
      case 'train':
        this.iter = event.iter;
        this.loss = event.loss;
        this.tokensPerS = event.tokens_per_s;
        if (!this.startTime) this.startTime = event.time;
        return true;
      case 'eval':
        this.valLoss = event.val_loss;
        return true;
      default:
        return false;
    }
  }

  eta(now = Date.now() / 1000): number {
    const doneIters = this.iter - this.startIter;
    if (doneIters <= 0 || !this.maxIters) return NaN;
    return ((now - this.startTime) / doneIters) * (this.maxIters - this.iter);
  }

  line(width = 24, now = Date.now() / 1000): string {
    const frac = this.maxIters ? Math.min(1, this.iter / this.maxIters) : 0;
    const filled = Math.round(frac * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const parts = [`${bar} ${this.iter}/${this.maxIters || '?'}`];
    if (this.loss !== undefined) parts.push(`loss ${this.loss.toFixed(4)}`);
    if (this.tokensPerS !== undefined) parts.push(`${Math.round(this.tokensPerS).toLocaleString('en-US')} tok/s`);
    parts.push(`ETA ${formatDuration(this.eta(now))}`);
    if (this.valLoss !== undefined) parts.push(`val ${this.valLoss.toFixed(4)}`);
    return parts.join(' | ');
  }
}
