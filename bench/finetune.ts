// `wordplay bench finetune`: fine-tuning a SmolLM2-135M-shaped model, full and LoRA, with our
// trainer against a plain Hugging Face transformers (+ PEFT) loop doing the same thing
// (trainer/wordplay_trainer/check/finetune_bench.py reads the very run config our trainer gets:
// the same folder, dataset and batches, block size, dtype, AdamW settings, clipping and steps).
// The weights are random (offline; speed and memory do not depend on them) and the tokenizer a
// BPE trained on tiny Shakespeare, which prepare then encodes with it. The runs take turns, one
// at a time on the same cores (taskset) with the same threads, ours first in odd rounds and
// theirs first in even ones, so a drift in the machine's load weighs on both alike, and each
// waits (up to --quiet-s) for the other processes on the machine to leave its cores nearly idle.
// Tokens/s: over the steps after warm-up (ours timed by its train events, theirs by its own
// clock, both around the whole step), the median step's and the fastest step's: this machine is
// shared, and another process's load only ever slows a step. Peak memory: the process's VmHWM
// after its last step (ours read from /proc as its last train event arrives, before its
// evaluation and checkpoint; theirs read by itself).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/core/common/errors';
import { numberOption, parseOptions } from '../src/core/common/options';
import { trainerInvocation } from '../src/core/common/pythonEnv';
import { EventFollower, readEvents, type TrainEvent } from '../src/core/run/events';
import { runPaths } from '../src/core/run/runDir';
import { fixed, int, printResult, type Benchmark, type Recorded } from './benchmark';
import { canPin } from './pinned';
import { median } from './recipe';
import { cliPath } from './spawn';

export const benchFinetuneUsage = `Usage: wordplay bench finetune [--runs 2] [--iters 12] [--warmup 2] [--batch-size 2] [--block-size 128] [--threads 2] [--lora-rank 8] [--modes full,lora] [--quiet-s 300]

Writes a SmolLM2-135M-shaped Llama folder (random weights, a BPE tokenizer trained on tiny
Shakespeare), prepares tiny Shakespeare with its tokenizer, and fine-tunes it for --iters steps
of --batch-size × --block-size tokens, full and with LoRA (rank --lora-rank on every
projection), with our trainer and with a plain transformers (+ PEFT) loop: --runs rounds, one
process at a time on the same cores with --threads threads, each after waiting up to --quiet-s
seconds for the machine's other processes to keep less than half a core busy. The last line is JSON: per mode and
side tokens/s over the steps after --warmup (the median of the runs' median steps, and the
fastest step of all), the median peak resident memory, the first loss and each run's figures;
tokens_ratio (of the medians), best_ratio (of the fastest steps) and memory_ratio, ours over
theirs.`;

type Mode = 'full' | 'lora';
type Side = 'ours' | 'theirs';

/** One run's figures. */
export interface RunFigures {
  tokens_per_s: number;
  best_tokens_per_s: number;
  peak_rss_mib: number | null;
  first_loss: number;
  last_loss: number;
  /** Cores the machine's other processes kept busy as it started; null where /proc cannot tell. */
  busy_before?: number | null;
}

interface Setup {
  threads: number;
  pinned: boolean;
}

const MIB = 1024 * 1024;

/** Tokens/s over the steps after `warmup` from their times in seconds: the median step's and
 *  the fastest step's. */
export function stepRates(tokensPerIter: number, dtS: number[], warmup: number) {
  const timed = dtS.slice(warmup);
  if (!timed.length) throw new UserError(`--iters must be more than --warmup (${warmup})`);
  return { tokens_per_s: tokensPerIter / median(timed)!, best_tokens_per_s: tokensPerIter / Math.min(...timed) };
}

/** The cores kept busy over the next `seconds` (/proc/stat); null where there is no /proc. */
async function busyCores(seconds = 3): Promise<number | null> {
  const read = () => {
    try {
      const ticks = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      return { total: ticks.reduce((a, b) => a + b, 0), idle: ticks[3] + (ticks[4] ?? 0) }; // idle, iowait
    } catch {
      return null;
    }
  };
  const a = read();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const b = read();
  if (!a || !b || b.total === a.total) return null;
  return (1 - (b.idle - a.idle) / (b.total - a.total)) * os.cpus().length;
}

