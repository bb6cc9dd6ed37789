// The BPE tokenizer prepare trains on a corpus: trained by the trainer's Python (rustbpe, Hugging
// Face tokenizers), read back in TypeScript with tokenizers.js. The ids must agree across the two
// languages, a dataset must encode as its whole text would, and bad sizes are refused before any
// work. Needs the trainer's Python environment (WORDPLAY_PYTHON or the managed one).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/core/common/errors';
import { readDatasetMeta, readDatasetTokenizer } from '../../src/core/prepare/dataset';
import { prepare } from '../../src/core/prepare/prepare';
import { BpeTokenizer, tokenizerFromSpec } from '../../src/core/prepare/tokenizer';
import { defaultBpeVocab, maxBpeVocab } from '../../src/core/prepare/trainBpe';
import { trainerInvocation } from '../../src/core/common/pythonEnv';
import { SHAKESPEARE, mixedText, readTokens, tempDir } from './helpers';

const shakespeare = fs.readFileSync(SHAKESPEARE, 'utf8');

/** The ids Hugging Face tokenizers (Python) gives text with this tokenizer.json, special-token
 *  text read as plain text as wordplay encodes it. */
function pythonIds(tokenizerFile: string, textFile: string): number[] {
  const script = [
    'import json, sys',
    'from tokenizers import Tokenizer',
    't = Tokenizer.from_file(sys.argv[1]); t.encode_special_tokens = True',
    'text = open(sys.argv[2], encoding="utf-8", newline="").read()',
    'print(json.dumps(t.encode(text).ids))',
  ].join('\n');
  const inv = trainerInvocation([]);
  const out = execFileSync(inv.command, ['-c', script, tokenizerFile, textFile], { env: inv.env, maxBuffer: 1 << 28 });
  return JSON.parse(out.toString()) as number[];
}

async function trainedOn(
  text: string,
  vocabSize: number,
): Promise<{ dir: string; file: string; tokenizer: BpeTokenizer }> {
  const dir = tempDir();
  const input = path.join(dir, 'corpus.txt');
  fs.writeFileSync(input, text);
  const out = path.join(dir, 'ds');
  await prepare({ input, tokenizer: 'bpe', vocabSize, out });
  const spec = readDatasetTokenizer(out);
  assert.equal(spec.type, 'bpe');
  return { dir: out, file: path.join(out, 'tokenizer.json'), tokenizer: tokenizerFromSpec(spec) as BpeTokenizer };
}

test('TypeScript and Python give identical ids on a large mixed text, and the bytes round-trip', async () => {
  const mixed = mixedText();
  const { file, tokenizer } = await trainedOn(mixed.repeat(3) + shakespeare.slice(0, 200_000), 2000);
  assert.equal(tokenizer.vocabSize, 2000);
  const text = mixed + shakespeare.slice(500_000, 700_000) + '<|endoftext|> in the middle of text is plain text';
  const textFile = path.join(tempDir(), 'text.txt');
  fs.writeFileSync(textFile, text);
  const ids = tokenizer.encode(text);
  assert.ok(ids.length > 50_000, `a large text: ${ids.length} ids`);
  assert.deepEqual(ids, pythonIds(file, textFile));
  assert.equal(Buffer.compare(Buffer.from(tokenizer.decode(ids)), Buffer.from(text)), 0);
  assert.ok(!ids.includes(tokenizer.endOfText), 'the special token is never produced from text');
  // a character split across tokens comes out whole from the stream decoder
  const decoder = tokenizer.streamDecoder();
  assert.equal(
    tokenizer
      .encode('😀👍🏽')
      .map((id) => decoder.push(id))
      .join('') + decoder.flush(),
    '😀👍🏽',
  );
});

test('the trained tokenizer.json is one transformers reads, <|endoftext|> the last id', async () => {
  const { file, tokenizer } = await trainedOn(shakespeare.slice(0, 300_000), 600);
  assert.equal(tokenizer.endOfText, 599);
  const script = [
    'import sys',
    'from transformers import PreTrainedTokenizerFast',
    't = PreTrainedTokenizerFast(tokenizer_file=sys.argv[1])',
    'print(len(t), t.convert_tokens_to_ids("<|endoftext|>"), t.encode("ROMEO: O, she doth teach"))',
  ].join('\n');
  const inv = trainerInvocation([]);
  const out = execFileSync(inv.command, ['-c', script, file], { env: inv.env }).toString().trim();
  assert.equal(out, `600 599 [${tokenizer.encode('ROMEO: O, she doth teach').join(', ')}]`);
});

