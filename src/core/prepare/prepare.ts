// prepare: text in, dataset directory out (train.bin, val.bin, tokenizer.json, meta.json).
//
// It streams: a first pass checks the input (no NUL bytes, valid UTF-8), hashes it, counts its
// characters (to place nanoGPT's 90/10 split) and, for char, collects the vocabulary; for bpe,
// the tokenizer is then trained on the training split (trainBpe.ts, the trainer's Python); a
// last pass encodes. Memory stays bounded whatever the corpus size. The dataset is built in a
// temporary folder beside --out and renamed into place at the end, so an interrupted or failed
// prepare never leaves a partial dataset.
import { isAscii, isUtf8 } from 'node:buffer';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasetFiles, dtypeFor, type DatasetMeta, type TokenDtype } from './dataset';
import { UserError } from '../common/errors';
import { resolveInputs } from './inputs';
import { processAlive } from '../common/processes';
import { shakespearePath } from './shakespeare';
import { BpeTokenizer, CharTokenizer, gpt2, parseTokenizerSpec, sortCodePoints, type PieceTokenizer, type Tokenizer, type TokenizerSpec } from './tokenizer';
import { bpeVocabProblem, defaultBpeVocab, trainBpe } from './trainBpe';

export type TokenizerKind = TokenizerSpec['type'];

export interface PrepareProgress {
  phase: 'checking' | 'training tokenizer' | 'encoding';
  bytesDone: number;
  bytesTotal: number;
  mbPerSecond: number;
  etaSeconds: number;
}

