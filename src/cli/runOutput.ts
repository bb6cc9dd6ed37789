// What the terminal shows while a run trains, for `wordplay train` and `wordplay submit --wait`
// alike: on a terminal one self-rewriting progress line with each eval above it; elsewhere (CI,
// pipes) the trainer's own lines; and the closing line that says how the run ended.
import type { RunEvent } from '../core/run/events';
import { TrainProgress } from '../core/run/progress';

export class RunOutput {
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly progress = new TrainProgress();
  private shown = false;

  /** Removes the progress line, so the next text starts on a clean line. */
  clear(): void {
    if (this.tty && this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }

  /** A line that stays, above the progress line. */
  print(line: string): void {
    this.clear();
    process.stderr.write(`${line}\n`);
  }

  event(event: RunEvent): void {
    if (!this.tty) return; // the trainer's own lines are the plain progress
    if (event.type === 'eval') {
      const bpb = event.val_bpb === undefined ? '' : `, ${event.val_bpb.toFixed(4)} bits per byte`;
      this.print(
        `eval ${event.iter}: train loss ${event.train_loss.toFixed(4)}, val loss ${event.val_loss.toFixed(4)}${bpb}`,
      );
    }
    if (this.progress.update(event)) {
      process.stderr.write(`\r\x1b[2K${this.progress.line()}`);
      this.shown = true;
    }
  }

  /** A line the trainer wrote (its log, train.log). */
  trainerLine(line: string): void {
    // on a terminal the progress line replaces the trainer's per-iteration lines
    if (this.tty && /^(iter|eval) \d+/.test(line)) return;
    if (/^wordplay: (finished|stopped) at iteration/.test(line)) return; // summarised by ended()
    this.print(line);
  }

  /** The closing line, when the latest start ended with a `done` event other than an error
   *  (the trainer has printed an error itself); false when it did not. */
  ended(events: RunEvent[], runDir: string): boolean {
    this.clear();
    const latest = [...events].reverse();
    const sinceStart = latest.slice(0, latest.findIndex((e) => e.type === 'start') + 1 || latest.length);
    const done = sinceStart.find((e) => e.type === 'done');
    if (!done || done.reason === 'error') return false;
    const last = sinceStart.find((e) => e.type === 'eval');
    const bpb = last?.val_bpb !== undefined ? ` (${last.val_bpb.toFixed(4)} bits per byte)` : '';
    const val = last ? `, val loss ${last.val_loss.toFixed(4)}${bpb}` : '';
    const target = done.target_val_loss === undefined ? '' : ` (reached target val loss ${done.target_val_loss})`;
    process.stderr.write(
      `wordplay: ${done.reason} at iteration ${done.iter ?? '?'}${target}${val}; run dir ${runDir}\n`,
    );
    return true;
  }
}
