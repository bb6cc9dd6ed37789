import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readDatasetMeta, readDatasetTokenizer } from '../../src/core/prepare/dataset';
import { UserError } from '../../src/core/common/errors';
import { prepare } from '../../src/core/prepare/prepare';
import { gpt2, tokenizerFromSpec } from '../../src/core/prepare/tokenizer';
import { SHAKESPEARE, readTokens, tempDir } from './helpers';

const shakespeare = fs.readFileSync(SHAKESPEARE, 'utf8');

test("char on tiny Shakespeare gives nanoGPT's counts and ids that decode back", async () => {
  const out = path.join(tempDir(), 'ds');
  const { meta } = await prepare({ input: SHAKESPEARE, tokenizer: 'char', out });
  assert.equal(meta.vocab_size, 65);
  assert.equal(meta.train_tokens, 1_003_854);
  assert.equal(meta.val_tokens, 111_540);
  assert.equal(meta.sha256, '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed');
  assert.equal(meta.dtype, 'uint16');
  const spec = readDatasetTokenizer(out);
  assert.equal(spec.type, 'char');
  assert.deepEqual(readDatasetMeta(out), meta);
  const tokenizer = tokenizerFromSpec(spec);
  const text =
    tokenizer.decode(readTokens(path.join(out, 'train.bin'))) + tokenizer.decode(readTokens(path.join(out, 'val.bin')));
  assert.equal(text, shakespeare);
  // nanoGPT's ids: the vocabulary starts "\n", " ", "!", and "F" of "First" is 18
  assert.deepEqual(readTokens(path.join(out, 'train.bin')).slice(0, 5), [18, 47, 56, 57, 58]);
});

test("gpt2 on tiny Shakespeare gives nanoGPT's counts", async () => {
  const out = path.join(tempDir(), 'ds');
  const { meta } = await prepare({ input: SHAKESPEARE, tokenizer: 'gpt2', out });
  assert.equal(meta.vocab_size, 50257);
  assert.equal(meta.train_tokens, 301_966);
  assert.equal(meta.val_tokens, 36_059);
  assert.deepEqual(readTokens(path.join(out, 'train.bin')).slice(0, 4), [5962, 22307, 25, 198]);
});

test('a corpus of several read chunks encodes as the whole text would (gpt2 and char)', async () => {
  // 9 MB: more than two 4 MB read chunks; multi-byte characters placed across the boundaries
  const dir = tempDir();
  const unit = `${shakespeare.slice(0, 300_000)}  naïve café 日本語 😀\n\n  `;
  let text = '';
  while (Buffer.byteLength(text) < 9e6) text += unit;
  const input = path.join(dir, 'big.txt');
  fs.writeFileSync(input, text);
  const chars = [...text];
  const split = Math.floor(chars.length * 0.9);
  for (const tokenizer of ['gpt2', 'char'] as const) {
    const out = path.join(dir, tokenizer);
    const { meta } = await prepare({ input, tokenizer, out });
    const decoder = tokenizerFromSpec(readDatasetTokenizer(out));
    const train = readTokens(path.join(out, 'train.bin'));
    const val = readTokens(path.join(out, 'val.bin'));
    assert.equal(decoder.decode(train), chars.slice(0, split).join(''), tokenizer);
    assert.equal(decoder.decode(val), chars.slice(split).join(''), tokenizer);
    if (tokenizer === 'gpt2') {
      assert.deepEqual(train, gpt2().encode(chars.slice(0, split).join('')));
      assert.equal(meta.val_tokens, gpt2().encode(chars.slice(split).join('')).length);
    }
  }
});

test('a folder is read in sorted order; gpt2 separates documents with <|endoftext|>', async () => {
  const dir = tempDir();
  const docs = path.join(dir, 'docs');
  fs.mkdirSync(path.join(docs, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(docs, 'b.txt'), 'Second document. '.repeat(20));
  fs.writeFileSync(path.join(docs, 'a.txt'), 'First document. '.repeat(20));
  fs.writeFileSync(path.join(docs, 'sub', 'c.md'), 'Third. '.repeat(20));
  fs.writeFileSync(path.join(docs, '.hidden'), 'never read');
  const { meta } = await prepare({ input: docs, tokenizer: 'gpt2', out: path.join(dir, 'ds') });
  assert.deepEqual(
    meta.source.map((f) => path.relative(docs, f)),
    ['a.txt', 'b.txt', path.join('sub', 'c.md')],
  );
  const ids = readTokens(path.join(dir, 'ds', 'train.bin'));
  assert.equal(ids.filter((id) => id === 50256).length, 2);
  assert.ok(gpt2().decode(ids).startsWith('First document.'));

  const globbed = await prepare({ input: path.join(docs, '**', '*.md'), tokenizer: 'char', out: path.join(dir, 'md') });
  assert.deepEqual(globbed.meta.source, [path.join(docs, 'sub', 'c.md')]);
});

test('a vocabulary over 65,535 characters is stored as uint32 and says so', async () => {
  const dir = tempDir();
  const ranges: [number, number][] = [
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0x20000, 0x2a6df],
  ];
  let text = '';
  for (const [lo, hi] of ranges) for (let cp = lo; cp <= hi; cp++) text += String.fromCodePoint(cp);
  const input = path.join(dir, 'many.txt');
  fs.writeFileSync(input, text);
  const out = path.join(dir, 'ds');
  const { meta } = await prepare({ input, tokenizer: 'char', out });
  assert.ok(meta.vocab_size > 65_535);
  assert.equal(meta.dtype, 'uint32');
  assert.match(meta.note ?? '', /uint32/);
  const tokenizer = tokenizerFromSpec(readDatasetTokenizer(out));
  const decoded =
    tokenizer.decode(readTokens(path.join(out, 'train.bin'), 'uint32')) +
    tokenizer.decode(readTokens(path.join(out, 'val.bin'), 'uint32'));
  assert.equal(decoded, text);
});

