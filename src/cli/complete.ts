// `wordplay complete --model <run dir | model.onnx> --prompt <text> [...]`: streams the
// continuation of the prompt to stdout (the prompt itself is not repeated).
import { UserError } from '../core/common/errors';
import { generate } from '../core/complete/generate';
import { numberOption, parseOptions } from '../core/common/options';
import type { Subcommand } from './subcommand';

const usage = `Usage: wordplay complete --model <run dir | model.onnx> --prompt <text> [options]

  --model        a run folder holding model.onnx + model.json (see "wordplay export"), or an .onnx file
  --prompt       the text to continue ("" starts a fresh text); - reads it from stdin
  --max-tokens   new tokens at most (default 200)
  --temperature  0 always picks the likeliest token; higher is more varied (default 0.8)
  --top-k        sample among the k likeliest tokens only (default 0: all)
  --top-p        sample among the likeliest tokens whose probabilities sum to p (default 1: all)
  --seed         the same seed and prompt give the same text (default: random)
  --stop         end before this text (repeatable)

Characters a character-level model never saw are dropped from the prompt, with a warning.
Ctrl-C stops the completion after the current token.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

export const complete: Subcommand = {
  summary: 'continue a prompt with a trained model (streams to stdout)',
  usage,
  async run(args) {
    const opts = parseOptions(
      args,
      {
        model: { type: 'string' },
        prompt: { type: 'string' },
        'max-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'top-k': { type: 'string' },
        'top-p': { type: 'string' },
        seed: { type: 'string' },
        stop: { type: 'string', multiple: true },
      },
      usage,
    );
    if (!opts.model) throw new UserError(`--model is required.\n\n${usage}`);
    if (opts.prompt === undefined)
      throw new UserError(`--prompt is required (use --prompt "" to start from nothing).\n\n${usage}`);
    const prompt = opts.prompt === '-' ? await readStdin() : opts.prompt;
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      const it = generate(opts.model, {
        prompt,
        maxTokens: numberOption(opts['max-tokens'], 'max-tokens', 200),
        temperature: numberOption(opts.temperature, 'temperature', 0.8),
        topK: numberOption(opts['top-k'], 'top-k', 0),
        topP: numberOption(opts['top-p'], 'top-p', 1),
        seed: opts.seed === undefined ? undefined : numberOption(opts.seed, 'seed', 0),
        stop: opts.stop,
        signal: abort.signal,
        onWarning: (m) => console.error(`wordplay: warning: ${m}`),
      });
      let ended = false;
      for (;;) {
        const r = await it.next();
        if (r.done) {
          if (r.value.text && !r.value.text.endsWith('\n') && process.stdout.isTTY) await writeOut('\n');
          if (r.value.reason === 'aborted') console.error('wordplay: stopped.');
          ended = true;
          break;
        }
        await writeOut(r.value);
      }
      return ended ? 0 : 1;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};
