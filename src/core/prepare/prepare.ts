// prepare: text in, dataset directory out (train.bin, val.bin, tokenizer.json, meta.json).
//
// It streams: a first pass checks the input (no NUL bytes, valid UTF-8), hashes it, counts its
// characters (to place nanoGPT's split) and, for char, collects the vocabulary (scan.ts); for
// bpe, the tokenizer is then trained on the training split (trainBpe.ts, the trainer's Python); for
// hf, a Hugging Face model folder's tokenizer.json is checked before any work and copied as it is
// (hfTokenizer.ts); a last pass encodes (encode.ts). Memory stays bounded whatever the corpus size. The dataset is
// built in a temporary folder beside --out and swapped into place at the end (outputFolder.ts),
// so an interrupted or failed prepare never leaves a partial dataset.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasetFiles, dtypeFor, TRAIN_FRACTION, type DatasetMeta } from './dataset';
import { UserError } from '../common/errors';
import { encodeInputs } from './encode';
import { resolveInputs } from './inputs';
import { checkOutput, makeTempDir, replaceDir, restoreInterruptedSwap, writeJsonDurably } from './outputFolder';
import { ProgressMeter, type PrepareProgress } from './progressMeter';
import { locateSplit, scanInputs, type Scan, type SplitPoint } from './scan';
import { shakespearePath } from './shakespeare';
import { HF_FILES, readHfFolder } from './hfTokenizer';
import {
  BpeTokenizer,
  CharTokenizer,
  gpt2,
  HfTokenizer,
  parseTokenizerSpec,
  type Tokenizer,
  type TokenizerSpec,
} from './tokenizer';
import { bpeVocabProblem, defaultBpeVocab, trainBpe } from './trainBpe';

export type TokenizerKind = TokenizerSpec['type'];