export interface PrepareOptions {
  /** A file, a folder, a glob, or "shakespeare". */
  input: string;
  tokenizer: TokenizerKind;
  /** bpe only: the vocabulary to train, <|endoftext|> included (default: defaultBpeVocab). */
  vocabSize?: number;
  out: string;
  force?: boolean;
  /** The environment the trainer's Python is resolved from (bpe trains with it). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  onProgress?: (progress: PrepareProgress) => void;
  log?: (line: string) => void;
}

export interface PrepareResult {
  dir: string;
  meta: DatasetMeta;
}

/** nanoGPT's split: the first 90% of the characters train, the rest is validation. */
export const TRAIN_FRACTION = 0.9;
const READ_CHUNK = 1 << 22;

export async function prepare(options: PrepareOptions): Promise<PrepareResult> {
  const cwd = options.cwd ?? process.cwd();
  const out = path.resolve(cwd, options.out);
  restoreInterruptedSwap(out);
  checkOutput(out, options.force ?? false);
  const files = options.input === 'shakespeare' ? [shakespearePath(process.env, options.log)] : resolveInputs(options.input, cwd);

  const sizes = files.map((f) => fs.statSync(f).size);
  const inputBytes = sizes.reduce((sum, n) => sum + n, 0);
  const bpe = options.tokenizer === 'bpe';
  // the training text is about TRAIN_FRACTION of the bytes (exactly: of the characters)
  const bpeVocab = bpe ? (options.vocabSize ?? defaultBpeVocab(TRAIN_FRACTION * inputBytes)) : undefined;
  const vocabProblem = bpeVocab === undefined ? undefined : bpeVocabProblem(bpeVocab, Math.floor(TRAIN_FRACTION * inputBytes));
  if (vocabProblem) throw new UserError(vocabProblem);
  // each input byte is read twice (check, then encode), and the training text once more for bpe
  const passes = bpe ? 2 + TRAIN_FRACTION : 2;
  const progress = new ProgressMeter(passes * inputBytes, passes, options.onProgress);
  const tmp = makeTempDir(out);
  try {
    const scan = await scanInputs(files, options.tokenizer, progress, options.signal);
    if (scan.characters === 0) throw new UserError(`the input is empty (${files.join(', ')}). Give it some text.`);
    const splitAt = Math.floor(scan.characters * TRAIN_FRACTION);
    const split = await locateSplit(files, scan.marks, splitAt);
    const trainBytes = sizes.slice(0, split.file).reduce((sum, n) => sum + n, 0) + split.byte;
    const tokenizer = bpeVocab === undefined ? simpleTokenizer(options.tokenizer, scan) : await trainedBpe(files, split, bpeVocab, tmp, progress, options);
    const vocabSize = tokenizer.vocabSize;
    const dtype = dtypeFor(vocabSize);
    const counts = await encodeInputs(files, tokenizer, dtype, split, tmp, progress, options.signal);
    if (counts.train < 2 || counts.val < 2) {
      throw new UserError(
        `the input is too short for a validation split: ${scan.characters} characters give ${counts.train} train and ${counts.val} val tokens (the last 10% is held out for validation). Give at least a few hundred characters.`,
      );
    }
    const meta: DatasetMeta = {
      source: files,
      sha256: scan.sha256,
      tokenizer: tokenizer.spec.type,
      vocab_size: vocabSize,
      dtype,
      documents: files.length,
      characters: scan.characters,
      train_characters: splitAt,
      train_tokens: counts.train,
      val_tokens: counts.val,
      train_bytes: trainBytes,
      val_bytes: inputBytes - trainBytes,
      created: new Date().toISOString(),
      ...(dtype === 'uint32' ? { note: `the vocabulary has ${vocabSize} entries, more than uint16 holds, so the ids are uint32` } : {}),
    };
    // bpe's tokenizer.json is already there, as the tokenizer's own library wrote it
    if (tokenizer.spec.type !== 'bpe') writeJsonDurably(path.join(tmp, datasetFiles.tokenizer), tokenizer.spec);
    writeJsonDurably(path.join(tmp, datasetFiles.meta), meta);
    replaceDir(tmp, out);
    return { dir: out, meta };
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function simpleTokenizer(kind: TokenizerKind, scan: Scan): Tokenizer {
  return kind === 'char' ? new CharTokenizer(scan.vocab) : gpt2();
}

/** Trains the BPE on the training split into tmp/tokenizer.json and reads it back; a corpus
 *  that runs out of pairs before an asked-for size is refused with the size it supports. */
async function trainedBpe(
  files: string[],
  split: { file: number; byte: number },
  vocabSize: number,
  tmp: string,
  progress: ProgressMeter,
  options: PrepareOptions,
): Promise<BpeTokenizer> {
  const file = path.join(tmp, datasetFiles.tokenizer);
  let reported = 0;
  await trainBpe({
    files,
    end: split,
    vocabSize,
    out: file,
    env: options.env,
    signal: options.signal,
    onBytes: (bytes) => {
      progress.advance(bytes - reported, 'training tokenizer');
      reported = bytes;
    },
  });
  const spec = parseTokenizerSpec(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  const tokenizer = new BpeTokenizer((spec as Extract<TokenizerSpec, { type: 'bpe' }>).json);
  if (tokenizer.vocabSize < vocabSize) {
    const message = `the training text supports ${tokenizer.vocabSize.toLocaleString('en-US')} tokens, fewer than the ${vocabSize.toLocaleString('en-US')} asked for (its pieces are all merged whole by then)`;
    if (options.vocabSize !== undefined) throw new UserError(`${message}. Choose --vocab-size ${tokenizer.vocabSize} or less, or give more text.`);
    options.log?.(`${message}; the dataset has ${tokenizer.vocabSize}.`);
  }
  return tokenizer;
}

function checkOutput(out: string, force: boolean): void {
  if (!fs.existsSync(out)) return;
  if (!force) throw new UserError(`the output folder ${out} already exists. Pass --force to replace it, or choose another --out.`);
  const entries = fs.statSync(out).isDirectory() ? fs.readdirSync(out) : null;
  // --force replaces a dataset, never an unrelated folder that happens to be named
  if (entries === null || (entries.length > 0 && !entries.includes(datasetFiles.meta))) {
    throw new UserError(`${out} exists and is not a wordplay dataset, so --force will not replace it. Choose another --out.`);
  }
}

/** A --force prepare killed between its two renames (see replaceDir) leaves the old dataset
 *  aside as `.<name>.tmp-<pid>-<x>-old` and no `out`: put the old one back before anything
 *  else, so nothing is lost. */
function restoreInterruptedSwap(out: string): void {
  if (fs.existsSync(out)) return;
  const prefix = `.${path.basename(out)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(out));
  } catch {
    return;
  }
  const aside = names.find((n) => n.startsWith(prefix) && n.endsWith('-old') && !processAlive(Number(n.slice(prefix.length).split('-')[0])));
  if (aside) fs.renameSync(path.join(path.dirname(out), aside), out);
}

/** A fresh temporary folder beside out (same filesystem, so the final rename is atomic);
 *  leftovers of prepares that were killed are removed first. */
function makeTempDir(out: string): string {
  const parent = path.dirname(out);
  const prefix = `.${path.basename(out)}.tmp-`;
  try {
    fs.mkdirSync(parent, { recursive: true });
    for (const name of fs.readdirSync(parent)) {
      if (name.startsWith(prefix) && !processAlive(Number(name.slice(prefix.length).split('-')[0]))) {
        fs.rmSync(path.join(parent, name), { recursive: true, force: true });
      }
    }
    const tmp = fs.mkdtempSync(path.join(parent, `${prefix}${process.pid}-`));
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private; a dataset is an ordinary folder
    return tmp;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOSPC') {
      throw new UserError(`cannot write to ${parent} (${code}). Choose an --out folder you can write to.`);
    }
    throw err;
  }
}

function replaceDir(tmp: string, out: string): void {
  fsyncDir(tmp);
  if (fs.existsSync(out)) {
    const old = `${tmp}-old`;
    fs.renameSync(out, old);
    fs.renameSync(tmp, out);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, out);
  }
  fsyncDir(path.dirname(out));
}

function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeJsonDurably(file: string, value: unknown): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(value, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

class ProgressMeter {
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

interface ChunkMark {
  file: number;
  byte: number;
  char: number;
}

/** Yields a file's bytes in chunks that each end on a character boundary, refusing NUL bytes
 *  and invalid UTF-8 with the offset. Works on bytes: decoding to strings and walking them
 *  costs several times more, and the char tokenizer never needs the strings. */
async function* readChunks(file: string, progress: ProgressMeter, phase: PrepareProgress['phase'], signal?: AbortSignal) {
  // one buffer, reused: the consumer is done with a chunk before the next read
  const buffer = Buffer.allocUnsafeSlow(READ_CHUNK + 4);
  const handle = await fs.promises.open(file, 'r');
  try {
    let offset = 0;
    let carry = 0;
    for (;;) {
      if (signal?.aborted) throw new UserError('prepare was cancelled; no dataset was written.');
      const { bytesRead } = await handle.read(buffer, carry, READ_CHUNK, null);
      if (bytesRead === 0) break;
      const raw = buffer.subarray(carry, carry + bytesRead);
      const nul = raw.indexOf(0);
      if (nul >= 0) {
        throw new UserError(`${file} looks binary (a NUL byte at offset ${offset + nul}). prepare takes UTF-8 text; remove binary files from the input.`);
      }
      const filled = carry + bytesRead;
      const end = lastBoundary(buffer.subarray(0, filled));
      const chunk = buffer.subarray(0, end);
      if (!isUtf8(chunk)) {
        throw new UserError(`${file} is not valid UTF-8 (in bytes ${offset}–${offset + bytesRead}). Convert it, e.g. "iconv -f latin1 -t utf-8".`);
      }
      progress.advance(bytesRead, phase);
      yield { chunk, raw, start: offset - carry };
      offset += bytesRead;
      buffer.copy(buffer, 0, end, filled);
      carry = filled - end;
    }
    if (carry) throw new UserError(`${file} is not valid UTF-8 (it ends inside a character). Convert it, e.g. "iconv -f latin1 -t utf-8".`);
  } finally {
    await handle.close();
  }
}

/** The end of the last complete UTF-8 sequence in bytes. */
function lastBoundary(bytes: Uint8Array): number {
  let lead = bytes.length - 1;
  while (lead > 0 && lead > bytes.length - 4 && (bytes[lead] & 0xc0) === 0x80) lead--;
  if (lead < 0) return 0;
  const b = bytes[lead];
  const length = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return lead + length > bytes.length ? lead : bytes.length;
}

/** Calls visit with each code point of valid UTF-8 bytes; returns how many there were. */
function forEachCodePoint(bytes: Uint8Array, visit: (cp: number) => void): number {
  let count = 0;
  for (let i = 0; i < bytes.length; count++) {
    const b = bytes[i];
    if (b < 0x80) {
      visit(b);
      i++;
    } else if (b < 0xe0) {
      visit(((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f));
      i += 2;
    } else if (b < 0xf0) {
      visit(((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f));
      i += 3;
    } else {
      visit(((b & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f));
      i += 4;
    }
  }
  return count;
}

/** The byte index after the first `chars` code points of valid UTF-8 bytes. */
function byteIndexOfChar(bytes: Uint8Array, chars: number): number {
  let i = 0;
  for (let seen = 0; seen < chars && i < bytes.length; seen++) {
    const b = bytes[i];
    i += b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
  }
  return i;
}

interface Scan {
  characters: number;
  sha256: string;
  vocab: string[];
  /** Where each chunk starts, in bytes of its file and in characters of the whole input. */
  marks: ChunkMark[];
}

async function scanInputs(files: string[], kind: TokenizerKind, progress: ProgressMeter, signal?: AbortSignal): Promise<Scan> {
  const hash = crypto.createHash('sha256');
  const seen = new Uint8Array(0x110000);
  const seenPairs = new Uint8Array(0x10000);
  const markSeen = (cp: number) => (seen[cp] = 1);
  const ignore = () => {};
  const marks: ChunkMark[] = [];
  let characters = 0;
  for (const [file, name] of files.entries()) {
    for await (const { chunk, raw, start } of readChunks(name, progress, 'checking', signal)) {
      hash.update(raw);
      marks.push({ file, byte: start, char: characters });
      if (kind === 'char') characters += markAll(chunk, seen, seenPairs, markSeen);
      else characters += isAscii(chunk) ? chunk.length : forEachCodePoint(chunk, ignore);
    }
  }
  unfoldPairs(seenPairs, seen);
  const vocab: string[] = [];
  if (kind === 'char') seen.forEach((s, cp) => s && vocab.push(String.fromCodePoint(cp)));
  return { characters, sha256: hash.digest('hex'), vocab: sortCodePoints(vocab), marks };
}

/** Marks the code points of a chunk as seen. ASCII, the common case, goes without decoding and
 *  two bytes at a time (pairs are unfolded into bytes once, at the end). */
function markAll(chunk: Uint8Array, seen: Uint8Array, seenPairs: Uint8Array, markSeen: (cp: number) => void): number {
  if (!isAscii(chunk)) return forEachCodePoint(chunk, markSeen);
  const src = chunk.byteOffset % 2 === 0 ? chunk : new Uint8Array(chunk);
  const pairs = new Uint16Array(src.buffer, src.byteOffset, src.length >> 1);
  for (let i = 0; i < pairs.length; i++) seenPairs[pairs[i]] = 1;
  if (src.length % 2 === 1) seen[src[src.length - 1]] = 1;
  return chunk.length;
}

function unfoldPairs(seenPairs: Uint8Array, seen: Uint8Array): void {
  seenPairs.forEach((s, pair) => {
    if (s) seen[pair & 0xff] = seen[pair >> 8] = 1;
  });
}

/** The byte position of the split: the file, and the offset in it where val begins. */
async function locateSplit(files: string[], marks: ChunkMark[], splitAt: number): Promise<{ file: number; byte: number }> {
  let m = marks.length - 1;
  while (m > 0 && marks[m].char > splitAt) m--;
  const mark = marks[m];
  const fd = await fs.promises.open(files[mark.file], 'r');
  try {
    const { buffer, bytesRead } = await fd.read(Buffer.alloc(READ_CHUNK + 4), 0, READ_CHUNK + 4, mark.byte);
    return { file: mark.file, byte: mark.byte + byteIndexOfChar(buffer.subarray(0, bytesRead), splitAt - mark.char) };
  } finally {
    await fd.close();
  }
}

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
const isSpace = (u: number) => /\s/.test(String.fromCharCode(u));
const isNewline = (u: number) => u === 0x0a || u === 0x0d;
const isLetterOrDigit = (u: number) => /[\p{L}\p{N}]/u.test(String.fromCharCode(u));

/** Neither GPT-2's split pattern nor bpe's (Llama 3's) lets a piece run from a non-space
 *  character into the whitespace after it, except that bpe's punctuation pieces take the
 *  newlines that follow them: so text cut before whitespace that follows a letter or digit, or
 *  before a space or tab that follows anything but whitespace, encodes exactly as the whole
 *  would; the tail after the last such cut waits for the next chunk. */
function pieceEncoder(tokenizer: PieceTokenizer, writer: TokenWriter): SplitEncoder {
  const utf8 = new TextDecoder();
  const emit = (id: number) => writer.push(id);
  let carry = '';
  const safeCut = (text: string, at: number) => {
    const u = text.charCodeAt(at);
    const before = text.charCodeAt(at - 1);
    return isSpace(u) && !isSpace(before) && (!isNewline(u) || isLetterOrDigit(before));
  };
  return {
    feed(bytes) {
      const all = carry + utf8.decode(bytes);
      let cut = all.length - 1;
      while (cut > 0 && !safeCut(all, cut)) cut--;
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

async function encodeInputs(
  files: string[],
  tokenizer: Tokenizer,
  dtype: TokenDtype,
  split: { file: number; byte: number },
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
