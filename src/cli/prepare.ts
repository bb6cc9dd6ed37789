// `wordplay prepare`: text into a dataset folder (src/core/prepare/prepare.ts), with a live progress line.
import { prepare as prepareDataset, type TokenizerKind } from '../core/prepare/prepare';
import { UserError } from '../core/common/errors';
import { tokenizerLabel, TRAIN_FRACTION } from '../core/prepare/dataset';
import { modelFolder } from '../core/train/hfConfig';
import { parseOptions } from '../core/common/options';
import type { Subcommand } from './subcommand';
import { ProgressLine } from './progressLine';

const usage = `Usage: wordplay prepare --input <file | folder | glob | shakespeare> --tokenizer char|gpt2|bpe|<model folder or hub name> [--vocab-size N] --out <dir> [--force]

Tokenizes text into a dataset folder: train.bin and val.bin (the first ${Math.round(100 * TRAIN_FRACTION)}% and last ${Math.round(100 * (1 - TRAIN_FRACTION))}% of
the text, as nanoGPT splits it), tokenizer.json and meta.json. "shakespeare" is nanoGPT's
tiny Shakespeare, shipped with wordplay (no network needed).
  char   one token per character (nanoGPT's shakespeare_char)
  gpt2   GPT-2's BPE, 50,257 tokens (for fine-tuning GPT-2)
  bpe    a byte-level BPE trained on this text's training split, written as a Hugging Face
         tokenizer.json; --vocab-size N (at least 257) sets its size, by default one that
         suits the text's size. It trains with the trainer's Python ("wordplay setup").
  <model folder>  a Hugging Face model folder's own tokenizer (its tokenizer.json, copied into
         the dataset), to fine-tune that model: byte-level BPEs such as Llama 3's, Qwen's and
         SmolLM2's. Documents are separated by the folder's eos_token (tokenizer_config.json).
         A hub name (HuggingFaceTB/SmolLM2-135M) names the folder the trainer downloaded it to.
--force replaces an existing dataset at --out.`;

export const prepare: Subcommand = {
  summary: 'tokenize text into a dataset folder',
  usage,
  async run(args) {
    const opts = parseOptions(
      args,
      {
        input: { type: 'string' },
        tokenizer: { type: 'string', default: 'char' },
        'vocab-size': { type: 'string' },
        out: { type: 'string' },
        force: { type: 'boolean' },
      },
      usage,
    );
    if (!opts.input) throw new UserError(`--input is required.\n\n${usage}`);
    if (!opts.out) throw new UserError(`--out is required.\n\n${usage}`);
    // a name, else a model folder (a folder named like one is given as ./bpe)
    const named = ['char', 'gpt2', 'bpe'].includes(opts.tokenizer);
    const vocabText = opts['vocab-size'];
    if (vocabText !== undefined && opts.tokenizer !== 'bpe')
      throw new UserError(
        '--vocab-size is for --tokenizer bpe only: char, gpt2 and a model folder have fixed vocabularies.',
      );
    if (vocabText !== undefined && !/^\d+$/.test(vocabText))
      throw new UserError(`--vocab-size must be a whole number, not "${vocabText}".`);
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    const line = new ProgressLine();
    try {
      const { dir, meta } = await prepareDataset({
        input: opts.input,
        tokenizer: named ? (opts.tokenizer as TokenizerKind) : 'hf',
        folder: named ? undefined : modelFolder(opts.tokenizer),
        vocabSize: vocabText === undefined ? undefined : Number(vocabText),
        out: opts.out,
        force: opts.force,
        signal: abort.signal,
        log: (l) => line.log(l),
        onProgress: (p) =>
          line.update(
            `${p.phase} ${((100 * p.bytesDone) / Math.max(p.bytesTotal, 1)).toFixed(0).padStart(3)}%  ${p.mbPerSecond.toFixed(1)} MB/s  ETA ${Number.isFinite(p.etaSeconds) ? p.etaSeconds.toFixed(0) : '?'} s`,
          ),
      });
      line.done();
      console.log(
        `${dir}: ${tokenizerLabel(meta)} tokenizer, vocab ${meta.vocab_size}, ${meta.train_tokens.toLocaleString('en-US')} train and ${meta.val_tokens.toLocaleString('en-US')} val tokens (${meta.dtype})`,
      );
    } finally {
      line.done();
      process.off('SIGINT', onSigint);
    }
  },
};
