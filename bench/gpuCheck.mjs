// The GPU check's report in BENCHMARKS.md. `npm run gpu-check` (or, on a machine without
// Node.js, `python -m wordplay_trainer gpu-check --out bench/gpu-check.json`) writes
// bench/gpu-check.json (schemas/gpu-check.schema.json); `npm run bench` renders it here: its
// `bench training` results fill the GPU training rows of the table, and the whole check is the
// "GPU check" section. A dry run (`--dry-run`: the same steps on the CPU at toy sizes) is never
// rendered as GPU figures: the section then says the check has not run, as it does when there is
// no report. The figures are one short run of each step, as the section says.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const gpuCheckPath = path.join(root, 'bench', 'gpu-check.json');
const COMMANDS =
  '`npm run gpu-check` (or `python -m wordplay_trainer gpu-check --out bench/gpu-check.json` on a machine without Node.js)';

/** bench/gpu-check.json, or null when there is none. */
export function readGpuCheck(file = gpuCheckPath) {
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
}

/** The report, when it holds GPU figures: present, from the format this code reads, and no dry run. */
const real = (report) =>
  report?.format === 'wordplay-gpu-check' && report.version === 1 && report.dry_run === false ? report : null;

/**
 * `results` (bench/results.json's entries by benchmark name) with each benchmark that names a
 * `gpuCheck` step taking that step's `bench training` result, unless `npm run bench` measured
 * the benchmark itself later. The results themselves are left as they were.
 */
export function withGpuCheck(results, benchmarks, report) {
  const check = real(report);
  if (!check) return results;
  const out = { ...results };
  for (const b of benchmarks) {
    const step = b.gpuCheck && check.steps[b.gpuCheck];
    const own = results[b.name];
    if (step?.status !== 'passed' || (own?.result && Date.parse(own.date) > Date.parse(check.date))) continue;
    out[b.name] = { result: step.result, command: check.command, machine: check.machine, date: check.date, load: null };
  }
  return out;
}

// --- the section -------------------------------------------------------------------------------

const int = (x) => Math.round(x).toLocaleString('en-US');
const fixed = (x, digits = 1) => Number(x).toFixed(digits);
const percent = (x) => (x === null ? 'n/a (the GPU’s peak is unknown)' : `${fixed(100 * x)}%`);
const cell = (text) =>
  String(text)
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ');

const training = (s) =>
  `medians of ${s.timed_train_events} train events after the first: ${int(s.tokens_per_s)} tokens/s, MFU ${percent(s.mfu)}; ` +
  `loss ${fixed(s.first_loss, 3)} → ${fixed(s.last_loss, 3)}, val ${s.val_loss === null ? '—' : fixed(s.val_loss, 3)}`;
const bench = (s) =>
  `median of ${s.result.iters} iterations after ${s.result.warmup_iters} warm-up: ${int(s.result.tokens_per_s)} tokens/s, MFU ${percent(s.result.mfu)}; ` +
  `${s.result.dtype}, ${s.result.compile ? 'compiled' : 'not compiled'}, ${s.result.data === 'synthetic' ? 'random token ids' : 'tiny Shakespeare'}`;

