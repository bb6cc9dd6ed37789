import { prepare as prepareDataset, type TokenizerKind } from '../core/prepare/prepare';
import { UserError } from '../core/common/errors';
import { parseOptions, type Subcommand } from './args';
import { ProgressLine } from './progressLine';

const usage = `Usage: wordplay prepare --input <file | folder | glob | shakespeare> --tokenizer char|gpt2 --out <dir> [--force]

Tokenizes text into a dataset folder: train.bin and val.bin (the first 90% and last 10% of
the text, as nanoGPT splits it), tokenizer.json and meta.json. "shakespeare" is nanoGPT's
tiny Shakespeare, shipped with wordplay (no network needed).
--force replaces an existing dataset at --out.`;

export const prepare: Subcommand = {
  summary: 'tokenize text into a dataset folder',
  usage,
  async run(args) {
    const opts = parseOptions(
      args,
      { input: { type: 'string' }, tokenizer: { type: 'string', default: 'char' }, out: { type: 'string' }, force: { type: 'boolean' } },
      usage,
    );
    if (!opts.input) throw new UserError(`--input is required.\n\n${usage}`);
    if (!opts.out) throw new UserError(`--out is required.\n\n${usage}`);
    if (opts.tokenizer !== 'char' && opts.tokenizer !== 'gpt2') {
      throw new UserError(`--tokenizer must be char or gpt2, not "${opts.tokenizer}".`);
    }
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    const line = new ProgressLine();
    try {
      const { dir, meta } = await prepareDataset({
        input: opts.input,
        tokenizer: opts.tokenizer as TokenizerKind,
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
        `${dir}: ${meta.tokenizer} tokenizer, vocab ${meta.vocab_size}, ${meta.train_tokens.toLocaleString('en-US')} train and ${meta.val_tokens.toLocaleString('en-US')} val tokens (${meta.dtype})`,
      );
    } finally {
      line.done();
      process.off('SIGINT', onSigint);
    }
  },
};
