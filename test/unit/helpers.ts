// Shared by the unit tests: temporary folders and the test corpus, the project's own tiny
// Shakespeare (corpus/) decompressed once per test process.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { shakespeareText } from '../../src/core/prepare/shakespeare';

/** nanoGPT's tiny Shakespeare as a plain text file: the shipped copy, verified and decompressed
 *  into a temporary folder that goes when the test process ends. */
export const SHAKESPEARE = decompressedShakespeare();

function decompressedShakespeare(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-test-corpus-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'input.txt');
  fs.writeFileSync(file, shakespeareText());
  return file;
}

/** A fresh temporary folder, removed when the test file ends. */
export function tempDir(prefix = 'wordplay-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function readTokens(file: string, dtype: 'uint16' | 'uint32' = 'uint16'): number[] {
  const bytes = fs.readFileSync(file);
  const view = dtype === 'uint16' ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2) : new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return Array.from(view);
}
