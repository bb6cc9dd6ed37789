import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CharTokenizer,
  gpt2,
  parseTokenizerSpec,
  sortCodePoints,
  tokenizerFromSpec,
} from '../../src/core/prepare/tokenizer';
import { UserError } from '../../src/core/common/errors';

test('gpt2 encodes known ids', () => {
  assert.deepEqual(gpt2().encode('Hello world'), [15496, 995]);
  assert.deepEqual(gpt2().encode(' the'), [262]);
  assert.equal(gpt2().decode([15496, 995]), 'Hello world');
});

test('gpt2 treats <|endoftext|> inside a text as plain text (encode_ordinary)', () => {
  const ids = gpt2().encode('a<|endoftext|>b');
  assert.ok(!ids.includes(50256));
  assert.equal(gpt2().decode(ids), 'a<|endoftext|>b');
  assert.equal(gpt2().decode([50256]), '<|endoftext|>');
});

// A deterministic generator of awkward Unicode: ASCII, accents, CJK, emoji (surrogate pairs),
// combining marks, whitespace runs, and the private-use area above the surrogates.
function randomText(seed: number, length: number): string {
  const pools = [
    'abc XYZ 123',
    'éàüñß',
    '日本語の文',
    '😀🎉👩‍💻',
    'e\u0301a\u0308',
    '  \n\t\r\n  ',
    '\ue000\uffef',
    "'s 're ,.!?",
  ];
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  let out = '';
  while ([...out].length < length) {
    const pool = [...pools[Math.floor(next() * pools.length)]];
    out += pool[Math.floor(next() * pool.length)];
  }
  return out;
}

test('gpt2 round-trips random Unicode text', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const text = randomText(seed, 1 + (seed % 97));
    assert.equal(gpt2().decode(gpt2().encode(text)), text, `seed ${seed}`);
  }
});

test('gpt2 stream decoding joins characters split across tokens', () => {
  const text = '😀 naïve 日本';
  const decoder = gpt2().streamDecoder();
  const pieces = gpt2()
    .encode(text)
    .map((id) => decoder.push(id));
  assert.equal(pieces.join('') + decoder.flush(), text);
  assert.ok(
    pieces.every((p) => !p.includes('\ufffd')),
    'no replacement characters mid-stream',
  );
});

test('char vocabulary is sorted by code point, as Python sorts', () => {
  // U+E000 sorts before U+1F600 by code point but after it by UTF-16 unit
  assert.deepEqual(sortCodePoints(['😀', '\ue000', 'a', 'A']), ['A', 'a', '\ue000', '😀']);
});

test('char round-trips random Unicode text, also from UTF-8 bytes', () => {
  for (let seed = 1; seed <= 100; seed++) {
    const text = randomText(seed, 1 + (seed % 300));
    const tokenizer = new CharTokenizer(sortCodePoints(new Set(text)));
    const ids = tokenizer.encode(text);
    assert.equal(ids.length, [...text].length);
    assert.equal(tokenizer.decode(ids), text);
    const out = new Uint16Array(ids.length + 1);
    const n = tokenizer.encodeUtf8Into(Buffer.from(text), out, 1);
    assert.deepEqual(Array.from(out.subarray(1, n)), ids, `seed ${seed}`);
  }
});

test('char ASCII fast path gives the same ids at every alignment', () => {
  const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n';
  const tokenizer = new CharTokenizer(sortCodePoints(new Set(text)));
  const expected = tokenizer.encode(text);
  for (const skip of [0, 1, 2, 3]) {
    // the same bytes at byte offsets of each parity inside a larger buffer
    const bytes = Buffer.from('x'.repeat(skip) + text).subarray(skip);
    for (const at of [0, 1]) {
      const out = new Uint16Array(text.length + 2);
      const n = tokenizer.encodeUtf8Into(bytes, out, at);
      assert.deepEqual(Array.from(out.subarray(at, n)), expected, `skip ${skip}, at ${at}`);
    }
  }
});

test('char names the characters outside its vocabulary', () => {
  const tokenizer = new CharTokenizer(['a', 'b']);
  assert.deepEqual(tokenizer.unknownCharacters('abcxc'), ['c', 'x']);
  assert.throws(
    () => tokenizer.encode('abz'),
    (err: unknown) => err instanceof UserError && /"z"/.test(err.message),
  );
  assert.throws(() => tokenizer.encodeUtf8Into(Buffer.from('abzab'), new Uint16Array(8), 0), /"z"/);
});

test('tokenizer.json is validated', () => {
  assert.deepEqual(parseTokenizerSpec({ type: 'gpt2' }, 't.json'), { type: 'gpt2' });
  assert.equal(tokenizerFromSpec(parseTokenizerSpec({ type: 'char', vocab: ['a', '😀'] }, 't.json')).vocabSize, 2);
  for (const bad of [
    null,
    {},
    { type: 'char' },
    { type: 'char', vocab: ['ab'] },
    { type: 'char', vocab: ['a', 'a'] },
    { type: 'bpe' },
  ]) {
    assert.throws(() => parseTokenizerSpec(bad, 't.json'), /t\.json/);
  }
});
