// The dataset directory contract (written by prepare, read by the trainer and completion):
// train.bin and val.bin (token ids, little-endian uint16, or uint32 past uint16_max_vocab ids),
// tokenizer.json, and meta.json. The file names, the split and the token width are
// schemas/dataset.json's, which the trainer reads too.
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
  vocab_size: number;
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

/** uint16 for vocabularies up to uint16_max_vocab (65,535) entries, uint32 beyond. */
export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize > contract.uint16_max_vocab ? 'uint32' : 'uint16';
}

export function readDatasetMeta(dir: string): DatasetMeta {
  return JSON.parse(readRequired(dir, datasetFiles.meta)) as DatasetMeta;
}

export function readDatasetTokenizer(dir: string): TokenizerSpec {
  const file = path.join(dir, datasetFiles.tokenizer);
  let json: unknown;
  try {
    json = JSON.parse(readRequired(dir, datasetFiles.tokenizer));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${file} is not valid JSON. Prepare the dataset again with "wordplay prepare".`);
  }
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
