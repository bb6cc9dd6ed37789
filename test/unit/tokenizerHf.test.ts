// Issue 29: a Hugging Face model folder's own tokenizer (`wordplay prepare --tokenizer <folder>`),
// read with tokenizers.js: its ids are the Python `tokenizers` library's on text of every kind, in
// the shapes of Qwen, Llama 3 and SmolLM2 tokenizers trained by trainer/tests/hf_tokenizer_shapes.py;
// a vocabulary past 65,535 gives uint32 files that both languages read back; the end of text is the
// folder's; what wordplay cannot read is refused naming it, before anything is written. Needs the
// trainer's Python environment (WORDPLAY_PYTHON or the managed one).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { UserError } from '../../src/core/common/errors';
import { trainerInvocation } from '../../src/core/common/pythonEnv';
import { tokenSpans } from '../../src/core/complete/surprise';
import {
  readDatasetMeta,
  readDatasetTokenizer,
  readDatasetTokens,
  TRAIN_FRACTION,
} from '../../src/core/prepare/dataset';
import { HfTokenizer, readHfFolder } from '../../src/core/prepare/hfTokenizer';
import { prepare } from '../../src/core/prepare/prepare';
import { READ_CHUNK } from '../../src/core/prepare/utf8Chunks';
import { parseTokenizerSpec, tokenizerFromSpec } from '../../src/core/prepare/tokenizer';
import { mixedText, tempDir } from './helpers';

const SHAPES = path.join('trainer', 'tests', 'hf_tokenizer_shapes.py');
let folders = '';

function python(args: string[]): string {
  const inv = trainerInvocation([]);
  return execFileSync(inv.command, args, { env: inv.env, maxBuffer: 1 << 30 }).toString();
}

/** What Python's `tokenizers` gives text with a folder's tokenizer.json, and those ids decoded. */
function pythonIds(shape: string, text: string): { ids: number[]; decoded: string } {
  const file = path.join(tempDir(), 'text.txt');
  fs.writeFileSync(file, text);
  return JSON.parse(python([SHAPES, 'ids', path.join(folders, shape, 'tokenizer.json'), file]));
}

const load = (shape: string) => new HfTokenizer(readHfFolder(path.join(folders, shape)));

before(() => {
  folders = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-hf-'));
  python([SHAPES, 'folders', folders]);
});
after(() => fs.rmSync(folders, { recursive: true, force: true }));

// every kind of text, with the added tokens written inside it as a chat transcript has them
const TEXT = `${mixedText()}<|im_start|>user\nhi<|im_end|> <|endoftext|>x<think>y <|begin_of_text|>12345 ٣٤ ²`;

for (const shape of ['qwen', 'llama3', 'smollm2', 'big']) {
  test(`${shape}: TypeScript gives Python's ids and decodes them as Python does`, () => {
    const tokenizer = load(shape);
    const ids = tokenizer.encode(TEXT);
    const py = pythonIds(shape, TEXT);
    assert.ok(ids.length > 5000, `a large text: ${ids.length} ids`);
    assert.deepEqual(ids, py.ids);
    assert.equal(tokenizer.decode(ids), py.decoded);
  });
}

test('the added tokens written in a text are those tokens, and an id decodes to its text', () => {
  const tokenizer = load('qwen');
  const ids = tokenizer.encode('<|im_start|>user<think>');
  assert.deepEqual(ids.slice(0, 1), [701]);
  assert.equal(ids.at(-1), 703);
  assert.equal(tokenizer.decode([701, 702]), '<|im_start|><|im_end|>');
});

test('stream decoding keeps a character split across tokens whole', () => {
  const tokenizer = load('big');
  const text = '😀 👍🏽 日本語 🧑🏿‍🚀 naïve';
  const ids = tokenizer.encode(text);
  const alone = ids.map((id) => tokenizer.decode([id]));
  assert.ok(
    alone.some((t) => t.includes('\ufffd')),
    'some token holds part of a character',
  );
  const stream = tokenizer.streamDecoder();
  const pieces = ids.map((id) => stream.push(id));
  pieces.push(stream.flush());
  assert.ok(
    pieces.every((p) => !p.includes('\ufffd')),
    JSON.stringify(pieces),
  );
  assert.equal(pieces.join(''), text);
});

test("Model Surprise's token ranges cover a text, added tokens and all", () => {
  const text = '<|im_start|>user\nnaïve 😀 12345<|im_end|>';
  const spans = tokenSpans(load('smollm2'), text);
  assert.deepEqual(spans.ids, pythonIds('smollm2', text).ids);
  assert.equal(spans.ends.at(-1), text.length);
  assert.deepEqual([spans.ids[0], text.slice(spans.starts[0], spans.ends[0])], [1, '<|im_start|>']);
});

