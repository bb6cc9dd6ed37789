// The tokenizer of a Hugging Face model folder (`wordplay prepare --tokenizer <folder>`): its
// tokenizer.json read with tokenizers.js, giving the ids the Python `tokenizers` library gives
// with encode(text, add_special_tokens=False): the added tokens written in a text (<|im_start|>,
// <|endoftext|>) are those tokens, and nothing is added around it. What wordplay reads is a
// byte-level BPE, the tokenizer of Llama 3, Qwen2, Qwen3, SmolLM2 and GPT-2; another
// tokenizer.json is refused naming the part it has instead. tokenizer.json does not say which
// token ends a text: the folder's tokenizer_config.json does (endOfTextOf).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ByteLevelDecoder,
  ByteLevelPreTokenizer,
  DigitsPreTokenizer,
  SplitPreTokenizer,
  Tokenizer as Library,
} from '@huggingface/tokenizers';
import { UserError } from '../common/errors';
import { eachPiece, PieceTokenizer, type HfFolderJson, type TokenizerSpec } from './tokenizerBase';

export type HfSpec = Extract<TokenizerSpec, { type: 'hf' }>;

/** The files of a model folder this module reads. */
export const HF_FILES = {
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  generationConfig: 'generation_config.json',
  config: 'config.json',
};

const SUPPORTED =
  'wordplay reads byte-level BPE tokenizers (those of Llama 3, Qwen2, Qwen3, SmolLM2, GPT-2): a BPE model, a ByteLevel pre-tokenizer (after Split or Digits ones) and decoder, and no normalizer or NFC';

type Part = { type: string } & Record<string, unknown>;

/** What of `json` wordplay cannot reproduce exactly, or undefined when it reads it all. */
function unsupportedPart(json: HfFolderJson): string | undefined {
  const m = json.model;
  if (m?.type !== 'BPE') return `its model is ${m?.type ?? 'missing'}`;
  if (m.dropout !== null && m.dropout !== undefined) return `its BPE model has dropout ${String(m.dropout)}`;
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'])
    if (m[key]) return `its BPE model has a ${key} ("${String(m[key])}")`;
  const pre = json.pre_tokenizer;
  if (!pre) return 'it has no pre-tokenizer (a SentencePiece-style tokenizer, as Llama 2 and TinyLlama have)';
  const steps = pre.type === 'Sequence' ? ((pre.pretokenizers ?? []) as Part[]) : [pre];
  const last = steps[steps.length - 1];
  if (last?.type !== 'ByteLevel') return `its pre-tokenizer ends with ${last?.type ?? 'nothing'}, not ByteLevel`;
  if (last.add_prefix_space) return 'its ByteLevel pre-tokenizer adds a prefix space';
  for (const step of steps.slice(0, -1)) {
    if (step.type === 'Split' && !step.invert && ['Isolated', 'Removed'].includes(String(step.behavior))) continue;
    if (step.type === 'Digits') continue;
    return `its pre-tokenizer has a ${step.type}${step.type === 'Split' ? ` step with behavior ${String(step.behavior)}${step.invert ? ', inverted' : ''}` : ''}`;
  }
  if (json.normalizer && json.normalizer.type !== 'NFC') return `its normalizer is ${json.normalizer.type}`;
  if (json.decoder?.type !== 'ByteLevel') return `its decoder is ${json.decoder?.type ?? 'missing'}`;
  return undefined;
}

/** A model folder's tokenizer.json checked for the parts wordplay reads (HfTokenizer then
 *  refuses what tokenizers.js cannot load); `source` names the file in errors. */
export function checkHfJson(value: unknown, source: string): HfFolderJson {
  const json = value as HfFolderJson;
  if (!json || typeof json !== 'object' || typeof json.model?.vocab !== 'object' || !Array.isArray(json.added_tokens))
    throw new UserError(`${source} is not a Hugging Face tokenizer.json: it lacks "model.vocab" or "added_tokens".`);
  const part = unsupportedPart(json);
  if (part) throw new UserError(`${source} is a tokenizer wordplay cannot read: ${part}. ${SUPPORTED}.`);
  return json;
}