/** Waits up to `limitS` seconds for the machine's other processes (nothing of this bench runs
 *  meanwhile) to keep less than half a core busy; the cores they keep busy then. */
async function quiet(limitS: number): Promise<number | null> {
  const until = Date.now() + limitS * 1000;
  let busy = await busyCores();
  while (busy !== null && busy >= 0.5 && Date.now() < until) {
    console.error(`finetune: waiting for the machine to quieten (${fixed(busy)} cores busy)`);
    busy = await busyCores(10);
  }
  return busy;
}

/** A process's peak resident memory (VmHWM) in MiB; null where /proc cannot tell. */
function peakRssMib(pid: number | undefined): number | null {
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmHWM:'));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** The trainer's Python with `args`, pinned to the first `threads` cores where it can be, with
 *  that many threads; its stdout, with stderr to `log`. */
function runPython(args: string[], setup: Setup, log: string, onPoll?: (pid: number | undefined) => void) {
  const inv = trainerInvocation(args, {
    ...process.env,
    OMP_NUM_THREADS: String(setup.threads),
    MKL_NUM_THREADS: String(setup.threads),
    WORDPLAY_SKIP_EXPORT: '1', // the export is not part of the figures
    WORDPLAY_STOP_WITH_PID: String(process.pid), // stops if this bench goes away
  });
  const cores = Array.from({ length: setup.threads }, (_, i) => i).join(',');
  // taskset execs the Python, so the child's pid is its own
  const [command, argv] = setup.pinned ? ['taskset', ['-c', cores, inv.command, ...inv.args]] : [inv.command, inv.args];
  const fd = fs.openSync(log, 'w');
  const child = spawn(command, argv, { env: inv.env, stdio: ['ignore', 'pipe', fd] });
  fs.closeSync(fd);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const timer = onPoll ? setInterval(() => onPoll(child.pid), 200) : undefined;
  return new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      onPoll?.(child.pid);
      if (code === 0) return resolve(stdout);
      const tail = fs.readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
      reject(
        new UserError(`python -m wordplay_trainer ${args.join(' ')} exited with ${code}; its last lines:\n${tail}`),
      );
    });
  });
}

/** Our trainer on the config: `wordplay train` as the CLI runs it, without the export. */
async function ours(configFile: string, runDir: string, setup: Setup, warmup: number): Promise<RunFigures> {
  const paths = runPaths(runDir);
  fs.mkdirSync(paths.root, { recursive: true });
  const follower = new EventFollower(paths.events);
  const steps: TrainEvent[] = [];
  let maxIters = Infinity;
  let tokensPerIter = 0;
  let latest: number | null = null; // VmHWM at the last poll the process was there for
  let peak: number | null = null;
  const poll = (pid: number | undefined) => {
    latest = peakRssMib(pid) ?? latest;
    for (const e of follower.poll()) {
      if (e.type === 'start') [maxIters, tokensPerIter] = [e.max_iters, e.tokens_per_iter];
      if (e.type !== 'train') continue;
      steps.push(e);
      if (e.iter >= maxIters) peak = latest; // before its evaluation and checkpoint
    }
  };
  await runPython(['train', '--config', configFile, '--run-dir', paths.root], setup, paths.log, poll);
  if (!readEvents(paths.events).some((e) => e.type === 'done' && e.reason === 'finished'))
    throw new UserError(`our run in ${paths.root} did not finish; see ${paths.log}`);
  return {
    ...stepRates(
      tokensPerIter,
      steps.map((e) => e.dt_ms / 1000),
      warmup,
    ),
    peak_rss_mib: peak,
    first_loss: steps[0].loss,
    last_loss: steps.at(-1)!.loss,
  };
}

/** The transformers (+ PEFT) loop on the same config (check/finetune_bench.py). */
async function theirs(configFile: string, log: string, setup: Setup, warmup: number): Promise<RunFigures> {
  const stdout = await runPython(['finetune-bench', 'reference', '--config', configFile], setup, log);
  const r = JSON.parse(stdout.trim().split('\n').pop()!);
  return {
    ...stepRates(r.tokens_per_iter, r.dt_s, warmup),
    peak_rss_mib: r.peak_rss_bytes / MIB,
    first_loss: r.losses[0],
    last_loss: r.losses.at(-1),
  };
}

