// `wordplay train --config <file|preset> [--set group.key=value ...] [--run-dir D]`
import * as path from 'node:path';
import { loadConfig } from '../core/config';
import { UserError } from '../core/errors';
import type { RunEvent } from '../core/events';
import { defaultRunDir } from '../core/runDir';
import { startTrainer } from '../core/trainer';
import { parseOptions, type Subcommand } from './args';

const usage = `Usage: wordplay train --config <file|preset> [--set group.key=value ...] [--run-dir DIR]

  --config   a *.wordplay.json config file, or a preset: shakespeare-char, shakespeare-char-cpu,
             gpt2-finetune, gpt2-124m
  --set      override one key, e.g. --set train.max_iters=300 (repeatable)
  --run-dir  the run folder (default: runs/<YYYYMMDD-HHMMSS>-<config name>); with
             --set train.init_from=resume, the run to continue

Ctrl-C stops gracefully: the trainer finishes its step, saves a checkpoint, and exits.`;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The live progress line: iteration of max, loss, tokens/s, ETA, last val loss. */
export class TrainProgress {
  private maxIters = 0;
  private startIter = 0;
  private startTime = 0;
  private iter = 0;
  private loss: number | undefined;
  private tokensPerS: number | undefined;
  private valLoss: number | undefined;

  update(event: RunEvent): boolean {
    switch (event.type) {
      case 'start':
        this.maxIters = event.max_iters;
        this.startIter = this.iter = event.iter;
        this.startTime = event.time;
        return true;
      case 'train':
        this.iter = event.iter;
        this.loss = event.loss;
        this.tokensPerS = event.tokens_per_s;
        if (!this.startTime) this.startTime = event.time;
        return true;
      case 'eval':
        this.valLoss = event.val_loss;
        return true;
      default:
        return false;
    }
  }

  eta(now = Date.now() / 1000): number {
    const doneIters = this.iter - this.startIter;
    if (doneIters <= 0 || !this.maxIters) return NaN;
    return ((now - this.startTime) / doneIters) * (this.maxIters - this.iter);
  }

  line(width = 24, now = Date.now() / 1000): string {
    const frac = this.maxIters ? Math.min(1, this.iter / this.maxIters) : 0;
    const filled = Math.round(frac * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const parts = [`${bar} ${this.iter}/${this.maxIters || '?'}`];
    if (this.loss !== undefined) parts.push(`loss ${this.loss.toFixed(4)}`);
    if (this.tokensPerS !== undefined) parts.push(`${Math.round(this.tokensPerS).toLocaleString('en-US')} tok/s`);
    parts.push(`ETA ${formatDuration(this.eta(now))}`);
    if (this.valLoss !== undefined) parts.push(`val ${this.valLoss.toFixed(4)}`);
    return parts.join(' | ');
  }
}

export const train: Subcommand = {
  summary: 'train a GPT (config file or preset) with live progress',
  usage,
  async run(args) {
    const opts = parseOptions(
      args,
      { config: { type: 'string' }, set: { type: 'string', multiple: true }, 'run-dir': { type: 'string' } },
      usage,
    );
    if (!opts.config) throw new UserError(`--config is required.\n\n${usage}`);
    // refused here, before anything is spawned, when invalid
    const { config, name } = loadConfig(opts.config, opts.set ?? []);
    const runDir = path.resolve(opts['run-dir'] ?? defaultRunDir(name));
    const tty = Boolean(process.stderr.isTTY);
    const progress = new TrainProgress();
    let shown = false;
    const clear = () => {
      if (tty && shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    };
    const print = (line: string) => {
      clear();
      process.stderr.write(`${line}\n`);
    };
    process.stderr.write(`wordplay: run dir ${runDir}\n`);
    const trainer = startTrainer({
      config,
      runDir,
      onEvent(event) {
        if (!tty) return; // the trainer's own lines are the plain progress
        if (event.type === 'eval') print(`eval ${event.iter}: train loss ${event.train_loss.toFixed(4)}, val loss ${event.val_loss.toFixed(4)}`);
        if (progress.update(event)) {
          process.stderr.write(`\r\x1b[2K${progress.line()}`);
          shown = true;
        }
      },
      onStderr(line) {
        // on a terminal the progress line replaces the trainer's per-iteration lines
        if (tty && /^(iter|eval) \d+/.test(line)) return;
        if (/^wordplay: (finished|stopped) at iteration/.test(line)) return; // summarised below
        print(line);
      },
    });
    let interrupts = 0;
    const onSigint = () => {
      interrupts += 1;
      if (interrupts === 1) {
        print('wordplay: stopping gracefully (checkpoint first); press Ctrl-C again to kill');
        trainer.stop();
      } else {
        print('wordplay: killing the trainer');
        trainer.kill();
      }
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    try {
      const result = await trainer.done;
      clear();
      const evals = result.events.filter((e) => e.type === 'eval');
      const last = evals[evals.length - 1];
      if (result.done && result.done.reason !== 'error') {
        const val = last && last.type === 'eval' ? `, val loss ${last.val_loss.toFixed(4)}` : '';
        process.stderr.write(`wordplay: ${result.done.reason} at iteration ${result.done.iter ?? '?'}${val}; run dir ${runDir}\n`);
      } else if (!result.error) {
        process.stderr.write(`wordplay: the trainer exited with code ${result.exitCode} without an error event\n`);
      }
      return result.exitCode;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  },
};
