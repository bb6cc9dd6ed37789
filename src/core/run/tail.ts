// Tails a growing text file by lines: each poll() returns the lines completed since the last
// one. A line is returned only once its newline has arrived, so half-written lines wait. The
// file may not exist yet; if it shrinks (a new run in the same folder), reading restarts.
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export class FileTail {
  private offset: number;
  private partial = '';
  // a read may end inside a multi-byte character: its first bytes wait for the rest
  private decoder = new StringDecoder('utf8');

  /** fromStart false: only what is appended after now. */
  constructor(
    readonly file: string,
    options: { fromStart?: boolean } = {},
  ) {
    this.offset = options.fromStart === false && fs.existsSync(file) ? fs.statSync(file).size : 0;
  }

  poll(): string[] {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return [];
    }
    if (size < this.offset) {
      this.offset = 0;
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
    }
    if (size === this.offset) return [];
    const fd = fs.openSync(this.file, 'r');
    try {
      const buffer = Buffer.alloc(size - this.offset);
      const read = fs.readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset += read;
      const text = this.partial + this.decoder.write(buffer.subarray(0, read));
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      return lines.map((line) => line.replace(/\r$/, ''));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The unterminated last line, for a writer that has ended. */
  rest(): string {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    return rest;
  }
}