/** The same config for both sides: the folder, the dataset, a constant learning rate, one
 *  evaluation batch and no sample (ours evaluates and checkpoints once, after the last step). */
function runConfig(
  mode: Mode,
  model: string,
  dataset: string,
  o: { iters: number; batch: number; block: number; rank: number },
) {
  return {
    data: { dataset },
    model: { block_size: o.block, dropout: 0 },
    train: {
      init_from: model,
      batch_size: o.batch,
      gradient_accumulation_steps: 1,
      max_iters: o.iters,
      eval_interval: o.iters,
      eval_iters: 1,
      log_interval: 1,
      sample_tokens: 0,
      keep_exports: 0,
      device: 'cpu',
      compile: 'false', // eager, as the reference loop runs
      lora: mode === 'lora' ? { rank: o.rank, alpha: 2 * o.rank, dropout: 0 } : { rank: null },
    },
    optimizer: {
      learning_rate: mode === 'lora' ? 2e-4 : 5e-5,
      min_lr: mode === 'lora' ? 2e-4 : 5e-5, // a constant rate
      warmup_iters: 0,
      decay_lr: false,
      weight_decay: 0.1,
      beta1: 0.9,
      beta2: 0.95,
      grad_clip: 1.0,
    },
  };
}

export async function benchFinetune(args: string[]): Promise<number> {
  const opts = parseOptions(
    args,
    {
      runs: { type: 'string' },
      iters: { type: 'string' },
      warmup: { type: 'string' },
      'batch-size': { type: 'string' },
      'block-size': { type: 'string' },
      threads: { type: 'string' },
      'lora-rank': { type: 'string' },
      modes: { type: 'string', default: 'full,lora' },
      'quiet-s': { type: 'string' },
    },
    benchFinetuneUsage,
  );
  const whole = (name: string, fallback: number, least: number) => {
    const n = numberOption(opts[name as keyof typeof opts] as string | undefined, name, fallback);
    if (!Number.isInteger(n) || n < least)
      throw new UserError(`--${name} must be a whole number of at least ${least}.`);
    return n;
  };
  const runs = whole('runs', 2, 1);
  const iters = whole('iters', 12, 2);
  const warmup = whole('warmup', 2, 0);
  const batch = whole('batch-size', 2, 1);
  const block = whole('block-size', 128, 8);
  const threads = whole('threads', 2, 1);
  const rank = whole('lora-rank', 8, 1);
  const quietS = whole('quiet-s', 300, 0);
  if (warmup >= iters) throw new UserError(`--iters (${iters}) must be more than --warmup (${warmup}).`);
  const modes = (opts.modes ?? '').split(',') as Mode[];
  if (!modes.length || modes.some((m) => m !== 'full' && m !== 'lora'))
    throw new UserError(`--modes must be full, lora or both ("full,lora"), not "${opts.modes}".`);
  const pinned = canPin() && os.availableParallelism() >= threads;
  if (!pinned) console.error('finetune: taskset or enough cores are missing: the runs are not pinned');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-finetune-'));
  const setup: Setup = { threads, pinned };
  try {
    const model = path.join(work, 'model');
    console.error('finetune: writing a SmolLM2-135M-shaped model with random weights ...');
    await runPython(['finetune-bench', 'model', '--out', model], setup, path.join(work, 'model.log'));
    const dataset = path.join(work, 'data');
    await prepareWith(model, dataset);
    const results: Record<string, unknown> = {};
    for (const mode of modes) {
      const configFile = path.join(work, `${mode}.wordplay.json`);
      const config = runConfig(mode, model, dataset, { iters, batch, block, rank });
      fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
      const figures: Record<Side, RunFigures[]> = { ours: [], theirs: [] };
      for (let round = 1; round <= runs; round++) {
        const order: Side[] = round % 2 ? ['ours', 'theirs'] : ['theirs', 'ours'];
        for (const side of order) {
          const busy = await quiet(quietS);
          console.error(`finetune: ${mode}, round ${round}/${runs}: ${side} ...`);
          const f =
            side === 'ours'
              ? await ours(configFile, path.join(work, `${mode}-ours-${round}`), setup, warmup)
              : await theirs(configFile, path.join(work, `${mode}-theirs-${round}.log`), setup, warmup);
          f.busy_before = busy;
          console.error(
            `finetune: ${mode}, ${side}: ${fixed(f.tokens_per_s)} tokens/s (fastest step ${fixed(f.best_tokens_per_s)}), peak ${f.peak_rss_mib === null ? '?' : int(f.peak_rss_mib)} MiB, loss ${fixed(f.first_loss, 4)} -> ${fixed(f.last_loss, 4)}`,
          );
          figures[side].push(f);
        }
      }
      const summary = (side: Side) => ({
        tokens_per_s: median(figures[side].map((f) => f.tokens_per_s)),
        best_tokens_per_s: Math.max(...figures[side].map((f) => f.best_tokens_per_s)),
        peak_rss_mib: median(figures[side].map((f) => f.peak_rss_mib)),
        first_loss: figures[side][0].first_loss,
        runs: figures[side],
      });
      const [o, t] = [summary('ours'), summary('theirs')];
      results[mode] = {
        ours: o,
        theirs: t,
        tokens_ratio: o.tokens_per_s! / t.tokens_per_s!,
        best_ratio: o.best_tokens_per_s / t.best_tokens_per_s,
        memory_ratio: o.peak_rss_mib === null || t.peak_rss_mib === null ? null : o.peak_rss_mib / t.peak_rss_mib,
      };
    }
    const result = {
      model: 'SmolLM2-135M-shaped, random weights',
      runs,
      iters,
      warmup,
      batch_size: batch,
      block_size: block,
      threads,
      lora_rank: rank,
      pinned,
      cpus: os.cpus().length,
      ...results,
    };
    printResult(result);
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** tiny Shakespeare encoded with the model folder's tokenizer: `wordplay prepare` as a person types it. */
async function prepareWith(model: string, out: string): Promise<void> {
  const args = [cliPath, 'prepare', '--input', 'shakespeare', '--tokenizer', model, '--out', out];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new UserError(`wordplay prepare --tokenizer ${model} exited with ${code}`);
}

// ---- in BENCHMARKS.md (bench/benchmark.ts)

const sides = { full: 'transformers', lora: 'transformers + PEFT' } as const;
const shape = (r: Recorded) =>
  `batch ${r.batch_size} × ${r.block_size} tokens, steps ${r.warmup + 1}–${r.iters} of ${r.runs} runs each, ${r.threads} threads${r.pinned ? '' : ', unpinned'}`;

const rows = (mode: Mode): Benchmark['rows'] => [
  {
    figure: `fine-tune tokens/s, SmolLM2-135M-shaped (random weights), ${mode === 'full' ? 'full' : 'LoRA'}, CPU: ours over ${sides[mode]}`,
    goal: '≥ 1.0× (#29)',
    value: (r) => {
      const m = r[mode];
      const lora = mode === 'lora' ? `, rank ${r.lora_rank} on every projection` : '';
      return (
        `${fixed(m.best_ratio, 2)}× by the fastest step, which the machine’s other load can only slow (ours ${fixed(m.ours.best_tokens_per_s)}, ${sides[mode]} ${fixed(m.theirs.best_tokens_per_s)} tokens/s), ` +
        `${fixed(m.tokens_ratio, 2)}× by the median (${fixed(m.ours.tokens_per_s)} and ${fixed(m.theirs.tokens_per_s)}); ${shape(r)}${lora}`
      );
    },
    met: (r) => r[mode].best_ratio >= 1,
  },
  {
    figure: `the same: peak resident memory (VmHWM), ours over ${sides[mode]}`,
    goal: '≤ 1.0× (#29)',
    value: (r) =>
      r[mode].memory_ratio === null
        ? 'n/a: no /proc here'
        : `${fixed(r[mode].memory_ratio, 2)}× (ours ${int(r[mode].ours.peak_rss_mib)} MiB, ${sides[mode]} ${int(r[mode].theirs.peak_rss_mib)} MiB)`,
    met: (r) => r[mode].memory_ratio !== null && r[mode].memory_ratio <= 1,
  },
];

export const benchmarks: Benchmark[] = [
  {
    name: 'finetune',
    args: ['bench', 'finetune', '--runs', '2'],
    rows: [...rows('full'), ...rows('lora')],
  },
];
