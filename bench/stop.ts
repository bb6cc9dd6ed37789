// `wordplay bench stop`: how long a graceful stop takes. A preset trains on tiny Shakespeare
// (char-level, prepared into a temporary folder) until its first train event; then its process
// group gets SIGINT (what Stop Training and Ctrl-C send) or SIGTERM. The figures: from the
// signal to the `done` event (the step finished, the checkpoint written) and to the trainer's
// exit (the ONNX export included), medians of several runs per signal. That the stop happens,
// and what it leaves, is trainer/tests/test_processes.py's to check.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/core/train/config';
import { UserError } from '../src/core/common/errors';
import { prepare } from '../src/core/prepare/prepare';
import { signalProcess } from '../src/core/common/processes';
import { shakespearePath } from '../src/core/prepare/shakespeare';
import { startTrainer } from '../src/core/train/trainerProcess';
import { numberOption, parseOptions } from '../src/core/common/options';
import { fixed, type Benchmark } from './benchmark';

export const benchStopUsage = `Usage: wordplay bench stop [--config shakespeare-char-cpu] [--runs 3] [--set group.key=value ...]

Trains the config on tiny Shakespeare (char-level) until its first train event, then signals
the trainer's process group: SIGINT --runs times, then SIGTERM --runs times. The last line is
JSON: for each signal the medians of done_ms (signal to the done event: the step finished, the
checkpoint written) and exit_ms (signal to the exit: the export included), and the slowest exit.`;

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Number(x.toFixed(1));

/** One run: trains until the first train event, signals, waits for the exit; the two times in ms. */
async function stopOnce(
  configSource: string,
  sets: string[],
  runDir: string,
  signal: NodeJS.Signals,
): Promise<{ done_ms: number; exit_ms: number }> {
  const { config } = loadConfig(configSource, sets);
  let trained!: () => void;
  const training = new Promise<void>((resolve) => (trained = resolve));
  const trainer = startTrainer({
    config,
    runDir,
    onEvent: (e) => {
      if (e.type === 'train') trained();
    },
    pollMs: 50,
  });
  try {
    const early = await Promise.race([training.then(() => undefined), trainer.done]);
    if (early)
      throw new UserError(
        `the trainer ended before its first step (exit ${early.exitCode}${early.error ? `: ${early.error.message}` : ''}); see ${trainer.paths.log}.`,
      );
    const sent = Date.now();
    if (!signalProcess(trainer.pid!, signal, true))
      throw new UserError(`could not send ${signal} to the trainer's process group ${trainer.pid}.`);
    const { exitCode, done } = await trainer.done;
    const exited = Date.now();
    if (exitCode !== 0 || done?.reason !== 'stopped') {
      throw new UserError(
        `${signal} did not stop the trainer gracefully (exit ${exitCode}, done ${done?.reason ?? 'missing'}); see ${trainer.paths.log}.`,
      );
    }
    return { done_ms: done.time * 1000 - sent, exit_ms: exited - sent };
  } catch (err) {
    trainer.kill();
    throw err;
  }
}

export async function benchStop(args: string[]): Promise<number> {
  const opts = parseOptions(
    args,
    {
      config: { type: 'string', default: 'shakespeare-char-cpu' },
      runs: { type: 'string' },
      set: { type: 'string', multiple: true },
    },
    benchStopUsage,
  );
  const runs = numberOption(opts.runs, 'runs', 3);
  if (!Number.isInteger(runs) || runs < 1) throw new UserError('--runs must be a whole number of at least 1.');
  const configSource = opts.config ?? 'shakespeare-char-cpu';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-stop-'));
  try {
    const dataset = await prepare({ input: await shakespearePath(), tokenizer: 'char', out: path.join(work, 'data') });
    const sets = [`data.dataset=${dataset.dir}`, 'train.log_interval=1', ...(opts.set ?? [])];
    const result: Record<string, unknown> = { config: configSource, runs };
    for (const signal of SIGNALS) {
      const samples: { done_ms: number; exit_ms: number }[] = [];
      for (let r = 0; r < runs; r++) {
        const sample = await stopOnce(configSource, sets, path.join(work, `run-${signal}-${r}`), signal);
        samples.push(sample);
        console.error(
          `${signal} run ${r + 1}/${runs}: done after ${sample.done_ms.toFixed(0)} ms, exit after ${sample.exit_ms.toFixed(0)} ms`,
        );
      }
      const key = signal.toLowerCase();
      result[`${key}_done_ms`] = round(median(samples.map((s) => s.done_ms)));
      result[`${key}_exit_ms`] = round(median(samples.map((s) => s.exit_ms)));
      result[`${key}_max_exit_ms`] = round(Math.max(...samples.map((s) => s.exit_ms)));
    }
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---- in BENCHMARKS.md (bench/benchmark.ts)

export const benchmarks: Benchmark[] = [
  {
    name: 'stop',
    args: ['bench', 'stop', '--runs', '3'],
    rows: [
      {
        figure:
          'graceful stop of `shakespeare-char-cpu` training, SIGINT (Stop Training, Ctrl-C): signal to exit, checkpoint and export included',
        goal: '< 15 s (#21, from the trainer’s stop test)',
        value: (r) =>
          `${fixed(r.sigint_exit_ms / 1000, 2)} s (median of ${r.runs}; to the \`done\` event ${fixed(r.sigint_done_ms / 1000, 2)} s; slowest exit ${fixed(r.sigint_max_exit_ms / 1000, 2)})`,
        met: (r) => r.sigint_exit_ms < 15_000,
      },
      {
        figure: 'the same, SIGTERM',
        goal: '< 15 s (#21, from the trainer’s stop test)',
        value: (r) =>
          `${fixed(r.sigterm_exit_ms / 1000, 2)} s (median of ${r.runs}; to the \`done\` event ${fixed(r.sigterm_done_ms / 1000, 2)} s; slowest exit ${fixed(r.sigterm_max_exit_ms / 1000, 2)})`,
        met: (r) => r.sigterm_exit_ms < 15_000,
      },
    ],
  },
];
