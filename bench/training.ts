// `wordplay bench training --config <preset|file> [--iters N] [--warmup N] [--set k=v ...]`:
// runs the trainer's own benchmark (Python + PyTorch only, so the same command runs on a GPU
// box without Node) and prints its JSON on one line.
import { spawn } from 'node:child_process';
import { UserError } from '../src/core/common/errors';
import { trainerInvocation } from '../src/core/common/pythonEnv';
import { parseOptions } from '../src/core/common/options';
import { fixed, int, percent, type Benchmark, type Recorded } from './benchmark';

export const benchTrainingUsage = `Usage: wordplay bench training --config <preset|file> [--iters N] [--warmup N] [--set group.key=value ...]

Training tokens/s and MFU (medians after warm-up) for a config; random tokens stand in for a
missing dataset. The same as: python -m wordplay_trainer bench --config <preset> [--iters N]`;

export async function benchTraining(args: string[]): Promise<number> {
  const opts = parseOptions(
    args,
    {
      config: { type: 'string', default: 'shakespeare-char-cpu' },
      iters: { type: 'string' },
      warmup: { type: 'string' },
      set: { type: 'string', multiple: true },
    },
    benchTrainingUsage,
  );
  const pyArgs = ['bench', '--config', opts.config ?? 'shakespeare-char-cpu'];
  if (opts.iters) pyArgs.push('--iters', opts.iters);
  if (opts.warmup) pyArgs.push('--warmup', opts.warmup);
  for (const s of opts.set ?? []) pyArgs.push('--set', s);
  const inv = trainerInvocation(pyArgs);
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve, reject) => {
    const child = spawn(inv.command, inv.args, { env: inv.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', (err) =>
      reject(new UserError(`could not run ${inv.command}: ${err.message}. Run "wordplay setup".`)),
    );
    child.on('close', (c) => resolve({ code: c ?? 1, stdout: out }));
  });
  if (code !== 0) return code;
  try {
    console.log(JSON.stringify(JSON.parse(stdout)));
  } catch {
    process.stdout.write(stdout);
  }
  return 0;
}

// ---- in BENCHMARKS.md (bench/benchmark.ts)

const trainingValue = (r: Recorded) =>
  `${int(r.tokens_per_s)} tokens/s (median of ${r.iters} iterations after ${r.warmup_iters} warm-up; ${r.device}, ${r.dtype}, ${r.compile ? 'compiled' : 'not compiled'}, ${r.data === 'synthetic' ? 'random tokens' : 'the preset’s dataset'})`;
const gpuMfu = (r: Recorded) => (r.mfu === null ? `n/a: no peak known for ${r.device}` : percent(r.mfu));

// the CPU's peak is measured (a 1024² matmul, kept per machine: common/cpu_peak.py)
const cpuMfu = (r: Recorded) =>
  r.mfu === null
    ? 'n/a: no peak known'
    : `${percent(r.mfu)} of ${fixed(r.peak_flops / 1e9, 0)} GFLOP/s (${r.peak_source}), ${r.threads} thread(s)`;

/** A CPU preset's tokens/s and MFU (#30: the CPU presets' MFU). */
const cpuTraining = (name: string, preset: string): Benchmark => ({
  name,
  args: ['bench', 'training', '--config', preset, '--iters', '50', '--warmup', '10'],
  rows: [
    { figure: `training tokens/s, \`${preset}\`, CPU`, goal: '—', value: trainingValue },
    { figure: `training MFU, \`${preset}\`, CPU`, goal: '—', value: cpuMfu },
  ],
});

export const benchmarks: Benchmark[] = [
  cpuTraining('training', 'shakespeare-char-cpu'),
  cpuTraining('training-nanogpt-cpu', 'nanogpt-shakespeare-char-cpu'),
  {
    name: 'training-shakespeare-gpu',
    gpu: true,
    gpuCheck: 'bench_shakespeare_char',
    args: ['bench', 'training', '--config', 'shakespeare-char', '--set', 'train.device=cuda'],
    rows: [
      { figure: 'training tokens/s, `shakespeare-char`, GPU', goal: '—', value: trainingValue },
      { figure: 'training MFU, `shakespeare-char`, GPU', goal: '—', value: gpuMfu },
    ],
  },
  {
    name: 'training-gpt2-gpu',
    gpu: true,
    gpuCheck: 'bench_gpt2_124m',
    args: ['bench', 'training', '--config', 'gpt2-124m', '--set', 'train.device=cuda'],
    rows: [
      { figure: 'training tokens/s, `gpt2-124m` (block 1024), GPU', goal: '—', value: trainingValue },
      {
        figure: 'training MFU, `gpt2-124m`, GPU',
        goal: '≥ 45% on one H100, bf16, compiled (#3)',
        value: gpuMfu,
        met: (r) => r.mfu !== null && r.mfu >= 0.45,
      },
    ],
  },
];
