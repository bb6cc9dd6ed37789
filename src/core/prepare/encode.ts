// prepare's last pass: each split encoded with the dataset's tokenizer into train.bin and val.bin
// (separately, as nanoGPT does), through a fixed buffer, chunk by chunk, in bounded memory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasetFiles, type TokenDtype } from './dataset';
import type { ProgressMeter } from './progressMeter';
import type { SplitPoint } from './scan';
import { CharTokenizer, type PieceTokenizer, type Tokenizer } from './tokenizer';
import { READ_CHUNK, readChunks } from './utf8Chunks';

/** Appends token ids to a .bin file through a fixed buffer. */
class TokenWriter {
  count = 0;
  private readonly fd: number;
  private readonly buffer: Uint16Array | Uint32Array;
  private used = 0;

  constructor(file: string, dtype: TokenDtype, capacity: number) {
    this.fd = fs.openSync(file, 'w');
    this.buffer = dtype === 'uint16' ? new Uint16Array(capacity) : new Uint32Array(capacity);
  }

  /** Room for n ids, flushing first when the buffer lacks it; returns the buffer and offset to write at. */
  reserve(n: number): { buffer: Uint16Array | Uint32Array; at: number } {
    if (this.used + n > this.buffer.length) this.flush();
    return { buffer: this.buffer, at: this.used };
  }

  commit(newUsed: number): void {
    this.count += newUsed - this.used;
    this.used = newUsed;
  }

  push(id: number): void {
    const { at } = this.reserve(1);
    this.buffer[at] = id;
    this.commit(at + 1);
  }

  flush(): void {
    // typed arrays are little-endian on every platform Node runs on, as the contract wants
    fs.writeSync(this.fd, new Uint8Array(this.buffer.buffer, 0, this.used * this.buffer.BYTES_PER_ELEMENT));
    this.used = 0;
  }

  close(): void {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}

/** Feeds valid UTF-8 to a writer chunk by chunk. */
interface SplitEncoder {
  feed(bytes: Uint8Array): void;
  finish(): void;
}

function charEncoder(tokenizer: CharTokenizer, writer: TokenWriter): SplitEncoder {
  return {
    feed(bytes) {
      const { buffer, at } = writer.reserve(bytes.length);
      writer.commit(tokenizer.encodeUtf8Into(bytes, buffer, at));
    },
    finish() {},
  };
}

const MAX_CARRY = 1 << 20;
const MAX_TRIES = 64;
const isSpace = (u: number) => /\s/.test(String.fromCharCode(u));
const isNewline = (u: number) => u === 0x0a || u === 0x0d;
const isLetterOrDigit = (u: number) => /[\p{L}\p{N}]/u.test(String.fromCharCode(u));

/** Neither GPT-2's split pattern nor bpe's (Llama 3's) lets a piece run from a non-space
 *  character into the whitespace after it, except that bpe's punctuation pieces take the
 *  newlines that follow them: so text cut before whitespace that follows a letter or digit, or
 *  before a space or tab that follows anything but whitespace, encodes exactly as the whole
 *  would; the tail after the last such cut waits for the next chunk. A model folder's tokenizer
 *  (its own pattern, added tokens) also checks the cut (separableAt), a few tries per chunk. */
function pieceEncoder(tokenizer: PieceTokenizer, writer: TokenWriter): SplitEncoder {
  const utf8 = new TextDecoder();
  const emit = (id: number) => writer.push(id);
  let carry = '';
  const candidate = (text: string, at: number) => {
    const u = text.charCodeAt(at);
    const before = text.charCodeAt(at - 1);
    return isSpace(u) && !isSpace(before) && (!isNewline(u) || isLetterOrDigit(before));
  };
  return {
    feed(bytes) {
      const all = carry + utf8.decode(bytes);
      let cut = all.length - 1;
      for (let tries = 0; cut > 0; cut--) {
        if (!candidate(all, cut)) continue;
        if (tokenizer.separableAt(all, cut)) break;
        if (++tries === MAX_TRIES) {
          cut = 0; // none of the last few cuts is safe: wait for more text
          break;
        }
      }
      // With no safe cut in a megabyte (text without spaces), cut anyway to bound memory.
      if (cut <= 0 && all.length > MAX_CARRY) cut = all.length;
      if (cut <= 0) {
        carry = all;
        return;
      }
      tokenizer.encodeEach(all.slice(0, cut), emit);
      carry = all.slice(cut);
    },
    finish() {
      tokenizer.encodeEach(carry, emit);
      carry = '';
    },
  };
}

export async function encodeInputs(
  files: string[],
  tokenizer: Tokenizer,
  dtype: TokenDtype,
  split: SplitPoint,
  dir: string,
  progress: ProgressMeter,
  signal?: AbortSignal,
): Promise<{ train: number; val: number }> {
  const writers = {
    train: new TokenWriter(path.join(dir, datasetFiles.train), dtype, READ_CHUNK + 4),
    val: new TokenWriter(path.join(dir, datasetFiles.val), dtype, READ_CHUNK + 4),
  };
  const encoderFor = (w: TokenWriter) =>
    tokenizer instanceof CharTokenizer ? charEncoder(tokenizer, w) : pieceEncoder(tokenizer as PieceTokenizer, w);
  let inVal = split.file === 0 && split.byte === 0;
  let writer = inVal ? writers.val : writers.train;
  let encoder = encoderFor(writer);
  const switchToVal = () => {
    // nanoGPT encodes the two splits separately
    encoder.finish();
    inVal = true;
    writer = writers.val;
    encoder = encoderFor(writer);
  };
  for (const [index, file] of files.entries()) {
    if (index > 0 && tokenizer.endOfText !== undefined) {
      // documents are separated by <|endoftext|>, nanoGPT's convention for several texts
      encoder.finish();
      writer.push(tokenizer.endOfText);
    }
    if (!inVal && index === split.file && split.byte === 0) switchToVal();
    for await (const { chunk, start } of readChunks(file, progress, 'encoding', signal)) {
      if (!inVal && index === split.file && start + chunk.length >= split.byte) {
        encoder.feed(chunk.subarray(0, split.byte - start));
        switchToVal();
        encoder.feed(chunk.subarray(split.byte - start));
      } else {
        encoder.feed(chunk);
      }
    }
  }
  encoder.finish();
  writers.train.close();
  writers.val.close();
  return { train: writers.train.count, val: writers.val.count };
}
