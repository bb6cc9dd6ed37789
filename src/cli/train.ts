// `wordplay train --config <file|preset> [--set group.key=value ...] [--run-dir D]`
import * as path from 'node:path';
import { loadConfig } from '../core/train/config';
import { UserError } from '../core/common/errors';
import { TrainProgress } from '../core/run/progress';
import { defaultRunDir } from '../core/run/runDir';
import { startTrainer } from '../core/train/trainerProcess';
import { parseOptions, type Subcommand } from './args';

const usage = `Usage: wordplay train --config <file|preset> [--set group.key=value ...] [--run-dir DIR]

  --config   a *.wordplay.json config file, or a preset: shakespeare-char-cpu, shakespeare-char,
             nanogpt-shakespeare-char-cpu, nanogpt-shakespeare-char, gpt2-finetune, gpt2-124m
  --set      override one key, e.g. --set train.max_iters=300 (repeatable)
  --run-dir  the run folder (default: runs/<YYYYMMDD-HHMMSS>-<config name>); with
             --set train.init_from=resume, the run to continue

Ctrl-C stops gracefully: the trainer finishes its step, saves a checkpoint, and exits.`;

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
      // the trainer has its own process group: closing the terminal (which ends this process)
      // must still stop it, gracefully
      env: { ...process.env, WORDPLAY_STOP_WITH_PID: String(process.pid) },
      onEvent(event) {
        if (!tty) return; // the trainer's own lines are the plain progress
        if (event.type === 'eval') {
          const bpb = event.val_bpb === undefined ? '' : `, ${event.val_bpb.toFixed(4)} bits per byte`;
          print(`eval ${event.iter}: train loss ${event.train_loss.toFixed(4)}, val loss ${event.val_loss.toFixed(4)}${bpb}`);
        }
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
        const bpb = last && last.type === 'eval' && last.val_bpb !== undefined ? ` (${last.val_bpb.toFixed(4)} bits per byte)` : '';
        const val = last && last.type === 'eval' ? `, val loss ${last.val_loss.toFixed(4)}${bpb}` : '';
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
