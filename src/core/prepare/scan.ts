// prepare's first pass over the input: its sha256, its characters (to place nanoGPT's split), and
// for char the vocabulary; then where the split falls, as a file and a byte offset in it.
import { isAscii } from 'node:buffer';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { ProgressMeter } from './progressMeter';
import { sortCodePoints, type TokenizerSpec } from './tokenizer';
import { byteIndexOfChar, forEachCodePoint, READ_CHUNK, readChunks } from './utf8Chunks';

/** Where val begins: the input file, and the byte offset in it. */
export interface SplitPoint {
  file: number;
  byte: number;
}

interface ChunkMark {
  file: number;
  byte: number;
  char: number;
}

export interface Scan {
  characters: number;
  sha256: string;
  vocab: string[];
  /** Where each chunk starts, in bytes of its file and in characters of the whole input. */
  marks: ChunkMark[];
}

export async function scanInputs(
  files: string[],
  kind: TokenizerSpec['type'],
  progress: ProgressMeter,
  signal?: AbortSignal,
): Promise<Scan> {
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
export async function locateSplit(files: string[], marks: ChunkMark[], splitAt: number): Promise<SplitPoint> {
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