const readJson = (file: string): Record<string, unknown> | undefined => {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message}).`);
  }
};

/** The id that ends a text, by the one rule the trainer reads back from meta.json: the folder's
 *  tokenizer_config.json eos_token, else generation_config.json's eos_token_id, else
 *  config.json's (the first, where it is a list); null when none names one. `from` says where. */
export function endOfTextOf(folder: string, json: HfFolderJson): { id: number | null; from: string } {
  const ids = new Map<string, number>(Object.entries(json.model.vocab));
  for (const t of json.added_tokens) ids.set(t.content, t.id);
  const size = hfVocabSize(json);
  const configFile = path.join(folder, HF_FILES.tokenizerConfig);
  const eos = readJson(configFile)?.eos_token as string | { content?: string } | null | undefined;
  const token = typeof eos === 'string' ? eos : eos?.content;
  if (typeof token === 'string') {
    const id = ids.get(token);
    if (id === undefined)
      throw new UserError(`${configFile}: its eos_token "${token}" is not a token of ${HF_FILES.tokenizer}.`);
    return { id, from: `${HF_FILES.tokenizerConfig}'s eos_token ${token}` };
  }
  for (const name of [HF_FILES.generationConfig, HF_FILES.config]) {
    const file = path.join(folder, name);
    const value = readJson(file)?.eos_token_id;
    const id = Array.isArray(value) ? value[0] : value;
    if (id === undefined || id === null) continue;
    if (!Number.isInteger(id) || id < 0 || id >= size)
      throw new UserError(
        `${file}: its eos_token_id ${JSON.stringify(value)} is not an id of ${HF_FILES.tokenizer} (0 to ${size - 1}).`,
      );
    return { id: id as number, from: `${name}'s eos_token_id ${id as number}` };
  }
  return {
    id: null,
    from: `none of ${HF_FILES.tokenizerConfig}, ${HF_FILES.generationConfig} and ${HF_FILES.config} names one`,
  };
}

/** A model folder's tokenizer as a spec: its tokenizer.json checked, the folder's absolute path,
 *  and the id that ends a text. */
export function readHfFolder(folder: string): HfSpec & { endOfTextFrom: string } {
  const dir = path.resolve(folder);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new UserError(
      `${dir} is not a folder: --tokenizer takes char, gpt2, bpe, or a Hugging Face model folder (one with ${HF_FILES.tokenizer}).`,
    );
  const file = path.join(dir, HF_FILES.tokenizer);
  if (!fs.existsSync(file)) {
    throw new UserError(
      `${file} is missing: a model folder's tokenizer is read from its ${HF_FILES.tokenizer} (a "fast" tokenizer; tokenizer.model or vocab.json + merges.txt alone are not read). Save it there with transformers: AutoTokenizer.from_pretrained(...).save_pretrained(folder).`,
    );
  }
  const json = checkHfJson(readJson(file), file);
  const eot = endOfTextOf(dir, json);
  return { type: 'hf', source: dir, end_of_text: eot.id, json, endOfTextFrom: eot.from };
}

/** The size of the vocabulary: one past the largest id of the model's and the added tokens. */
export function hfVocabSize(json: HfFolderJson): number {
  let top = -1;
  for (const id of Object.values(json.model.vocab)) top = Math.max(top, id);
  for (const t of json.added_tokens) top = Math.max(top, t.id);
  return top + 1;
}

type Splitter = (text: string, onPiece: (piece: string) => void) => void;

/** One step of the pre-tokenizer as a split of the text into pieces of it. */
function splitterOf(step: Part): Splitter {
  if (step.type === 'ByteLevel') {
    if (step.use_regex === false) return (text, onPiece) => onPiece(text);
    const pattern = new ByteLevelPreTokenizer(step as never).pattern;
    return (text, onPiece) => text.match(pattern)?.forEach(onPiece);
  }
  if (step.type === 'Digits') {
    const digits = new DigitsPreTokenizer(step as never);
    return (text, onPiece) => digits.pre_tokenize_text(text).forEach(onPiece);
  }
  const split = new SplitPreTokenizer(step as never);
  if (step.behavior === 'Isolated') return (text, onPiece) => eachPiece(split.pattern!, text, onPiece);
  return (text, onPiece) => split.pre_tokenize_text(text).forEach(onPiece);
}

/** tokenizers.js's own state that the piece-wise encoding shares (it is not in its typings). */
interface LibraryInternals {
  splitter_unnormalized: { split(text: string): string[] };
  splitter_normalized: { split(text: string): string[] };
  added_tokens_map: Map<string, { id: number; lstrip: boolean; rstrip: boolean }>;
}

// the text either side of a cut whose pieces must come out the same cut or whole
const CUT_WINDOW = 256;

/** Encodes as tokenizers.js's Tokenizer.encode does (added tokens split out first, the rest
 *  normalized, pre-tokenized and merged), with the pre-tokenizer's pieces merged once each and
 *  remembered, which makes it several times faster on real text. */
export class HfTokenizer extends PieceTokenizer {
  readonly spec: HfSpec;
  readonly vocabSize: number;
  readonly endOfText: number | undefined;
  private readonly hf: Library;
  private readonly internals: LibraryInternals;
  private readonly split: Splitter;
  private readonly toByteLevel = new ByteLevelPreTokenizer({ type: 'ByteLevel', use_regex: false } as never);