/** Asserts prepare refuses with a message matching `message`, leaving nothing at out. */
async function refuses(options: Parameters<typeof prepare>[0], message: RegExp): Promise<void> {
  await assert.rejects(prepare(options), (err: unknown) => err instanceof UserError && message.test(err.message));
  const parent = path.dirname(path.resolve(options.out));
  if (fs.existsSync(parent) && fs.statSync(parent).isDirectory())
    assert.deepEqual(
      fs.readdirSync(parent).filter((n) => n.includes('.tmp-')),
      [],
      'no temporary folder left',
    );
}

test('bad input is refused with a clear message and nothing half-written', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'out', 'ds');
  const file = (name: string, content: string | Buffer) => {
    fs.writeFileSync(path.join(dir, name), content);
    return path.join(dir, name);
  };
  await refuses({ input: path.join(dir, 'missing.txt'), tokenizer: 'char', out }, /does not exist/);
  await refuses({ input: file('empty.txt', ''), tokenizer: 'char', out }, /empty/);
  await refuses(
    { input: file('binary.bin', Buffer.from([0x41, 0x42, 0x00, 0x43])), tokenizer: 'char', out },
    /binary \(a NUL byte at offset 2\)/,
  );
  await refuses(
    { input: file('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x21])), tokenizer: 'gpt2', out },
    /not valid UTF-8/,
  );
  await refuses({ input: file('cut.txt', Buffer.from([0x61, 0xe6, 0x97])), tokenizer: 'char', out }, /not valid UTF-8/);
  await refuses({ input: file('short.txt', 'To be'), tokenizer: 'char', out }, /too short for a validation split/);
  await refuses({ input: path.join(dir, '*.nothing'), tokenizer: 'char', out }, /no file matches/);
  const blocker = file('a-file', 'x');
  await refuses({ input: SHAKESPEARE, tokenizer: 'char', out: path.join(blocker, 'ds') }, /cannot write to/);
  assert.equal(fs.existsSync(out), false);
});

test('an existing output is kept without --force, replaced with it, and never an unrelated folder', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, shakespeare.slice(0, 5000));
  const out = path.join(dir, 'ds');
  await prepare({ input, tokenizer: 'char', out });
  const before = fs.readFileSync(path.join(out, 'train.bin'));
  await refuses({ input, tokenizer: 'gpt2', out }, /already exists.*--force/);
  assert.deepEqual(fs.readFileSync(path.join(out, 'train.bin')), before);
  const { meta } = await prepare({ input, tokenizer: 'gpt2', out, force: true });
  assert.equal(readDatasetMeta(out).tokenizer, 'gpt2');
  assert.equal(meta.tokenizer, 'gpt2');
  const unrelated = path.join(dir, 'photos');
  fs.mkdirSync(unrelated);
  fs.writeFileSync(path.join(unrelated, 'keep.jpg'), 'precious');
  await refuses({ input, tokenizer: 'char', out: unrelated, force: true }, /not a wordplay dataset/);
  assert.equal(fs.readFileSync(path.join(unrelated, 'keep.jpg'), 'utf8'), 'precious');
});

test('a cancelled prepare leaves no dataset and no temporary folder', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, shakespeare.repeat(8));
  const out = path.join(dir, 'ds');
  const abort = new AbortController();
  await refuses(
    { input, tokenizer: 'gpt2', out, signal: abort.signal, onProgress: (p) => p.phase === 'encoding' && abort.abort() },
    /cancelled/,
  );
  assert.equal(fs.existsSync(out), false);
});

test('the temporary folder of a killed prepare is cleaned up by the next one', async () => {
  const dir = tempDir();
  const stale = path.join(dir, '.ds.tmp-999999999-abc');
  fs.mkdirSync(stale);
  fs.writeFileSync(path.join(stale, 'train.bin'), 'partial');
  await prepare({ input: SHAKESPEARE, tokenizer: 'char', out: path.join(dir, 'ds') });
  assert.equal(fs.existsSync(stale), false);
  assert.deepEqual(fs.readdirSync(dir), ['ds']);
});

test('a --force prepare killed between its renames leaves the old dataset aside: the next prepare puts it back', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'ds');
  await prepare({ input: SHAKESPEARE, tokenizer: 'char', out });
  const meta = fs.readFileSync(path.join(out, 'meta.json'), 'utf8');
  // what replaceDir leaves when killed after its first rename: out aside, the new one not yet in place
  fs.renameSync(out, path.join(dir, '.ds.tmp-999999999-abc-old'));
  await assert.rejects(prepare({ input: SHAKESPEARE, tokenizer: 'gpt2', out }), /already exists/);
  assert.equal(fs.readFileSync(path.join(out, 'meta.json'), 'utf8'), meta, 'the old dataset is back');
  assert.deepEqual(fs.readdirSync(dir), ['ds']);
});