export interface PrepareOptions {
  /** A file, a folder, a glob, or "shakespeare". */
  input: string;
  tokenizer: TokenizerKind;
  /** hf only: the Hugging Face model folder whose tokenizer.json encodes the text. */
  folder?: string;
  /** bpe only: the vocabulary to train, <|endoftext|> included (default: defaultBpeVocab). */
  vocabSize?: number;
  out: string;
  force?: boolean;
  /** The environment the trainer's Python is resolved from (bpe trains with it). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  onProgress?: (progress: PrepareProgress) => void;
  log?: (line: string) => void;
}

export interface PrepareResult {
  dir: string;
  meta: DatasetMeta;
}

export async function prepare(options: PrepareOptions): Promise<PrepareResult> {
  const cwd = options.cwd ?? process.cwd();
  const out = path.resolve(cwd, options.out);
  restoreInterruptedSwap(out);
  checkOutput(out, options.force ?? false);
  const files =
    options.input === 'shakespeare' ? [shakespearePath(process.env, options.log)] : resolveInputs(options.input, cwd);

  const sizes = files.map((f) => fs.statSync(f).size);
  const inputBytes = sizes.reduce((sum, n) => sum + n, 0);
  const bpe = options.tokenizer === 'bpe';
  if (options.tokenizer === 'hf' && options.folder === undefined)
    throw new UserError("a model folder's tokenizer needs the folder: --tokenizer <folder>.");
  const hf = options.tokenizer === 'hf' ? readHfFolder(path.resolve(cwd, options.folder!)) : undefined;
  const hfTokenizer = hf && new HfTokenizer(hf); // refuses what tokenizers.js cannot load, before any work
  // the training text is about TRAIN_FRACTION of the bytes (exactly: of the characters)
  const bpeVocab = bpe ? (options.vocabSize ?? defaultBpeVocab(TRAIN_FRACTION * inputBytes)) : undefined;
  const vocabProblem =
    bpeVocab === undefined ? undefined : bpeVocabProblem(bpeVocab, Math.floor(TRAIN_FRACTION * inputBytes));
  if (vocabProblem) throw new UserError(vocabProblem);
  // each input byte is read twice (check, then encode), and the training text once more for bpe
  const passes = bpe ? 2 + TRAIN_FRACTION : 2;
  const progress = new ProgressMeter(passes * inputBytes, passes, options.onProgress);
  const tmp = makeTempDir(out);
  try {
    const scan = await scanInputs(files, options.tokenizer, progress, options.signal);
    if (scan.characters === 0) throw new UserError(`the input is empty (${files.join(', ')}). Give it some text.`);
    const splitAt = Math.floor(scan.characters * TRAIN_FRACTION);
    const split = await locateSplit(files, scan.marks, splitAt);
    const trainBytes = sizes.slice(0, split.file).reduce((sum, n) => sum + n, 0) + split.byte;
    const tokenizer = hfTokenizer
      ? hfTokenizer
      : bpeVocab === undefined
        ? simpleTokenizer(options.tokenizer, scan)
        : await trainedBpe(files, split, bpeVocab, tmp, progress, options);
    if (hf) {
      const joined = files.length > 1 && hf.end_of_text === null ? '; the documents are joined without one' : '';
      options.log?.(`the end of text: ${hf.end_of_text ?? 'none'} (${hf.endOfTextFrom})${joined}`);
    }
    const vocabSize = tokenizer.vocabSize;
    const dtype = dtypeFor(vocabSize);
    const counts = await encodeInputs(files, tokenizer, dtype, split, tmp, progress, options.signal);
    if (counts.train < 2 || counts.val < 2) {
      throw new UserError(
        `the input is too short for a validation split: ${scan.characters} characters give ${counts.train} train and ${counts.val} val tokens (the last ${Math.round(100 * (1 - TRAIN_FRACTION))}% is held out for validation). Give at least a few hundred characters.`,
      );
    }
    const meta: DatasetMeta = {
      source: files,
      sha256: scan.sha256,
      tokenizer: tokenizer.spec.type,
      ...(hf ? { tokenizer_source: hf.source } : {}),
      vocab_size: vocabSize,
      ...(tokenizer.endOfText === undefined ? {} : { end_of_text: tokenizer.endOfText }),
      dtype,
      documents: files.length,
      characters: scan.characters,
      train_characters: splitAt,
      train_tokens: counts.train,
      val_tokens: counts.val,
      train_bytes: trainBytes,
      val_bytes: inputBytes - trainBytes,
      created: new Date().toISOString(),
      ...(dtype === 'uint32'
        ? { note: `the vocabulary has ${vocabSize} entries, more than uint16 holds, so the ids are uint32` }
        : {}),
    };
    // bpe's tokenizer.json is already there, as the tokenizer's own library wrote it; hf's is the
    // folder's, byte for byte (training checks it against the model folder's)
    if (hf) copyDurably(path.join(hf.source, HF_FILES.tokenizer), path.join(tmp, datasetFiles.tokenizer));
    else if (tokenizer.spec.type !== 'bpe') writeJsonDurably(path.join(tmp, datasetFiles.tokenizer), tokenizer.spec);
    writeJsonDurably(path.join(tmp, datasetFiles.meta), meta);
    replaceDir(tmp, out);
    return { dir: out, meta };
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function copyDurably(from: string, to: string): void {
  fs.copyFileSync(from, to);
  const fd = fs.openSync(to, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function simpleTokenizer(kind: TokenizerKind, scan: Scan): Tokenizer {
  return kind === 'char' ? new CharTokenizer(scan.vocab) : gpt2();
}

/** Trains the BPE on the training split into tmp/tokenizer.json and reads it back; a corpus
 *  that runs out of pairs before an asked-for size is refused with the size it supports. */
async function trainedBpe(
  files: string[],
  split: SplitPoint,
  vocabSize: number,
  tmp: string,
  progress: ProgressMeter,
  options: PrepareOptions,
): Promise<BpeTokenizer> {
  const file = path.join(tmp, datasetFiles.tokenizer);
  let reported = 0;
  await trainBpe({
    files,
    end: split,
    vocabSize,
    out: file,
    env: options.env,
    signal: options.signal,
    onBytes: (bytes) => {
      progress.advance(bytes - reported, 'training tokenizer');
      reported = bytes;
    },
  });
  const spec = parseTokenizerSpec(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  const tokenizer = new BpeTokenizer((spec as Extract<TokenizerSpec, { type: 'bpe' }>).json);
  if (tokenizer.vocabSize < vocabSize) {
    const message = `the training text supports ${tokenizer.vocabSize.toLocaleString('en-US')} tokens, fewer than the ${vocabSize.toLocaleString('en-US')} asked for (its pieces are all merged whole by then)`;
    if (options.vocabSize !== undefined)
      throw new UserError(`${message}. Choose --vocab-size ${tokenizer.vocabSize} or less, or give more text.`);
    options.log?.(`${message}; the dataset has ${tokenizer.vocabSize}.`);
  }
  return tokenizer;
}
