// The GPU check's report in BENCHMARKS.md (bench/gpuCheck.mjs): a report from a GPU becomes
// the section's rows and fills the table's GPU training rows; a dry run (the CPU at toy sizes)
// or no report at all becomes the plain "has not run yet" sentence and fills nothing. The
// report here is hand-made, held to schemas/gpu-check.schema.json, which the Python side's
// dry run (trainer/tests/test_gpucheck.py) is held to as well.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import Ajv from 'ajv';
import { packageRoot } from '../../src/core/common/paths';

type Results = Record<string, Record<string, unknown>>;
/** bench/gpuCheck.mjs, plain JavaScript for Node without tsx (`npm run bench`), so untyped. */
interface GpuCheck {
  gpuCheckSection(report: unknown): string;
  readGpuCheck(): unknown;
  withGpuCheck(results: Results, benchmarks: unknown[], report: unknown): Results;
}
let gpuCheckSection: GpuCheck['gpuCheckSection'];
let readGpuCheck: GpuCheck['readGpuCheck'];
let withGpuCheck: GpuCheck['withGpuCheck'];
before(async () => {
  const module: GpuCheck = await import(pathToFileURL(path.join(packageRoot, 'bench', 'gpuCheck.mjs')).href);
  ({ gpuCheckSection, readGpuCheck, withGpuCheck } = module);
});

const validReport = new Ajv({ strict: false }).compile(
  JSON.parse(fs.readFileSync(path.join(packageRoot, 'schemas', 'gpu-check.schema.json'), 'utf8')),
);

const machine = {
  hostname: 'gpu-1',
  cpu: 'Intel(R) Xeon(R) Platinum 8480+',
  cores: 52,
  memory_gib: 442,
  os: 'Linux 6.8.0',
  python: '3.11.7',
  torch: '2.11.0+cu128',
  cuda: '12.8',
  gpus: ['NVIDIA H100 80GB HBM3'],
};
const training = {
  device: 'cuda:0 (NVIDIA H100 80GB HBM3)',
  dtype: 'bfloat16',
  world_size: 1,
  n_params: 10_745_088,
  tokens_per_iter: 16_384,
  iters: 200,
  tokens_per_s: 1_234_567,
  dt_ms: 13.3,
  mfu: 0.123,
  timed_train_events: 19,
  first_loss: 3.312,
  last_loss: 1.954,
  first_train_iter: 10,
  val_loss: 1.987,
};
const benchResult = (config: string, tokensPerS: number, mfu: number, data: string) => ({
  config,
  device: 'cuda:0 (NVIDIA H100 80GB HBM3)',
  dtype: 'bfloat16',
  compile: true,
  torch: '2.11.0+cu128',
  data,
  n_params: 85_000_000,
  tokens_per_iter: 491_520,
  warmup_iters: 3,
  iters: 10,
  dt_ms_median: 1000,
  tokens_per_s: tokensPerS,
  mfu,
  peak_flops: 989e12,
});
const report = {
  format: 'wordplay-gpu-check',
  version: 1,
  dry_run: false,
  command: 'python -m wordplay_trainer gpu-check',
  date: '2026-12-10T09:00:00Z',
  seconds: 301.5,
  budget_s: 480,
  passed: true,
  machine,
  steps: {
    environment: {
      status: 'passed',
      seconds: 1.2,
      cuda_available: true,
      gpu_count: 1,
      gpu: machine.gpus[0],
      peak_flops: 989e12,
      bf16_supported: true,
    },
    dataset: { status: 'passed', seconds: 0.4, characters: 1_115_394, vocab_size: 65, train_tokens: 1_003_854 },
    train: { status: 'passed', seconds: 71.5, ...training, compile: true, start_iter: 0 },
    resume: {
      status: 'passed',
      seconds: 40.1,
      ...training,
      iters: 250,
      first_loss: 1.961,
      last_loss: 1.902,
      first_train_iter: 210,
      resumed_at: 200,
      checkpoint_iter: 250,
      loss_at_start: 3.312,
      loss_before_resume: 1.954,
      loss_after_resume: 1.961,
    },
    export: {
      status: 'passed',
      seconds: 12.0,
      max_abs_diff: 3.1e-5,
      max_abs_logit: 14.2,
      tolerance: 1.42e-3,
      positions: 65,
      prompt_tokens: 128,
      top1_agreement: 1,
      onnx_bytes: 43_000_000,
    },
    bench_shakespeare_char: {
      status: 'passed',
      seconds: 50.2,
      result: benchResult('shakespeare-char', 1_500_000, 0.15, 'dataset'),
      sets: [],
    },
    bench_gpt2_124m: {
      status: 'passed',
      seconds: 95.0,
      result: benchResult('gpt2-124m', 480_000, 0.47, 'synthetic'),
      sets: [],
    },
    distributed: { status: 'skipped', seconds: 0, reason: '1 GPU here: 2 processes with NCCL need 2 GPUs' },
  },
};
const dryRun = { ...report, dry_run: true, command: 'python -m wordplay_trainer gpu-check --dry-run' };
const benchmarks = [
  { name: 'training', rows: [] },
  { name: 'training-shakespeare-gpu', gpuCheck: 'bench_shakespeare_char', rows: [] },
  { name: 'training-gpt2-gpu', gpuCheck: 'bench_gpt2_124m', rows: [] },
];
const cpuEntry = {
  result: { tokens_per_s: 4000 },
  command: 'wordplay bench training',
  machine: { ...machine, gpus: [] },
  date: '2026-12-02T00:00:00Z',
  load: [1, 2],
};
const results: Results = {
  training: cpuEntry,
  'training-shakespeare-gpu': {
    notMeasured: 'no GPU on this machine',
    machine: cpuEntry.machine,
    date: '2026-11-24T00:00:00Z',
  },
  'training-gpt2-gpu': {
    notMeasured: 'no GPU on this machine',
    machine: cpuEntry.machine,
    date: '2026-11-24T00:00:00Z',
  },
};
const NOT_RUN = 'The GPU check has not run yet: run `npm run gpu-check`';

