// Trains the byte-level BPE of `prepare --tokenizer bpe` on the training split: the trainer's
// Python (trainer/wordplay_trainer/prepare/bpe.py: rustbpe learns the merges, Hugging Face tokenizers
// writes tokenizer.json) runs as a child process, its progress read from its stdout. The
// vocabulary-size rules are here, checked before any work.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import bpeFacts from '../../../schemas/bpe.json';
import { UserError } from '../common/errors';
import { trainerInvocation } from '../common/pythonEnv';

export const MIN_BPE_VOCAB = bpeFacts.min_vocab_size;

/** The most tokens text of this many bytes can give: each merge joins a pair of pieces that
 *  the text holds at least once, so it needs two bytes of its own. The trained tokenizer can
 *  stop sooner (when its pieces are all merged whole); prepare says so after training. */
export function maxBpeVocab(trainBytes: number): number {
  return MIN_BPE_VOCAB + Math.floor(trainBytes / 2);
}

/** A size that suits a corpus (schemas/bpe.json): the largest power of two at most
 *  2·sqrt(training bytes), between the default's bounds: 1 MB of text gets 1,024 tokens,
 *  30 MB 8,192, 1 GB 32,768. */
export function defaultBpeVocab(trainBytes: number): number {
  const { min, max } = bpeFacts.default_vocab_size;
  const size = 2 ** Math.floor(Math.log2(Math.max(2 * Math.sqrt(trainBytes), 1)));
  return Math.min(Math.max(size, min), max, maxBpeVocab(trainBytes));
}

/** The problem with a --vocab-size for text of trainBytes, or undefined when it is fine. */
export function bpeVocabProblem(vocabSize: number, trainBytes: number): string | undefined {
  if (!Number.isInteger(vocabSize) || vocabSize < MIN_BPE_VOCAB) {
    return `--vocab-size must be a whole number of at least ${MIN_BPE_VOCAB}: the 256 byte values and ${bpeFacts.end_of_text}.`;
  }
  const most = maxBpeVocab(trainBytes);
  if (vocabSize > most) {
    return `--vocab-size ${vocabSize} is more than this corpus can give: its training text (${trainBytes.toLocaleString('en-US')} bytes) supports at most ${most.toLocaleString('en-US')} tokens. Choose a smaller size (${defaultBpeVocab(trainBytes).toLocaleString('en-US')} suits it) or give more text.`;
  }
  return undefined;
}

export interface TrainBpeOptions {
  files: string[];
  /** Where the training text ends: byte `byte` of files[file]. */
  end: { file: number; byte: number };
  vocabSize: number;
  /** The tokenizer.json to write. */
  out: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Called with the training bytes read so far. */
  onBytes?: (bytes: number) => void;
}

export async function trainBpe(options: TrainBpeOptions): Promise<void> {
  const inputs = `${options.out}.inputs.json`;
  fs.writeFileSync(inputs, JSON.stringify({ files: options.files, end: options.end }));
  const inv = trainerInvocation(
    ['tokenizer', '--inputs', inputs, '--vocab-size', String(options.vocabSize), '--out', options.out],
    options.env,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(inv.command, inv.args, {
        env: inv.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        signal: options.signal,
      });
      let stderr = '';
      let pending = '';
      child.stdout.setEncoding('utf8').on('data', (data: string) => {
        const lines = (pending + data).split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          const bytes = /^\{"bytes": (\d+)\}$/.exec(line.trim())?.[1];
          if (bytes !== undefined) options.onBytes?.(Number(bytes));
        }
      });
      child.stderr.setEncoding('utf8').on('data', (data: string) => (stderr = (stderr + data).slice(-4000)));
      child.on('error', (err) => {
        if (err.name === 'AbortError') reject(new UserError('prepare was cancelled; no dataset was written.'));
        else
          reject(
            new UserError(
              `could not run the trainer's Python (${inv.command}) to train the BPE tokenizer: ${err.message}. Run "wordplay setup" first, or set WORDPLAY_PYTHON.`,
            ),
          );
      });
      child.on('close', (code) => {
        if (code === 0) resolve();
        else if (!options.signal?.aborted) {
          const last = stderr.trim().split('\n').slice(-6).join('\n');
          reject(new UserError(`training the BPE tokenizer failed (exit ${code}): ${last || 'no message'}`));
        }
      });
    });
  } finally {
    fs.rmSync(inputs, { force: true });
  }
}