test('prepare --tokenizer bpe encodes a corpus of several read chunks and documents as the whole text would', async () => {
  // 9 MB: more than two 4 MB read chunks, so the encoder cuts and carries text
  const dir = tempDir();
  const unit = `${shakespeare.slice(0, 300_000)}  naïve café 日本語 😀:\n\n  x = f(1)\n\tif y:\n`;
  let text = '';
  while (Buffer.byteLength(text) < 9e6) text += unit;
  const docs = path.join(dir, 'docs');
  fs.mkdirSync(docs);
  fs.writeFileSync(path.join(docs, 'a.txt'), text);
  fs.writeFileSync(path.join(docs, 'b.txt'), 'A second document.\n');
  const out = path.join(dir, 'ds');
  const phases = new Set<string>();
  const { meta } = await prepare({
    input: docs,
    tokenizer: 'bpe',
    vocabSize: 1024,
    out,
    onProgress: (p) => phases.add(p.phase),
  });
  assert.deepEqual([...phases], ['checking', 'training tokenizer', 'encoding']);
  assert.equal(meta.tokenizer, 'bpe');
  assert.equal(meta.vocab_size, 1024);
  const tokenizer = tokenizerFromSpec(readDatasetTokenizer(out)) as BpeTokenizer;
  const firstChars = [...text].length;
  const chars = [...text, ...'A second document.\n'];
  const split = Math.floor(chars.length * 0.9);
  const train = readTokens(path.join(out, 'train.bin'));
  assert.deepEqual(train, tokenizer.encode(chars.slice(0, split).join('')));
  const val = readTokens(path.join(out, 'val.bin'));
  const valText = chars.slice(split, firstChars).join('');
  assert.deepEqual(val, [
    ...tokenizer.encode(valText),
    tokenizer.endOfText,
    ...tokenizer.encode('A second document.\n'),
  ]);
  const trainBytes = Buffer.byteLength(chars.slice(0, split).join(''));
  assert.equal(meta.train_bytes, trainBytes);
  assert.equal(meta.val_bytes, Buffer.byteLength(text) + Buffer.byteLength('A second document.\n') - trainBytes);
  assert.deepEqual(readDatasetMeta(out), meta);
});

/** Asserts prepare refuses with a message matching `message`, leaving nothing beside out. */
async function refuses(options: Parameters<typeof prepare>[0], message: RegExp): Promise<void> {
  await assert.rejects(prepare(options), (err: unknown) => err instanceof UserError && message.test(err.message));
  assert.deepEqual(
    fs.readdirSync(path.dirname(options.out)).filter((n) => n !== 'in.txt'),
    [],
    'no dataset and no temporary folder',
  );
}

test('vocabulary sizes the corpus cannot give are refused with the size it can, nothing written', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, shakespeare.slice(0, 4000));
  const out = path.join(dir, 'ds');
  // before any work: no Python runs (an interpreter that does not exist would fail otherwise)
  const noPython = { ...process.env, WORDPLAY_PYTHON: path.join(dir, 'no-python') };
  await refuses(
    { input, tokenizer: 'bpe', vocabSize: 200, out, env: noPython },
    /at least 257: the 256 byte values and <\|endoftext\|>/,
  );
  await refuses(
    { input, tokenizer: 'bpe', vocabSize: 5000, out, env: noPython },
    new RegExp(`supports at most ${maxBpeVocab(3600).toLocaleString('en-US')} tokens`),
  );
  // after training the tokenizer: fewer pairs than asked for
  await refuses(
    { input, tokenizer: 'bpe', vocabSize: 1500, out },
    /supports [\d,]+ tokens, fewer than the 1,500 asked for.*--vocab-size \d+ or less/,
  );
  // the default size never asks for more than a small corpus gives
  const { meta } = await prepare({ input, tokenizer: 'bpe', out });
  assert.ok(meta.vocab_size <= defaultBpeVocab(3600) && meta.vocab_size > 257, `vocab ${meta.vocab_size}`);
});

test('default vocabulary sizes grow with the corpus, within their bounds', () => {
  assert.equal(defaultBpeVocab(1e6), 1024);
  assert.equal(defaultBpeVocab(30e6), 8192);
  assert.equal(defaultBpeVocab(1e9), 32768);
  assert.equal(defaultBpeVocab(10_000), 512);
  assert.equal(defaultBpeVocab(300), maxBpeVocab(300));
});

test('a prepare cancelled while the tokenizer trains leaves no dataset and no temporary folder', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, shakespeare.repeat(4));
  const out = path.join(dir, 'ds');
  const abort = new AbortController();
  await refuses(
    {
      input,
      tokenizer: 'bpe',
      out,
      signal: abort.signal,
      onProgress: (p) => p.phase === 'training tokenizer' && abort.abort(),
    },
    /cancelled/,
  );
});

test('a tokenizer.json wordplay did not train is refused by name', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'meta.json'), '{}');
  fs.writeFileSync(
    path.join(dir, 'tokenizer.json'),
    JSON.stringify({ model: { type: 'WordPiece', vocab: {} }, added_tokens: [] }),
  );
  assert.throws(() => readDatasetTokenizer(dir), /a tokenizer.json wordplay did not train/);
});
