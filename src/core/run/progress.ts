// Where a run is, folded from its events: iteration of max, loss, tokens/s, last val loss and
// the ETA. This is the one source of those figures: the CLI's live line, and in the editor the
// progress notification, the status bar, the Runs tree and the Metrics view all fold the same
// events with TrainProgress and word them with positionText, so they agree at any moment.
import type { RunEvent } from './events';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Where a run is: its iteration (the latest any event of its latest start reached), of how
 *  many, and the seconds left while it trains. */
export interface RunPosition {
  iter: number;
  maxIters: number | null;
  /** Undefined before the first train event after a start, and once the run has ended. */
  etaSeconds: number | undefined;
}

/** "28/400 · ETA 3m53s" (no ETA when there is none): how every surface words a position. */
export function positionText(position: RunPosition): string {
  const iteration = `${position.iter}/${position.maxIters ?? '?'}`;
  return position.etaSeconds === undefined ? iteration : `${iteration} · ETA ${formatDuration(position.etaSeconds)}`;
}

export class TrainProgress {
  maxIters: number | null = null;
  iter = 0;
  loss: number | undefined;
  tokensPerS: number | undefined;
  valLoss: number | undefined;
  /** A done event came after the latest start. */
  ended = false;
  private start: { iter: number; time: number } | undefined;
  private lastTrain: { iter: number; time: number } | undefined;

  /** Folds one event in; true when what it shows changed. */
  update(event: RunEvent): boolean {
    const before = this.signature();
    switch (event.type) {
      case 'start':
        // a resumed run starts again, maybe from an earlier checkpoint than the last event
        this.maxIters = event.max_iters;
        this.iter = event.iter;
        this.start = { iter: event.iter, time: event.time };
        this.lastTrain = undefined;
        this.ended = false;
        break;
      case 'train':
        this.loss = event.loss;
        this.tokensPerS = event.tokens_per_s;
        this.lastTrain = { iter: event.iter, time: event.time };
        break;
      case 'eval':
        this.valLoss = event.val_loss;
        break;
      case 'done':
        this.ended = true;
        break;
      default:
        break;
    }
    if ('iter' in event && typeof event.iter === 'number') this.iter = Math.max(this.iter, event.iter);
    return this.signature() !== before;
  }

  /**
   * Seconds left, at the pace from the latest start to the latest train event. It is computed
   * from the events' own times, not the clock, so everything that read the same events shows
   * the same ETA whenever it is drawn. Undefined before the first train event and once ended.
   */
  eta(): number | undefined {
    if (this.ended || !this.start || !this.lastTrain || !this.maxIters) return undefined;
    const done = this.lastTrain.iter - this.start.iter;
    if (done <= 0) return undefined;
    return ((this.lastTrain.time - this.start.time) / done) * Math.max(0, this.maxIters - this.lastTrain.iter);
  }

  get position(): RunPosition {
    return { iter: this.iter, maxIters: this.maxIters, etaSeconds: this.eta() };
  }

  /** "120/150 · ETA 12s · loss 2.4100": the notification's and the status bar's words. */
  summary(): string {
    return this.loss === undefined
      ? positionText(this.position)
      : `${positionText(this.position)} · loss ${this.loss.toFixed(4)}`;
  }

  /** The CLI's live line: "[####....] 120/150 · ETA 12s · loss 2.4100 · 12,346 tok/s · val 2.4100". */
  line(width = 24): string {
    const frac = this.maxIters ? Math.min(1, this.iter / this.maxIters) : 0;
    const filled = Math.round(frac * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const parts = [`${bar} ${positionText(this.position)}`];
    if (this.loss !== undefined) parts.push(`loss ${this.loss.toFixed(4)}`);
    if (this.tokensPerS !== undefined) parts.push(`${Math.round(this.tokensPerS).toLocaleString('en-US')} tok/s`);
    if (this.valLoss !== undefined) parts.push(`val ${this.valLoss.toFixed(4)}`);
    return parts.join(' · ');
  }

  private signature(): string {
    return `${this.summary()}|${this.tokensPerS}|${this.valLoss}`;
  }
}
