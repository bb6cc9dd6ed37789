// Where a run is, folded from its events: iteration of max, loss, tokens/s, last val loss and
// the ETA; for a run with a time budget (train.time_budget_s) the budget and the time it has left. This is the one source of those figures: the CLI's live line, and in the editor the
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
  /** The latest start's train.time_budget_s; absent for a run without one. */
  budgetSeconds?: number;
}

/** "28/400 · ETA 3m53s", with a budget "28/400 · budget 5m00s, 2m13s left" (no ETA when there is
 *  none): how every surface words a position. */
export function positionText(position: RunPosition): string {
  const iteration = `${position.iter}/${position.maxIters ?? '?'}`;
  const eta = position.etaSeconds === undefined ? undefined : formatDuration(position.etaSeconds);
  if (position.budgetSeconds !== undefined) {
    const budget = `${iteration} · budget ${formatDuration(position.budgetSeconds)}`;
    return eta === undefined ? budget : `${budget}, ${eta} left`;
  }
  return eta === undefined ? iteration : `${iteration} · ETA ${eta}`;
}

export class TrainProgress {
  maxIters: number | null = null;
  iter = 0;
  loss: number | undefined;
  tokensPerS: number | undefined;
  valLoss: number | undefined;
  /** A done event came after the latest start. */
  ended = false;
  /** The latest start's train.time_budget_s, in seconds. */
  budgetSeconds: number | undefined;
  private start: { iter: number; time: number } | undefined;
  /** elapsed: the budget's clock at that event (its elapsed_s; from the start's time for an older
   *  trainer's, which lack it). */
  private lastTrain: { iter: number; time: number; elapsed: number } | undefined;

  /** Folds one event in; true when what it shows changed. */
  update(event: RunEvent): boolean {
    const before = this.signature();
    switch (event.type) {
      case 'start':
        // a resumed run starts again, maybe from an earlier checkpoint than the last event
        this.maxIters = event.max_iters;
        this.budgetSeconds = event.time_budget_s;
        this.iter = event.iter;
        this.start = { iter: event.iter, time: event.time };
        this.lastTrain = undefined;
        this.ended = false;
        break;
      case 'train':
        this.loss = event.loss;
        this.tokensPerS = event.tokens_per_s;
        this.lastTrain = {
          iter: event.iter,
          time: event.time,
          elapsed: event.elapsed_s ?? event.time - (this.start?.time ?? event.time),
        };
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
   * Seconds left, at the pace from the latest start to the latest train event; with a budget,
   * what the budget has left at that event, or less when max_iters comes first. It is computed
   * from the events' own times, not the clock, so everything that read the same events shows
   * the same ETA whenever it is drawn. Undefined before the first train event and once ended.
   */
  eta(): number | undefined {
    if (this.ended || !this.start || !this.lastTrain || !this.maxIters) return undefined;
    const done = this.lastTrain.iter - this.start.iter;
    if (done <= 0) return undefined;
    const byIters = ((this.lastTrain.time - this.start.time) / done) * Math.max(0, this.maxIters - this.lastTrain.iter);
    if (this.budgetSeconds === undefined) return byIters;
    return Math.min(byIters, Math.max(0, this.budgetSeconds - this.lastTrain.elapsed));
  }

  /** How far the run is, 0..1: its iterations of max_iters, or with a budget the share of the
   *  budget spent at the latest train event when that is further (the bar and the notification). */
  fraction(): number {
    if (!this.maxIters) return 0;
    const first = this.start?.iter ?? 0;
    const byIters =
      this.budgetSeconds === undefined
        ? this.iter / this.maxIters
        : (this.iter - first) / Math.max(1, this.maxIters - first);
    const byTime = this.budgetSeconds && this.lastTrain ? this.lastTrain.elapsed / this.budgetSeconds : 0;
    return Math.min(1, Math.max(byIters, byTime));
  }

  get position(): RunPosition {
    const position: RunPosition = { iter: this.iter, maxIters: this.maxIters, etaSeconds: this.eta() };
    if (this.budgetSeconds !== undefined) position.budgetSeconds = this.budgetSeconds;
    return position;
  }

  /** "120/150 · ETA 12s · loss 2.4100": the notification's and the status bar's words. */
  summary(): string {
    return this.loss === undefined
      ? positionText(this.position)
      : `${positionText(this.position)} · loss ${this.loss.toFixed(4)}`;
  }

  /** The CLI's live line: "[####....] 120/150 · ETA 12s · loss 2.4100 · 12,346 tok/s · val 2.4100"
   *  (with a budget "120/5000 · budget 5m00s, 2m13s left · loss ..."). */
  line(width = 24): string {
    const filled = Math.round(this.fraction() * width);
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
