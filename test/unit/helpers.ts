// Shared by the unit tests: temporary folders, the test corpus (the project's own tiny
// Shakespeare, corpus/, decompressed once per test process), tiny models exported by the
// trainer's Python, and what a test needs that a machine may lack.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { trainerInvocation } from '../../src/core/common/pythonEnv';
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

// trainer/tests/make_reference.py's main once for each argument list (JSON), in one process
const MAKE_REFERENCES = `
import json, sys
sys.path.insert(0, sys.argv[1])
from make_reference import main
for argv in json.loads(sys.argv[2]):
    main(argv)
`;

/** Tiny random models exported as the trainer exports them, with PyTorch's logits for them
 *  (trainer/tests/make_reference.py, one argument list each: --out DIR ...), all made by one
 *  Python process, which imports PyTorch once. */
export function makeReferences(...argLists: string[][]): void {
  const inv = trainerInvocation([]);
  const args = ['-c', MAKE_REFERENCES, path.join(packageRoot, 'trainer', 'tests'), JSON.stringify(argLists)];
  const made = spawnSync(inv.command, args, {
    env: { ...inv.env, OMP_NUM_THREADS: '1' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(made.status, 0, `make_reference.py failed:\n${made.stderr}`);
}

/** For a test whose prerequisite is missing (`what`): off CI, why it is skipped (node:test's
 *  skip option, or t.skip's message); under CI (the CI variable set) it throws instead, naming
 *  what to install, so that a broken CI machine fails rather than skipping what it must check. */
export function missingPrerequisite(what: string, install: string): string {
  if (process.env.CI) throw new Error(`${what}: under CI this test must run; ${install}`);
  return `${what}; ${install}`;
}

/** A fresh temporary folder, removed when the test file ends. */
export function tempDir(prefix = 'wordplay-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function readTokens(file: string, dtype: 'uint16' | 'uint32' = 'uint16'): number[] {
  const bytes = fs.readFileSync(file);
  const view =
    dtype === 'uint16'
      ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)
      : new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return Array.from(view);
}

/** Text of every kind a tokenizer meets: code, prose, scripts, emoji, odd whitespace, numbers,
 *  upper-case contractions and random code points, from a fixed seed. */
export function mixedText(): string {
  const shakespeare = fs.readFileSync(SHAKESPEARE, 'utf8');
  const code = [
    'src/core/prepare/prepare.ts',
    'trainer/wordplay_trainer/train/model.py',
    'src/core/complete/generate.ts',
  ].map((f) => fs.readFileSync(f, 'utf8'));
  const scripts =
    'naïve café Ærøskøbing Straße ΚΑΛΗΜΕΡΑ привет мир 日本語のテキスト 한국어 문장 العربية עברית हिन्दी ไทย';
  const emoji = '😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷 ❤️ 1️⃣ 🧑🏿‍🚀';
  const spaces = ['\t\t', '    ', '\r\n', '\n\n\n', '\u00a0\u00a0', '\u2028', '\u0085', '\u3000', ' \t \n', '\u200b'];
  const words = ["DON'T", "we'll", "I'M", "it's", '12345678', '3.14159', '1,000,000', '0x1F', 'x²', '½'];
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const parts: string[] = [];
  for (let i = 0; i < 400; i++) {
    const kind = rand(6);
    if (kind === 0) {
      const at = rand(1_000_000);
      parts.push(shakespeare.slice(at, at + rand(400)));
    } else if (kind === 1) {
      const c = code[rand(code.length)];
      const at = rand(c.length);
      parts.push(c.slice(at, at + rand(600)));
    } else if (kind === 2) parts.push(scripts.split(' ')[rand(16)] + emoji.split(' ')[rand(9)]);
    else if (kind === 3) parts.push(spaces[rand(spaces.length)].repeat(1 + rand(4)));
    else if (kind === 4) parts.push(words[rand(words.length)]);
    else {
      let cp = rand(0x10ffff);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // no lone surrogates: Python reads UTF-8
      parts.push(String.fromCodePoint(cp === 0 ? 1 : cp));
    }
  }
  return parts.join('');
}