/** Each step: its row's label, its figures when it passed, and its goal with `met` where it has one. */
const STEPS = [
  {
    name: 'environment',
    label: () => 'environment',
    figures: (s, r) =>
      `${r.machine.gpus.join(', ')}; peak ${s.peak_flops === null ? 'unknown (not in schemas/gpu-peaks.json: no MFU)' : `${fixed(s.peak_flops / 1e12, 0)} TFLOP/s bf16`}; ` +
      `PyTorch ${r.machine.torch}, CUDA ${r.machine.cuda}`,
  },
  {
    name: 'dataset',
    label: () => 'tiny Shakespeare, char-level, prepared from `corpus/`',
    figures: (s) => `${int(s.characters)} characters, vocabulary ${s.vocab_size}`,
  },
  {
    name: 'train',
    label: (s) =>
      `train \`shakespeare-char\`${s.iters ? ` for ${s.iters} steps` : ''}, bf16 autocast, torch.compile (\`wordplay_trainer train\`)`,
    figures: (s) => `${training(s)}; ${s.dtype}, ${s.compile ? 'compiled' : 'not compiled'}, ${s.device}`,
  },
  {
    name: 'resume',
    label: () => 'resume that run (`train.init_from=resume`)',
    figures: (s) =>
      `started at iteration ${int(s.resumed_at)}, the checkpoint's; first loss after it ${fixed(s.loss_after_resume, 3)} ` +
      `(before ${fixed(s.loss_before_resume, 3)}, at the run's start ${fixed(s.loss_at_start, 3)}); to iteration ${int(s.iters)}`,
  },
  {
    name: 'export',
    label: () => 'export + ONNX parity: onnxruntime (CPU) against PyTorch (CPU, float32), the GPU-trained model',
    figures: (s) =>
      `max |Δ logit| ${s.max_abs_diff.toExponential(1)} over ${s.positions} positions (a ${s.prompt_tokens}-token prefill, then cached steps); ` +
      `top-1 agreement ${fixed(100 * s.top1_agreement)}%`,
    goal: (s) =>
      s.tolerance === undefined
        ? '≤ 1e-4 of the largest logit'
        : `≤ ${s.tolerance.toExponential(1)} (1e-4 of the largest logit, ${fixed(s.max_abs_logit, 1)})`,
    met: (s) => s.max_abs_diff <= s.tolerance,
  },
  { name: 'bench_shakespeare_char', label: () => '`bench training`, `shakespeare-char`', figures: bench },
  {
    name: 'bench_gpt2_124m',
    label: () => '`bench training`, `gpt2-124m` (block 1024)',
    figures: bench,
    goal: '≥ 45% MFU on one H100, bf16, compiled (#3)',
    met: (s) => s.result.mfu !== null && s.result.mfu >= 0.45,
  },
  {
    name: 'distributed',
    label: () => '2 processes (torchrun, NCCL)',
    figures: (s) => `${training(s)}; ${s.world_size} processes, ${s.backend}`,
  },
];

function stepRow(step, s, report) {
  const goalOf = (g) => (typeof g === 'function' ? g(s) : (g ?? '—'));
  if (!s) return `| ${step.label({})} | not in this report | — | ${goalOf(step.goal)} | — |`;
  const status = s.status === 'passed' ? 'passed' : s.status === 'failed' ? '**failed**' : 'skipped';
  const value =
    s.status === 'passed'
      ? step.figures(s, report)
      : s.status === 'failed'
        ? `${s.error}${s.stderr_tail ? ' (its stderr: bench/gpu-check.json)' : ''}`
        : s.reason;
  const met = s.status !== 'passed' ? '—' : step.met ? (step.met(s) ? 'met' : '**not met**') : '—';
  return `| ${cell(step.label(s))} | ${status}, ${fixed(s.seconds)} s | ${cell(value)} | ${cell(goalOf(step.goal))} | ${met} |`;
}

/** The GPU check section of BENCHMARKS.md (the part between its markers). */
export function gpuCheckSection(report) {
  const check = real(report);
  if (!check) {
    return [
      `The GPU check has not run yet: run ${COMMANDS}.`,
      ...(report?.dry_run
        ? [
            '',
            `(\`bench/gpu-check.json\` holds a dry run, from \`${report.command}\` on ${report.date.slice(0, 10)}: the steps on the CPU at toy sizes, no GPU's figures.)`,
          ]
        : []),
    ].join('\n');
  }
  const m = check.machine;
  const verdict = check.passed ? 'Every step that ran passed' : '**Some steps failed**';
  const whole = `| the whole check | ${check.passed ? 'passed' : '**failed**'} | ${fixed(check.seconds)} s | < ${fixed(check.budget_s / 60, 0)} min on one GPU (#18) | ${check.seconds < check.budget_s && check.passed ? 'met' : '**not met**'} |`;
  return [
    `From \`${check.command}\`, ${check.date.slice(0, 10)}, on **${m.hostname}**: ${m.gpus.length ? m.gpus.join(', ') : 'no GPU'}; ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, ${m.os}; ` +
      `Python ${m.python}, PyTorch ${m.torch}, CUDA ${m.cuda}. ${verdict}. Each step ran once, short (a few hundred steps of training, ` +
      'a few timed iterations of each benchmark): the figures are a check, not medians; the `bench training` ones also fill the GPU rows of the table above. ' +
      '`gpt2-124m` trains on random GPT-2 token ids there (no OpenWebText offline), which costs the same FLOPs per token.',
    '',
    '| step | result | figures | goal (issue) | met |',
    '|---|---|---|---|---|',
    ...STEPS.map((step) => stepRow(step, check.steps[step.name], check)),
    whole,
  ].join('\n');
}
