// Fuzzing the tokenizers (fast-check, a fixed seed and number of runs each): round trips, the byte
// path prepare uses, streaming decode, and the policies for text a tokenizer cannot represent.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { UserError } from '../../src/core/common/errors';
import { CharTokenizer, gpt2, sortCodePoints } from '../../src/core/prepare/tokenizer';
import { fuzz } from './fuzzing';

const notSurrogate = (cp: number) => cp < 0xd800 || cp > 0xdfff;
const codePoint = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }), // prepare's ASCII fast path
  fc.integer({ min: 0x80, max: 0xffff }).filter(notSurrogate),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
);
const vocabulary = fc
  .uniqueArray(codePoint, { minLength: 1, maxLength: 40 })
  .map((cps) => sortCodePoints(cps.map((cp) => String.fromCodePoint(cp))));
/** A vocabulary and a text written in it. */
const vocabAndText = vocabulary.chain((vocab) =>
  fc.tuple(
    fc.constant(vocab),
    fc.array(fc.constantFrom(...vocab), { maxLength: 200 }).map((cs) => cs.join('')),
  ),
);
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u));
/** Any JavaScript string: well-formed Unicode with lone surrogates mixed in. */
const anyString = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
      { weight: 1, arbitrary: loneSurrogate },
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

/** What UTF-8 can carry of a string: each lone surrogate becomes U+FFFD, as TextEncoder does. */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/** ids cut into consecutive chunks at the given positions. */
function chunks(ids: number[], cuts: number[]): number[][] {
  const at = [...new Set(cuts.map((c) => c % (ids.length + 1)))].sort((a, b) => a - b);
  return [...at, ids.length].map((end, i) => ids.slice(i === 0 ? 0 : at[i - 1], end));
}

test('char: text in the vocabulary round trips, through strings and through UTF-8 bytes', (t) => {
  fuzz(
    t,
    fc.property(vocabAndText, fc.nat(3), fc.boolean(), ([vocab, text], offset, misaligned) => {
      const tok = new CharTokenizer(vocab);
      const ids = tok.encode(text);
      assert.equal(tok.decode(ids), text);
      assert.equal(ids.map((id) => tok.streamDecoder().push(id)).join(''), text);
      // prepare's path: bytes (possibly at an odd address) into a typed array at an offset
      const bytes = Buffer.from(`${misaligned ? 'x' : ''}${text}`).subarray(misaligned ? 1 : 0);
      const out = new Uint16Array(offset + bytes.length + 1);
      const end = tok.encodeUtf8Into(bytes, out, offset);
      assert.deepEqual(Array.from(out.subarray(offset, end)), ids);
      const out32 = new Uint32Array(offset + bytes.length);
      assert.deepEqual(Array.from(out32.subarray(offset, tok.encodeUtf8Into(bytes, out32, offset))), ids);
    }),
    1000,
  );
});

test('char: text outside the vocabulary is refused with a UserError naming the characters', (t) => {
  fuzz(
    t,
    fc.property(
      vocabAndText,
      fc.oneof(
        codePoint.map((cp) => String.fromCodePoint(cp)),
        loneSurrogate,
      ),
      ([vocab, text], stranger) => {
        fc.pre(!vocab.includes(stranger));
        const tok = new CharTokenizer(vocab);
        const bad = text + stranger + text;
        assert.throws(
          () => tok.encode(bad),
          (err: unknown) => err instanceof UserError && err.message.includes(JSON.stringify(stranger)),
        );
        assert.deepEqual(tok.unknownCharacters(bad), [stranger]);
        if (stranger.length === 1 && notSurrogate(stranger.charCodeAt(0))) {
          assert.throws(() => tok.encodeUtf8Into(Buffer.from(bad), new Uint32Array(bad.length), 0), UserError);
        }
      },
    ),
    500,
  );
});

test('gpt2: any string round trips (lone surrogates become U+FFFD) and matches js-tiktoken', (t) => {
  const reference = new Tiktoken(gpt2Ranks);
  fuzz(
    t,
    fc.property(anyString, (text) => {
      const ids = gpt2().encode(text);
      assert.equal(gpt2().decode(ids), wellFormed(text));
      assert.deepEqual(ids, reference.encode(text, [], []));
      assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < gpt2().endOfText));
    }),
    1000,
  );
});

test('gpt2: decoding a stream of ids in any chunks equals decoding them at once', (t) => {
  const reference = new Tiktoken(gpt2Ranks);
  fuzz(
    t,
    fc.property(
      fc.array(fc.integer({ min: 0, max: gpt2().vocabSize - 1 }), { maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (ids, cuts) => {
        // ids chosen at random split characters across tokens: the stream must hold the bytes back
        const whole = gpt2().decode(ids);
        assert.equal(whole, reference.decode(ids));
        const stream = gpt2().streamDecoder();
        const pieces = chunks(ids, cuts).map((chunk) => chunk.map((id) => stream.push(id)).join(''));
        assert.equal(pieces.join('') + stream.flush(), whole);
      },
    ),
    10_000,
  );
});

test('both: ids outside the vocabulary decode to nothing', (t) => {
  fuzz(
    t,
    fc.property(
      vocabulary,
      fc.array(fc.integer({ min: 0, max: 50_000 }), { maxLength: 20 }),
      fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 50_257 })),
      (vocab, ids, stranger) => {
        const tok = new CharTokenizer(vocab);
        const known = ids.filter((id) => id < vocab.length);
        assert.equal(tok.decode([...known, stranger, ...known]), tok.decode([...known, ...known]));
        assert.equal(gpt2().decode([...ids, stranger]), gpt2().decode(ids));
      },
    ),
    200,
  );
});