test("the end of text is the folder's: tokenizer_config.json, else generation_config.json", () => {
  assert.equal(readHfFolder(path.join(folders, 'qwen')).end_of_text, 700); // <|endoftext|>
  assert.equal(readHfFolder(path.join(folders, 'smollm2')).end_of_text, 0); // {"content": "<|endoftext|>"}
  const llama3 = readHfFolder(path.join(folders, 'llama3'));
  assert.deepEqual([llama3.end_of_text, llama3.endOfTextFrom], [801, "generation_config.json's eos_token_id 801"]);
  const dir = path.join(tempDir(), 'no-eos');
  fs.cpSync(path.join(folders, 'qwen'), dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), '{}');
  assert.equal(readHfFolder(dir).end_of_text, null);
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), '{"eos_token": "</s>"}');
  assert.throws(
    () => readHfFolder(dir),
    /tokenizer_config.json: its eos_token "<\/s>" is not a token of tokenizer.json/,
  );
});

const CHAT = '<|im_start|>user\nSay "hello world" twice.<|im_end|>\n<|im_start|>assistant\n<think>ok</think>';

/** Prepares `docs` (one input file each) with a model folder's tokenizer; returns the dataset and
 *  the ids `encode` gives (Python's, or TypeScript's on the whole text): the first TRAIN_FRACTION
 *  of the characters train, the rest val, each side encoded alone, documents joined by the end of
 *  text. */
async function prepared(shape: string, docs: string[], encode = (text: string) => pythonIds(shape, text).ids) {
  const dir = tempDir();
  docs.forEach((text, i) => fs.writeFileSync(path.join(dir, `in${i}.txt`), text));
  const out = path.join(dir, 'ds');
  const { meta } = await prepare({
    input: path.join(dir, 'in*.txt'),
    tokenizer: 'hf',
    folder: path.join(folders, shape),
    out,
  });
  let at = Math.floor([...docs.join('')].length * TRAIN_FRACTION);
  let train: number[] = [];
  let val: number[] = [];
  docs.forEach((doc, i) => {
    const chars = [...doc];
    if (i > 0) (at > 0 ? train : val).push(meta.end_of_text!);
    if (at > 0) train = train.concat(encode(chars.slice(0, at).join('')));
    if (at < chars.length) val = val.concat(encode(chars.slice(Math.max(at, 0)).join('')));
    at -= chars.length;
  });
  return { out, meta, train, val };
}

test('prepare with a model folder: ids past uint16 in uint32 files, read back alike in both languages', async () => {
  const folder = path.join(folders, 'big');
  const { out, meta, train, val } = await prepared('big', [mixedText(), (mixedText() + CHAT).repeat(3)]);
  assert.deepEqual(
    [meta.tokenizer, meta.tokenizer_source, meta.vocab_size, meta.end_of_text, meta.dtype],
    ['hf', folder, 70_401, 70_400, 'uint32'],
  );
  assert.deepEqual(
    fs.readFileSync(path.join(out, 'tokenizer.json')),
    fs.readFileSync(path.join(folder, 'tokenizer.json')),
  );
  assert.ok(Math.min(...train.slice(0, 1000)) > 65_535);
  assert.deepEqual(Array.from(readDatasetTokens(out, 'train')), train);
  assert.deepEqual(Array.from(readDatasetTokens(out, 'val')), val);
  assert.deepEqual([meta.train_tokens, meta.val_tokens], [train.length, val.length]);
  const read = python([
    '-c',
    'import json, sys; from wordplay_trainer.prepare.dataset import Dataset, end_of_text; d = Dataset(sys.argv[1]); ' +
      'print(json.dumps([d.splits["train"].tolist(), d.splits["val"].tolist(), d.vocab_size, end_of_text(d.tokenizer)]))',
    out,
  ]);
  assert.deepEqual(JSON.parse(read), [train, val, 70_401, 70_400]);
  const spec = readDatasetTokenizer(out);
  assert.deepEqual([spec.type, tokenizerFromSpec(spec).endOfText], ['hf', 70_400]);
});

test('a text longer than prepare reads at once is cut only where it encodes as the whole text does', async () => {
  const doc = (mixedText() + CHAT).repeat(160);
  assert.ok(Buffer.byteLength(doc) > 1.05 * READ_CHUNK);
  const whole = load('qwen'); // Python's ids, as the tests above hold
  const { out, train, val } = await prepared('qwen', [doc], (text) => whole.encode(text));
  const bytes = (ids: ArrayLike<number>) => Buffer.from(Uint32Array.from(ids).buffer);
  assert.ok(bytes(readDatasetTokens(out, 'train')).equals(bytes(train)));
  assert.ok(bytes(readDatasetTokens(out, 'val')).equals(bytes(val)));
});

