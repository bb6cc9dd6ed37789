// The one tokenizer module: it builds datasets (prepare) and tokenizes prompts (completion),
// so the ids a model was trained on are the ids it is prompted with.
//
// - char: the vocabulary is the sorted distinct characters (code points, as Python's
//   sorted(set(text)) orders them, so nanoGPT's ids come out).
// - gpt2: OpenAI's GPT-2 BPE from js-tiktoken, whose ranks ship inside the npm package.
// - bpe: a byte-level BPE trained on the corpus by prepare (trainer/wordplay_trainer/prepare/bpe.py),
//   a Hugging Face tokenizer.json read with tokenizers.js (@huggingface/tokenizers).
// - hf: a Hugging Face model folder's own tokenizer.json (hfTokenizer.ts).
// What they all are (the interface, the spec, the BPE base) is tokenizerBase.ts's.
import { isAscii } from 'node:buffer';
import {
  ByteLevelDecoder,
  ByteLevelPreTokenizer,
  SplitPreTokenizer,
  Tokenizer as Library,
} from '@huggingface/tokenizers';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import bpeFacts from '../../../schemas/bpe.json';
import gpt2Facts from '../../../schemas/gpt2.json';
import { UserError } from '../common/errors';
import { checkHfJson, HfTokenizer, hfVocabSize } from './hfTokenizer';
import {
  eachPiece,
  PieceTokenizer,
  type HfTokenizerJson,
  type StreamDecoder,
  type Tokenizer,
  type TokenizerSpec,
} from './tokenizerBase';

export { HfTokenizer, PieceTokenizer };
export type { HfFolderJson, HfTokenizerJson, StreamDecoder, Tokenizer, TokenizerSpec } from './tokenizerBase';

export function tokenizerFromSpec(spec: TokenizerSpec): Tokenizer {
  if (spec.type === 'char') return new CharTokenizer(spec.vocab);
  if (spec.type === 'hf') return new HfTokenizer(spec);
  return spec.type === 'bpe' ? new BpeTokenizer(spec.json) : gpt2();
}

/** Parses tokenizer.json (or the tokenizer inside model.json); `source` names the file in errors.
 *  A Hugging Face tokenizer.json is wordplay's trained BPE when it has bpe.py's shape; a model
 *  folder's comes wrapped as {"type": "hf", ...} (dataset.ts builds it from meta.json). */
export function parseTokenizerSpec(value: unknown, source: string): TokenizerSpec {
  const v = value as { type?: unknown; vocab?: unknown; model?: { type?: unknown } } | null;
  if (v && v.type === 'gpt2') return { type: 'gpt2' };
  if (v && v.type === 'hf') return parseHfSpec(v, source);
  if (v && typeof v.model === 'object' && v.model !== null) return { type: 'bpe', json: checkBpeJson(v, source) };
  if (
    v &&
    v.type === 'char' &&
    Array.isArray(v.vocab) &&
    v.vocab.every((c) => typeof c === 'string' && [...c].length === 1)
  ) {
    if (new Set(v.vocab).size !== v.vocab.length)
      throw new UserError(`${source}: the char vocabulary repeats a character. Prepare the dataset again.`);
    return { type: 'char', vocab: v.vocab as string[] };
  }
  throw new UserError(
    `${source} is not a wordplay tokenizer: expected {"type":"gpt2"}, {"type":"char","vocab":[one character each]} or a BPE tokenizer.json that prepare trained. Prepare the dataset again with "wordplay prepare".`,
  );
}

function parseHfSpec(value: object, source: string): TokenizerSpec {
  const v = value as { source?: unknown; end_of_text?: unknown; json?: unknown };
  const json = checkHfJson(v.json, `${source} (its "json")`);
  const eot = v.end_of_text;
  if (typeof v.source !== 'string' || !(eot === null || (Number.isInteger(eot) && (eot as number) >= 0)))
    throw new UserError(
      `${source}: a model folder's tokenizer needs "source" (its folder) and "end_of_text" (an id or null).`,
    );
  if (eot !== null && (eot as number) >= hfVocabSize(json))
    throw new UserError(
      `${source}: its end_of_text ${eot as number} is not an id of its tokenizer (0 to ${hfVocabSize(json) - 1}).`,
    );
  return { type: 'hf', source: v.source, end_of_text: eot as number | null, json };
}

