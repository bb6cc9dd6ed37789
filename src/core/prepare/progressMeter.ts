// prepare's progress: bytes read over all its passes, reported at most five times a second as
// input megabytes per second and an ETA.

export interface PrepareProgress {
  phase: 'checking' | 'training tokenizer' | 'encoding';
  bytesDone: number;
  bytesTotal: number;
  mbPerSecond: number;
  etaSeconds: number;
}

/** Counts the bytes read; reports to `report`. */
export class ProgressMeter {
  private done = 0;
  private readonly started = Date.now();
  private lastReport = 0;

  constructor(
    private readonly total: number,
    /** How many times each input byte is read, to speak of input megabytes. */
    private readonly passes: number,
    private readonly report?: (p: PrepareProgress) => void,
  ) {}

  advance(bytes: number, phase: PrepareProgress['phase']): void {
    this.done += bytes;
    const now = Date.now();
    if (!this.report || (now - this.lastReport < 200 && this.done < this.total)) return;
    this.lastReport = now;
    const seconds = Math.max((now - this.started) / 1000, 1e-3);
    const rate = this.done / seconds;
    this.report({
      phase,
      bytesDone: this.done,
      bytesTotal: this.total,
      mbPerSecond: rate / this.passes / 1e6,
      etaSeconds: rate > 0 ? (this.total - this.done) / rate : Infinity,
    });
  }
}
