// The dataset directory contract (written by prepare, read by the trainer and completion):
// train.bin and val.bin (token ids, little-endian uint16, or uint32 past uint16_max_vocab ids:
// meta.json's dtype says which, and readers follow it), tokenizer.json, and meta.json. The file
// names, the split and the token width are schemas/dataset.json's, which the trainer reads too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import contract from '../../../schemas/dataset.json';
import { UserError } from '../common/errors';
import { parseTokenizerSpec, type TokenizerSpec } from './tokenizer';

export const datasetFiles = contract.files;

/** nanoGPT's split: the first TRAIN_FRACTION of the characters train, the rest is validation. */
export const TRAIN_FRACTION = contract.train_fraction;

export type TokenDtype = 'uint16' | 'uint32';

export interface DatasetMeta {
  /** The input files, in the order they were read. */
  source: string[];
  /** sha256 of the input bytes, files concatenated in order. */
  sha256: string;
  tokenizer: TokenizerSpec['type'];
  /** hf: the model folder (absolute) whose tokenizer.json the dataset's is a copy of. */
  tokenizer_source?: string;
  vocab_size: number;
  /** The id between documents (absent for char, and in datasets prepared before it was
   *  recorded: gpt2's and bpe's <|endoftext|>); for hf, the folder's eos (hfTokenizer.ts). */
  end_of_text?: number;
  dtype: TokenDtype;
  documents: number;
  characters: number;
  train_characters: number;
  train_tokens: number;
  val_tokens: number;
  /** UTF-8 bytes of each split's text (bits per byte = loss · tokens / bytes / ln 2); datasets
   *  prepared before these were counted lack them. */
  train_bytes?: number;
  val_bytes?: number;
  created: string;
  /** Why the dtype is uint32, when it is. */
  note?: string;
}

/** How views name a dataset's tokenizer: its kind, with the model folder's name for hf. */
export function tokenizerLabel(meta: Pick<DatasetMeta, 'tokenizer' | 'tokenizer_source'>): string {
  return meta.tokenizer_source ? `${meta.tokenizer} (${path.basename(meta.tokenizer_source)})` : meta.tokenizer;
}

/** uint16 for vocabularies up to uint16_max_vocab (65,535) entries, uint32 beyond. */
export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize > contract.uint16_max_vocab ? 'uint32' : 'uint16';
}

export function readDatasetMeta(dir: string): DatasetMeta {
  return JSON.parse(readRequired(dir, datasetFiles.meta)) as DatasetMeta;
}

/** The token ids of a split, as wide as meta.json's dtype says. */
export function readDatasetTokens(dir: string, split: 'train' | 'val'): Uint16Array | Uint32Array {
  const dtype = readDatasetMeta(dir).dtype;
  const file = path.join(dir, datasetFiles[split]);
  const bytes = fs.readFileSync(file);
  const width = dtype === 'uint32' ? 4 : dtype === 'uint16' ? 2 : 0;
  if (width === 0 || bytes.length % width !== 0)
    throw new UserError(
      `${file} is not a whole number of ${dtype} ids (meta.json's dtype). Prepare the dataset again.`,
    );
  const copy = new Uint8Array(bytes); // aligned, as a typed array view needs
  return width === 4 ? new Uint32Array(copy.buffer) : new Uint16Array(copy.buffer);
}

/** The dataset's tokenizer: tokenizer.json, wrapped with meta.json's facts for a model
 *  folder's (hf), whose tokenizer.json is the folder's verbatim. */
export function readDatasetTokenizer(dir: string): TokenizerSpec {
  const file = path.join(dir, datasetFiles.tokenizer);
  let json: unknown;
  try {
    json = JSON.parse(readRequired(dir, datasetFiles.tokenizer));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${file} is not valid JSON. Prepare the dataset again with "wordplay prepare".`);
  }
  // meta.json says whether tokenizer.json is a model folder's (a dataset of an older wordplay
  // may lack it; its tokenizer.json says what it is)
  const meta = fs.existsSync(path.join(dir, datasetFiles.meta)) ? readDatasetMeta(dir) : undefined;
  if (meta?.tokenizer === 'hf')
    json = { type: 'hf', source: meta.tokenizer_source, end_of_text: meta.end_of_text ?? null, json };
  return parseTokenizerSpec(json, file);
}

function readRequired(dir: string, name: string): string {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    throw new UserError(
      `${file} is missing: ${dir} is not a prepared dataset. Run "wordplay prepare --input <text> --out ${dir}".`,
    );
  }
  return fs.readFileSync(file, 'utf8');
}
