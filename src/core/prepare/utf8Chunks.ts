// Reading the input as UTF-8 in bounded memory: chunks of READ_CHUNK bytes that each end on a
// character boundary, checked as they go (no NUL bytes, valid UTF-8), and the code-point walks
// prepare does on bytes rather than strings.
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { UserError } from '../common/errors';
import type { PrepareProgress, ProgressMeter } from './progressMeter';

/** Bytes read at once: each pass holds one such buffer. */
export const READ_CHUNK = 1 << 22;

/** Yields a file's bytes in chunks that each end on a character boundary, refusing NUL bytes
 *  and invalid UTF-8 with the offset. Works on bytes: decoding to strings and walking them
 *  costs several times more, and the char tokenizer never needs the strings. */
export async function* readChunks(
  file: string,
  progress: ProgressMeter,
  phase: PrepareProgress['phase'],
  signal?: AbortSignal,
) {
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
        throw new UserError(
          `${file} looks binary (a NUL byte at offset ${offset + nul}). prepare takes UTF-8 text; remove binary files from the input.`,
        );
      }
      const filled = carry + bytesRead;
      const end = lastBoundary(buffer.subarray(0, filled));
      const chunk = buffer.subarray(0, end);
      if (!isUtf8(chunk)) {
        throw new UserError(
          `${file} is not valid UTF-8 (in bytes ${offset}–${offset + bytesRead}). Convert it, e.g. "iconv -f latin1 -t utf-8".`,
        );
      }
      progress.advance(bytesRead, phase);
      yield { chunk, raw, start: offset - carry };
      offset += bytesRead;
      buffer.copy(buffer, 0, end, filled);
      carry = filled - end;
    }
    if (carry)
      throw new UserError(
        `${file} is not valid UTF-8 (it ends inside a character). Convert it, e.g. "iconv -f latin1 -t utf-8".`,
      );
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
export function forEachCodePoint(bytes: Uint8Array, visit: (cp: number) => void): number {
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
export function byteIndexOfChar(bytes: Uint8Array, chars: number): number {
  let i = 0;
  for (let seen = 0; seen < chars && i < bytes.length; seen++) {
    const b = bytes[i];
    i += b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
  }
  return i;
}