test('the hand-made reports are what the Python side writes', () => {
  assert.ok(validReport(report), JSON.stringify(validReport.errors));
  assert.ok(validReport(dryRun), JSON.stringify(validReport.errors));
  assert.ok(
    !validReport({ ...report, steps: { ...report.steps, train: { status: 'failed', seconds: 1 } } }),
    'a failed step says why',
  );
});

test('a report from a GPU becomes one row a step, with its figures and goals', () => {
  const section = gpuCheckSection(report);
  const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| step '));
  assert.equal(rows.length, 9, section);
  assert.match(section, /on \*\*gpu-1\*\*: NVIDIA H100 80GB HBM3; .*CUDA 12\.8/);
  const row = (label: string) => rows.find((r) => r.includes(label)) ?? assert.fail(`no row ${label}:\n${section}`);
  assert.match(row('| environment'), /peak 989 TFLOP\/s bf16/);
  assert.match(
    row('train `shakespeare-char` for 200 steps'),
    /passed, 71\.5 s \| medians of 19 train events after the first: 1,234,567 tokens\/s, MFU 12\.3%; loss 3\.312 → 1\.954, val 1\.987; bfloat16, compiled/,
  );
  assert.match(
    row('resume'),
    /started at iteration 200, the checkpoint's; first loss after it 1\.961 \(before 1\.954, at the run's start 3\.312\); to iteration 250/,
  );
  assert.match(
    row('export'),
    /max \\\|Δ logit\\\| 3\.1e-5 over 65 positions.*\| ≤ 1\.4e-3 \(1e-4 of the largest logit, 14\.2\) \| met \|$/,
  );
  assert.match(
    row('`gpt2-124m`'),
    /480,000 tokens\/s, MFU 47\.0%.*random token ids \| ≥ 45% MFU on one H100, bf16, compiled \(#3\) \| met \|$/,
  );
  assert.match(row('2 processes'), /\| skipped, 0\.0 s \| 1 GPU here: 2 processes with NCCL need 2 GPUs \|/);
  assert.match(row('the whole check'), /\| passed \| 301\.5 s \| < 8 min on one GPU \(#18\) \| met \|$/);
  assert.ok(!section.includes(NOT_RUN));
});

test('a failed step shows its error in one cell; the check is then not met', () => {
  const failed = {
    ...report,
    passed: false,
    steps: {
      ...report.steps,
      export: {
        status: 'failed',
        seconds: 3,
        error: 'export exited with 1 | see\nits stderr',
        stderr_tail: 'Traceback …',
      },
    },
  };
  assert.ok(validReport(failed), JSON.stringify(validReport.errors));
  const section = gpuCheckSection(failed);
  assert.match(
    section,
    /\| \*\*failed\*\*, 3\.0 s \| export exited with 1 \\\| see its stderr \(its stderr: bench\/gpu-check\.json\) \|/,
  );
  assert.match(section, /\*\*Some steps failed\*\*/);
  assert.match(section, /\| the whole check \| \*\*failed\*\* \| 301\.5 s \| .* \| \*\*not met\*\* \|$/m);
});

test('its bench training results fill the GPU rows of the table, unless bench measured them later', () => {
  const shown = withGpuCheck(results, benchmarks, report);
  assert.deepEqual(shown['training-gpt2-gpu'], {
    result: report.steps.bench_gpt2_124m.result,
    command: 'python -m wordplay_trainer gpu-check',
    machine,
    date: report.date,
    load: null,
  });
  assert.deepEqual(shown['training-shakespeare-gpu'].result, report.steps.bench_shakespeare_char.result);
  assert.equal(shown.training, cpuEntry, 'rows without a GPU check step are left alone');
  assert.equal(
    results['training-gpt2-gpu'].notMeasured,
    'no GPU on this machine',
    'results.json itself is not changed',
  );

  const later = { ...cpuEntry, machine, date: '2026-12-11T00:00:00Z' };
  assert.equal(
    withGpuCheck({ ...results, 'training-gpt2-gpu': later }, benchmarks, report)['training-gpt2-gpu'],
    later,
  );
  const gpt2Failed = {
    ...report,
    steps: { ...report.steps, bench_gpt2_124m: { status: 'failed', seconds: 150, error: 'killed' } },
  };
  assert.equal(withGpuCheck(results, benchmarks, gpt2Failed)['training-gpt2-gpu'], results['training-gpt2-gpu']);
});

test('a dry run, or no report, is never shown as GPU figures', () => {
  for (const none of [null, dryRun]) {
    assert.equal(withGpuCheck(results, benchmarks, none), results);
    const section = gpuCheckSection(none);
    assert.ok(section.startsWith(NOT_RUN), section);
    assert.ok(
      section.includes(
        '`python -m wordplay_trainer gpu-check --out bench/gpu-check.json` on a machine without Node.js',
      ),
    );
    assert.ok(!/tokens\/s|MFU|\|/.test(section), section);
  }
  assert.match(gpuCheckSection(dryRun), /holds a dry run, from `python -m wordplay_trainer gpu-check --dry-run`/);
});

test('BENCHMARKS.md shows what bench/gpu-check.json holds (`npm run bench -- --render` after a new report)', () => {
  const text = fs.readFileSync(path.join(packageRoot, 'BENCHMARKS.md'), 'utf8');
  const begin = text.indexOf('\n', text.indexOf('from bench/gpu-check.json: rerun the GPU check')) + 1;
  const end = text.indexOf('<!-- end of the GPU check -->');
  assert.ok(begin > 0 && end > begin, 'BENCHMARKS.md lacks the GPU check markers');
  assert.equal(text.slice(begin, end).trim(), gpuCheckSection(readGpuCheck()));
});
