// Shared by the unit tests: temporary folders and the test corpus from ../shared.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { packageRoot } from '../../src/core/paths';

/** nanoGPT's tiny Shakespeare, read from the shared folder beside the clone (never copied in). */
export const SHAKESPEARE = path.resolve(packageRoot, '..', 'shared', 'data', 'tinyshakespeare', 'input.txt');

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