test('a cut inside an added token that holds a space is not a safe cut', () => {
  const spec = readHfFolder(path.join(folders, 'qwen'));
  const json = {
    ...spec.json,
    added_tokens: [...spec.json.added_tokens, { id: 704, content: 'hello world', special: false }],
  };
  const tokenizer = new HfTokenizer({ ...spec, json });
  const text = 'say hello world now';
  assert.equal(tokenizer.separableAt(text, text.indexOf(' world')), false);
  assert.equal(tokenizer.separableAt(text, text.indexOf(' now')), true);
  assert.deepEqual(tokenizer.encode(text).slice(-2, -1), [704]);
});

test('model.json carries the spec, end of text and all, and a bad one is refused by name', () => {
  const spec = readHfFolder(path.join(folders, 'llama3'));
  const carried = JSON.parse(JSON.stringify({ type: 'hf', source: spec.source, end_of_text: 801, json: spec.json }));
  const tokenizer = tokenizerFromSpec(parseTokenizerSpec(carried, 'model.json'));
  assert.deepEqual([tokenizer.vocabSize, tokenizer.endOfText], [803, 801]);
  assert.deepEqual(tokenizer.encode('Hello <|end_of_text|>'), load('llama3').encode('Hello <|end_of_text|>'));
  assert.throws(
    () => parseTokenizerSpec({ ...carried, end_of_text: 803 }, 'model.json'),
    /end_of_text 803 is not an id/,
  );
});

const refusals: [string, (dir: string) => void, RegExp][] = [
  ['a folder without tokenizer.json', (d) => fs.rmSync(path.join(d, 'tokenizer.json')), /tokenizer.json is missing/],
  ['Llama 2 (SentencePiece style)', (d) => copy('llama2', d), /it has no pre-tokenizer \(a SentencePiece-style/],
  ['WordPiece', (d) => copy('wordpiece', d), /its model is WordPiece/],
  ['Unigram', (d) => copy('unigram', d), /its model is Unigram/],
  [
    'a pattern tokenizers.js cannot compile',
    (d) => edit(d, (j) => (j.pre_tokenizer.pretokenizers[0].pattern = { Regex: '\\p{Foo}+' })),
    /cannot be read by tokenizers.js: .*Invalid property name/,
  ],
  [
    'a Split that merges with the previous piece',
    (d) => edit(d, (j) => (j.pre_tokenizer.pretokenizers[0].behavior = 'MergedWithPrevious')),
    /a Split step with behavior MergedWithPrevious/,
  ],
];

function copy(shape: string, dir: string): void {
  fs.cpSync(path.join(folders, shape), dir, { recursive: true });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function edit(dir: string, change: (json: any) => void): void {
  const file = path.join(dir, 'tokenizer.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  change(json);
  fs.writeFileSync(file, JSON.stringify(json));
}

for (const [what, damage, message] of refusals) {
  test(`prepare refuses ${what}, naming it, and writes nothing`, async () => {
    const dir = tempDir();
    const model = path.join(dir, 'model');
    copy('qwen', model);
    damage(model);
    const input = path.join(dir, 'in.txt');
    fs.writeFileSync(input, 'some text to prepare. '.repeat(100));
    const out = path.join(dir, 'ds');
    await assert.rejects(prepare({ input, tokenizer: 'hf', folder: model, out }), (err: Error) => {
      assert.ok(err instanceof UserError, String(err));
      assert.match(err.message, message);
      assert.match(err.message, new RegExp(`${model}/tokenizer.json`));
      return true;
    });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['in.txt', 'model']);
  });
}

test('the existing kinds are unchanged: char has no end of text, gpt2 records its own', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, 'To be, or not to be, that is the question. '.repeat(50));
  const char = await prepare({ input, tokenizer: 'char', out: path.join(dir, 'c') });
  const gpt2 = await prepare({ input, tokenizer: 'gpt2', out: path.join(dir, 'g') });
  assert.equal(char.meta.end_of_text, undefined);
  assert.equal(gpt2.meta.end_of_text, 50_256);
  assert.equal(readDatasetMeta(path.join(dir, 'g')).tokenizer_source, undefined);
  assert.equal(readDatasetTokens(path.join(dir, 'g'), 'train').length, gpt2.meta.train_tokens);
});