  constructor(spec: HfSpec) {
    super();
    this.spec = { type: 'hf', source: spec.source, end_of_text: spec.end_of_text, json: spec.json };
    try {
      this.hf = new Library(spec.json, {});
    } catch (err) {
      const file = path.join(spec.source, HF_FILES.tokenizer);
      throw new UserError(`${file} cannot be read by tokenizers.js: ${(err as Error).message}.`);
    }
    this.internals = this.hf as unknown as LibraryInternals;
    this.vocabSize = hfVocabSize(spec.json);
    this.endOfText = spec.end_of_text ?? undefined;
    const pre = spec.json.pre_tokenizer!;
    const steps = (pre.type === 'Sequence' ? (pre.pretokenizers as Part[]) : [pre]).map(splitterOf);
    this.split = steps.reduceRight<Splitter>(
      (next, step) => (text, onPiece) => step(text, (piece) => next(piece, onPiece)),
      (text, onPiece) => onPiece(text),
    );
  }

  encodeEach(text: string, emit: (id: number) => void): void {
    this.eachPiece(text, (piece, added) => (added === undefined ? this.encodePiece(piece, emit) : emit(added)));
  }

  /** Text cut at `at` encodes as its halves do when the text around the cut splits into the same
   *  pieces cut as whole (the split patterns look a few characters around a piece, never far). */
  separableAt(text: string, at: number): boolean {
    const from = Math.max(0, at - CUT_WINDOW);
    const to = Math.min(text.length, at + CUT_WINDOW);
    const pieces = (part: string) => {
      const out: string[] = [];
      this.eachPiece(part, (piece, added) => out.push(added === undefined ? `p${piece}` : `a${added}`));
      return out;
    };
    const whole = pieces(text.slice(from, to));
    const halves = [...pieces(text.slice(from, at)), ...pieces(text.slice(at, to))];
    return whole.length === halves.length && whole.every((p, i) => p === halves[i]);
  }

  /** Calls onPiece with each piece the model merges, or each added token's id, in order: the
   *  steps of tokenizers.js's encode_text, its pre-tokenizer's byte mapping left to mergePiece. */
  private eachPiece(text: string, onPiece: (piece: string, added?: number) => void): void {
    const { splitter_unnormalized, splitter_normalized, added_tokens_map } = this.internals;
    const normalizer = this.hf.normalizer;
    const stripped = (parts: string[]) => {
      parts.forEach((part, i) => {
        const token = added_tokens_map.get(part);
        if (token?.lstrip && i > 0) parts[i - 1] = parts[i - 1].trimEnd();
        if (token?.rstrip && i < parts.length - 1) parts[i + 1] = parts[i + 1].trimStart();
      });
      return parts;
    };
    for (const section of stripped(splitter_unnormalized.split(text))) {
      if (section.length === 0) continue;
      const added = added_tokens_map.get(section);
      if (added) {
        onPiece(section, added.id);
        continue;
      }
      const normalized = normalizer ? normalizer(section) : section;
      for (const sub of stripped(splitter_normalized.split(normalized))) {
        if (sub.length === 0) continue;
        const token = added_tokens_map.get(sub);
        if (token) onPiece(sub, token.id);
        else this.split(sub, (piece) => onPiece(piece));
      }
    }
  }

  protected mergePiece(piece: string): number[] {
    const model = this.hf.model!;
    const { added_tokens_map } = this.internals;
    const ids: number[] = [];
    for (const token of model(this.toByteLevel.pre_tokenize_text(piece))) {
      const id = added_tokens_map.get(token)?.id ?? model.tokens_to_ids.get(token) ?? model.unk_token_id;
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  /** A model token's bytes are its byte-level spelling mapped back; an added token's, its text. */
  protected bytesOfTokens(): Uint8Array[] {
    const decoder = new ByteLevelDecoder({ type: 'ByteLevel' } as never).byte_decoder;
    const alphabet = new Map(Object.entries(decoder).map(([ch, byte]) => [ch, Number(byte)]));
    const utf8 = new TextEncoder();
    const table: Uint8Array[] = [];
    for (const [token, id] of Object.entries(this.spec.json.model.vocab)) {
      const bytes: number[] = [];
      for (const ch of token) {
        const byte = alphabet.get(ch);
        if (byte === undefined) bytes.push(...utf8.encode(ch));
        else bytes.push(byte);
      }
      table[id] = Uint8Array.from(bytes);
    }
    for (const t of this.spec.json.added_tokens) table[t.id] = utf8.encode(t.content);
    return table;
  }
}
