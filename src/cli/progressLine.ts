// One self-rewriting status line on stderr when it is a terminal; plain lines, at most one
// every few seconds, when it is not (CI logs, pipes).
export class ProgressLine {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastPlain = 0;
  private shown = false;

  update(text: string): void {
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${text}`);
      this.shown = true;
    } else if (Date.now() - this.lastPlain > 5000) {
      this.lastPlain = Date.now();
      process.stderr.write(`${text}\n`);
    }
  }

  /** A line that stays, printed above the status line. */
  log(text: string): void {
    this.done();
    process.stderr.write(`${text}\n`);
  }

  done(): void {
    if (this.tty && this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}
