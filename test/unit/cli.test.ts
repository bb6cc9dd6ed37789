// The bundled `wordplay` command as a user runs it: exit codes, messages, files.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { shakespeareCachePath } from '../../src/core/prepare/shakespeare';
import { SHAKESPEARE, tempDir } from './helpers';

const cli = path.join(packageRoot, 'dist', 'cli.js');
const wordplay = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

test('wordplay prepare writes the dataset contract and reports its counts', () => {
  const out = path.join(tempDir(), 'ds');
  const result = wordplay(['prepare', '--input', SHAKESPEARE, '--tokenizer', 'char', '--out', out]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /vocab 65, 1,003,854 train and 111,540 val tokens/);
  assert.deepEqual(fs.readdirSync(out).sort(), ['meta.json', 'tokenizer.json', 'train.bin', 'val.bin']);
});

test('wordplay prepare --input shakespeare works offline from the shipped corpus, and replaces a damaged cached copy', () => {
  const cache = tempDir();
  const cached = shakespeareCachePath({ WORDPLAY_CACHE_DIR: cache });
  const prepareShakespeare = (out: string) =>
    wordplay(['prepare', '--input', 'shakespeare', '--tokenizer', 'gpt2', '--out', path.join(tempDir(), out)], {
      WORDPLAY_CACHE_DIR: cache,
    });

  const first = prepareShakespeare('ds');
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /301,966 train and 36,059 val tokens/);
  assert.deepEqual(fs.readFileSync(cached), fs.readFileSync(SHAKESPEARE));

  fs.writeFileSync(cached, 'First Citizen:\nnot the whole play\n');
  const again = prepareShakespeare('ds2');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /301,966 train and 36,059 val tokens/);
  assert.deepEqual(fs.readFileSync(cached), fs.readFileSync(SHAKESPEARE));
});

test('a damaged shipped tiny Shakespeare is refused by its sha256, and nothing is written', () => {
  // a copy of the package whose corpus holds other text: the bundle finds its package root by schemas/
  const pkg = tempDir();
  fs.cpSync(path.join(packageRoot, 'schemas'), path.join(pkg, 'schemas'), { recursive: true });
  fs.cpSync(path.join(packageRoot, 'corpus'), path.join(pkg, 'corpus'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'dist'));
  fs.copyFileSync(cli, path.join(pkg, 'dist', 'cli.js'));
  fs.writeFileSync(path.join(pkg, 'corpus', 'tinyshakespeare.txt.gz'), zlib.gzipSync('First Citizen:\nnot the play\n'));
  const cache = tempDir();
  const out = path.join(tempDir(), 'ds');
  const result = spawnSync(
    process.execPath,
    [path.join(pkg, 'dist', 'cli.js'), 'prepare', '--input', 'shakespeare', '--tokenizer', 'char', '--out', out],
    {
      encoding: 'utf8',
      env: { ...process.env, WORDPLAY_CACHE_DIR: cache },
    },
  );
  assert.equal(result.status, 1, result.stderr);
  assert.match(
    result.stderr,
    /the shipped tiny Shakespeare \(.*tinyshakespeare\.txt\.gz\) is damaged: its text has sha256 [0-9a-f]{64}, not 86c4e6aa/,
  );
  assert.equal(fs.existsSync(out), false);
  assert.equal(fs.existsSync(shakespeareCachePath({ WORDPLAY_CACHE_DIR: cache })), false);
});

test('wordplay prepare refuses a binary input with a message, a non-zero exit and nothing written', () => {
  const dir = tempDir();
  fs.writeFileSync(
    path.join(dir, 'image.png'),
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]),
  );
  const result = wordplay(['prepare', '--input', path.join(dir, 'image.png'), '--out', path.join(dir, 'ds')]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^wordplay: .*image\.png looks binary/);
  assert.doesNotMatch(result.stderr, /at .*\.js:\d+/, 'no stack trace');
  assert.deepEqual(fs.readdirSync(dir), ['image.png']);
});

test('wordplay prepare --tokenizer bpe trains a tokenizer of --vocab-size; --vocab-size is refused for char and when not a number', () => {
  const dir = tempDir();
  const out = path.join(dir, 'ds');
  const result = wordplay([
    'prepare',
    '--input',
    SHAKESPEARE,
    '--tokenizer',
    'bpe',
    '--vocab-size',
    '600',
    '--out',
    out,
  ]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /bpe tokenizer, vocab 600, [\d,]+ train and [\d,]+ val tokens \(uint16\)/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'tokenizer.json'), 'utf8')).model.type, 'BPE');
  const forChar = wordplay([
    'prepare',
    '--input',
    SHAKESPEARE,
    '--tokenizer',
    'char',
    '--vocab-size',
    '600',
    '--out',
    path.join(dir, 'c'),
  ]);
  assert.equal(forChar.status, 1);
  assert.match(forChar.stderr, /--vocab-size is for --tokenizer bpe only/);
  const notNumber = wordplay([
    'prepare',
    '--input',
    SHAKESPEARE,
    '--tokenizer',
    'bpe',
    '--vocab-size',
    'lots',
    '--out',
    path.join(dir, 'n'),
  ]);
  assert.match(notNumber.stderr, /--vocab-size must be a whole number, not "lots"/);
  assert.deepEqual(fs.readdirSync(dir), ['ds']);
});

test('wordplay names a bad option and a bad command', () => {
  const bad = wordplay(['prepare', '--inptu', 'x']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--inptu/);
  const unknown = wordplay(['trian']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "trian"/);
});

test('wordplay doctor --json reports the interpreter, PyTorch and devices', () => {
  const result = wordplay(['doctor', '--json']);
  const report = JSON.parse(result.stdout);
  assert.equal(report.node.version, process.versions.node);
  assert.match(report.python.version, /^3\.\d+\.\d+$/);
  assert.ok(fs.existsSync(report.python.path), report.python.path);
  assert.match(report.torch.version, /^2\./);
  assert.ok(['cpu', 'cuda', 'mps'].includes(report.device));
  assert.ok(report.devices.cpu_threads >= 1);
  assert.deepEqual(report.problems, []);
  assert.equal(result.status, 0);
});

test('wordplay doctor names a missing interpreter and its fix', () => {
  const result = wordplay(['doctor', '--json'], { WORDPLAY_PYTHON: '/nonexistent/python3' });
  assert.equal(result.status, 1);
  const report = JSON.parse(result.stdout);
  assert.equal(report.python, null);
  assert.match(report.problems[0].fix, /wordplay setup|WORDPLAY_PYTHON/);
});