/** Code points in Python's order (UTF-16 order differs above U+FFFF). */
export function sortCodePoints(chars: Iterable<string>): string[] {
  return [...chars].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

// Two ids at once cannot both be 0xffff in a vocabulary that fits uint16 (ids < 65,535).
const UNKNOWN_PAIR = 0xffffffff;

export class CharTokenizer implements Tokenizer {
  readonly spec: TokenizerSpec;
  readonly endOfText = undefined;
  // The id of every code point (-1: not in the vocabulary): encoding is one array read per
  // character, the hot loop of prepare.
  private readonly ids = new Int32Array(0x110000).fill(-1);
  private pairs: Uint32Array | undefined;

  constructor(readonly vocab: string[]) {
    this.spec = { type: 'char', vocab };
    vocab.forEach((ch, id) => (this.ids[ch.codePointAt(0)!] = id));
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** Writes the ids of text into out from offset; returns the new offset, or throws naming
   *  the characters outside the vocabulary. */
  encodeInto(text: string, out: Uint16Array | Uint32Array, offset: number): number {
    let o = offset;
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      const id = this.ids[cp];
      if (id < 0) throw this.unknownError(text);
      out[o++] = id;
    }
    return o;
  }

  /** The same from valid UTF-8 bytes, decoding as it goes (prepare reads bytes, and skipping
   *  the intermediate string is several times faster). */
  encodeUtf8Into(bytes: Uint8Array, out: Uint16Array | Uint32Array, offset: number): number {
    if (out instanceof Uint16Array && bytes.length > 1 && isAscii(bytes))
      return this.encodeAsciiPairs(bytes, out, offset);
    const ids = this.ids;
    let o = offset;
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i];
      let cp: number;
      if (b < 0x80) {
        cp = b;
        i++;
      } else if (b < 0xe0) {
        cp = ((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
        i += 2;
      } else if (b < 0xf0) {
        cp = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
        i += 3;
      } else {
        cp = ((b & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
        i += 4;
      }
      const id = ids[cp];
      if (id < 0) throw this.unknownError(new TextDecoder().decode(bytes));
      out[o++] = id;
    }
    return o;
  }

  /** ASCII two bytes at a time: one 16-bit read, one table lookup and one 32-bit write per
   *  pair run about 4x faster than byte by byte, which makes prepare's char path I/O-bound. */
  private encodeAsciiPairs(bytes: Uint8Array, out: Uint16Array, offset: number): number {
    const pairs = this.pairTable();
    let o = offset;
    let src = bytes;
    if ((out.byteOffset + 2 * o) % 4 !== 0) {
      out[o++] = this.asciiId(src[0], src);
      src = src.subarray(1);
    }
    if (src.byteOffset % 2 !== 0) src = new Uint8Array(src); // an aligned copy
    const n = src.length >> 1;
    const in16 = new Uint16Array(src.buffer, src.byteOffset, n);
    const out32 = new Uint32Array(out.buffer, out.byteOffset + 2 * o, n);
    for (let i = 0; i < n; i++) {
      const ids = pairs[in16[i]];
      if (ids === UNKNOWN_PAIR) throw this.unknownError(new TextDecoder().decode(bytes));
      out32[i] = ids;
    }
    o += 2 * n;
    if (src.length % 2 === 1) out[o++] = this.asciiId(src[src.length - 1], bytes);
    return o;
  }

  private asciiId(byte: number, context: Uint8Array): number {
    if (this.ids[byte] < 0) throw this.unknownError(new TextDecoder().decode(context));
    return this.ids[byte];
  }

  private pairTable(): Uint32Array {
    if (!this.pairs) {
      // little-endian: the first byte is the low half of the 16-bit read and of the 32-bit write
      this.pairs = new Uint32Array(0x10000).fill(UNKNOWN_PAIR);
      for (let a = 0; a < 0x80; a++) {
        for (let b = 0; b < 0x80; b++) {
          if (this.ids[a] >= 0 && this.ids[b] >= 0)
            this.pairs[a | (b << 8)] = (this.ids[a] | (this.ids[b] << 16)) >>> 0;
        }
      }
    }
    return this.pairs;
  }

  encode(text: string): number[] {
    const out = new Uint32Array(text.length);
    return Array.from(out.subarray(0, this.encodeInto(text, out, 0)));
  }

  /** The distinct characters of text that the vocabulary lacks, in order of appearance. */
  unknownCharacters(text: string): string[] {
    const unknown = new Set<string>();
    for (const ch of text) if (this.ids[ch.codePointAt(0)!] < 0) unknown.add(ch);
    return [...unknown];
  }

  decode(ids: number[]): string {
    return ids.map((id) => this.vocab[id] ?? '').join('');
  }

  streamDecoder(): StreamDecoder {
    return { push: (id) => this.vocab[id] ?? '', flush: () => '' };
  }

  private unknownError(text: string): UserError {
    const shown = this.unknownCharacters(text)
      .slice(0, 10)
      .map((c) => JSON.stringify(c))
      .join(', ');
    return new UserError(`these characters are not in the model's character vocabulary: ${shown}.`);
  }
}

const END_OF_TEXT = '<|endoftext|>';

/** GPT-2 BPE. Encoding is tiktoken's encode_ordinary: "<|endoftext|>" inside a text is plain
 *  text; only prepare puts the real token between documents. A lone surrogate (a JavaScript
 *  string that is not Unicode) is encoded as U+FFFD, as TextEncoder writes it. */
export class Gpt2Tokenizer extends PieceTokenizer {
  readonly spec: TokenizerSpec = { type: 'gpt2' };
  readonly vocabSize = gpt2Facts.vocab_size;
  readonly endOfText = gpt2Ranks.special_tokens[END_OF_TEXT];
  private readonly pattern = new RegExp(gpt2Ranks.pat_str, 'gu');
  private readonly bpe = new Tiktoken(gpt2Ranks);

  encodeEach(text: string, emit: (id: number) => void): void {
    eachPiece(this.pattern, text, (piece) => this.encodePiece(piece, emit));
  }

  protected mergePiece(piece: string): number[] {
    // the piece alone is a single regex match again, so tiktoken merges exactly it
    return this.bpe.encode(piece, [], []);
  }

  /** Every token's bytes by id (public: gpt2Files.ts writes GPT-2's vocabulary from them). */
  bytesOfTokens(): Uint8Array[] {
    const table: Uint8Array[] = [];
    // js-tiktoken's rank format: lines of "<tag> <first rank> <base64 token> <base64 token> ..."
    for (const line of gpt2Ranks.bpe_ranks.split('\n')) {
      const [, first, ...tokens] = line.split(' ');
      tokens.forEach((t, i) => (table[Number(first) + i] = Buffer.from(t, 'base64')));
    }
    table[this.endOfText] = Buffer.from(END_OF_TEXT);
    return table;
  }
}

let gpt2Instance: Gpt2Tokenizer | undefined;

/** The GPT-2 tokenizer, built once per process (its rank table takes ~100 ms to load). */
export function gpt2(): Gpt2Tokenizer {
  return (gpt2Instance ??= new Gpt2Tokenizer());
}

/** The shape bpe.py writes: a BPE model behind a Split + ByteLevel pre-tokenizer, with
 *  <|endoftext|> among the added tokens. Other tokenizer.json files are refused by name. */
function checkBpeJson(value: unknown, source: string): HfTokenizerJson {
  const v = value as Partial<HfTokenizerJson> & { decoder?: { type?: unknown } };
  const pre = v.pre_tokenizer?.pretokenizers;
  const ok =
    v.model?.type === 'BPE' &&
    typeof v.model.vocab === 'object' &&
    v.pre_tokenizer?.type === 'Sequence' &&
    pre?.length === 2 &&
    pre[0].type === 'Split' &&
    pre[1].type === 'ByteLevel' &&
    v.decoder?.type === 'ByteLevel' &&
    Array.isArray(v.added_tokens) &&
    v.added_tokens.some((t) => t.content === bpeFacts.end_of_text);
  if (!ok) {
    throw new UserError(
      `${source} is a tokenizer.json wordplay did not train: it reads the byte-level BPE that "wordplay prepare --tokenizer bpe" writes (a BPE model behind Split and ByteLevel pre-tokenizers, with ${bpeFacts.end_of_text}). Prepare the dataset again with --tokenizer bpe.`,
    );
  }
  return v as HfTokenizerJson;
}

/** A byte-level BPE trained on the corpus, read from its tokenizer.json with tokenizers.js:
 *  its own split pattern and BPE model, piece by piece (tokenizers.js's whole-text encode runs
 *  at about 1 MB/s). "<|endoftext|>" inside a text is plain text, as for gpt2. */
export class BpeTokenizer extends PieceTokenizer {
  readonly spec: TokenizerSpec;
  readonly vocabSize: number;
  readonly endOfText: number;
  private readonly pattern: RegExp;
  private readonly hf: Library;
  private readonly byteLevel: ByteLevelPreTokenizer;

  constructor(readonly json: HfTokenizerJson) {
    super();
    this.spec = { type: 'bpe', json };
    this.hf = new Library(json, {});
    const [split, byteLevel] = json.pre_tokenizer.pretokenizers as unknown as [
      ConstructorParameters<typeof SplitPreTokenizer>[0],
      ConstructorParameters<typeof ByteLevelPreTokenizer>[0],
    ];
    this.pattern = new SplitPreTokenizer(split).pattern!;
    this.byteLevel = new ByteLevelPreTokenizer(byteLevel);
    this.vocabSize = this.hf.model!.vocab.length;
    this.endOfText = json.added_tokens.find((t) => t.content === bpeFacts.end_of_text)!.id;
  }

  encodeEach(text: string, emit: (id: number) => void): void {
    eachPiece(this.pattern, text, (piece) => this.encodePiece(piece, emit));
  }

  protected mergePiece(piece: string): number[] {
    const model = this.hf.model!;
    return model(this.byteLevel.pre_tokenize_text(piece)).map((token) => model.tokens_to_ids.get(token)!);
  }

  /** Each token's vocabulary entry is spelled in the byte-level alphabet: mapped back. */
  protected bytesOfTokens(): Uint8Array[] {
    const alphabet = new ByteLevelDecoder({ type: 'ByteLevel' } as ConstructorParameters<typeof ByteLevelDecoder>[0])
      .byte_decoder;
    return this.hf.model!.vocab.map((token) => Uint8Array.from([...(token ?? '')], (ch) => alphabet[ch]));
  }
}
