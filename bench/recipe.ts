// `wordplay bench recipe`: two training recipes side by side on the CPU, nanoGPT's own
// (preset nanogpt-shakespeare-char-cpu) against ours (shakespeare-char-cpu), each read from its
// preset when the bench runs. Tiny Shakespeare (char-level) is prepared into a temporary folder;
// each round starts both trainers at once, each pinned to its own core (taskset) with one
// thread, the cores swapped every round. Each run's figures come from its events.jsonl, timed
// from its start event; the summary is the medians per preset and the candidate's time to the
// target loss over the baseline's.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/core/common/errors';
import { prepare } from '../src/core/prepare/prepare';
import { shakespearePath } from '../src/core/prepare/shakespeare';
import { type EvalEvent, type RunEvent } from '../src/core/run/events';
import { numberOption, parseOptions } from '../src/core/common/options';
import { planSummary, sizeRun } from '../src/core/train/trainFor';
import { canPin, trainPinned } from './pinned';
import { fixed, int, printResult, type Benchmark, type Recorded } from './benchmark';

export const benchRecipeUsage = `Usage: wordplay bench recipe [--baseline nanogpt-shakespeare-char-cpu] [--candidate shakespeare-char-cpu] [--runs 2] [--target 1.88] [--budget-s 180] [--set group.key=value ...] [--candidate-set group.key=value ...] [--candidate-minutes M]

Trains both configs (presets or files) on tiny Shakespeare (char-level), --runs rounds, both at
once in each round, each pinned to its own core with one thread (cores swapped every round; one
after the other, unpinned, where taskset or a second core is missing). --set applies to both,
--candidate-set to the candidate alone (model.skip_connections=true: one option against the
same preset). --candidate-minutes makes the candidate Train for…'s plan for M minutes on this
dataset, sized for one thread (the size command, as wordplay train --dataset --minutes runs it).
The last line is JSON: per run and as medians per preset, from the start event, wall_s,
target_iter and target_s (the first eval at val loss <= --target, null if never),
val_at_budget (the last eval by --budget-s), final_val, n_params (every parameter the model
holds: architectures differ in what nanoGPT's count leaves out); ratio (the candidate's
target_s over the baseline's, or over its wall_s where it never reaches the target: see
baseline_reference) and candidate_val_at_baseline_wall.`;

// --- the figures (pure) ------------------------------------------------------------------------

export interface EvalPoint {
  /** Seconds from the run's start event. */
  s: number;
  iter: number;
  val_loss: number;
}

export interface RunFigures {
  n_params: number;
  wall_s: number;
  target_iter: number | null;
  target_s: number | null;
  val_at_budget: number | null;
  final_val: number | null;
  evals: EvalPoint[];
}

/** The val loss of the last eval at or before `s` seconds; null when there is none. */
export const valAt = (evals: EvalPoint[], s: number): number | null =>
  evals.filter((e) => e.s <= s).at(-1)?.val_loss ?? null;

/** One run's figures from its events, timed from its start event. */
export function runFigures(events: RunEvent[], target: number, budgetS: number): RunFigures {
  const start = events.find((e) => e.type === 'start');
  const done = events.find((e) => e.type === 'done');
  if (!start || !done) throw new UserError(`the run has no ${start ? 'done' : 'start'} event`);
  const evals = events
    .filter((e): e is EvalEvent => e.type === 'eval')
    .map((e) => ({ s: e.time - start.time, iter: e.iter, val_loss: e.val_loss }));
  const hit = evals.find((e) => e.val_loss <= target);
  return {
    n_params: start.n_params_total ?? start.n_params,
    wall_s: done.time - start.time,
    target_iter: hit?.iter ?? null,
    target_s: hit?.s ?? null,
    val_at_budget: valAt(evals, budgetS),
    final_val: evals.at(-1)?.val_loss ?? null,
    evals,
  };
}

/** The median, the mean of the middle two for an even count. A missing figure (null: the target
 *  never reached, no eval yet) counts as worse than any, so the median is null when it is one. */
export function median(xs: (number | null)[]): number | null {
  const sorted = xs.map((x) => x ?? Infinity).sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const m = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return Number.isFinite(m) ? m : null;
}

export function summarize(runs: RunFigures[]) {
  const of = (key: 'wall_s' | 'target_iter' | 'target_s' | 'val_at_budget' | 'final_val') =>
    median(runs.map((r) => r[key]));
  return {
    n_params: runs[0]?.n_params ?? null,
    wall_s: of('wall_s'),
    target_iter: of('target_iter'),
    target_s: of('target_s'),
    val_at_budget: of('val_at_budget'),
    final_val: of('final_val'),
  };
}

/** The candidate against the baseline: its median time to the target over the baseline's (or
 *  over the baseline's median wall time where the baseline never gets there), and its val loss
 *  at the baseline's median wall time (per run, then the median). */
export function compare(baseline: RunFigures[], candidate: RunFigures[]) {
  const base = summarize(baseline);
  const byTarget = base.target_s !== null;
  const reference = byTarget ? base.target_s : base.wall_s;
  const candidateS = summarize(candidate).target_s;
  const wall = base.wall_s;
  return {
    ratio: candidateS === null || !reference ? null : candidateS / reference,
    baseline_reference: byTarget ? ('time to target' as const) : ('whole run' as const),
    candidate_val_at_baseline_wall: wall === null ? null : median(candidate.map((r) => valAt(r.evals, wall))),
  };
}

// --- the runs -----------------------------------------------------------------------------------

interface Slot {
  role: 'baseline' | 'candidate';
  config: string;
  core: number | null;
  runDir: string;
}

/** Train for…'s plan for `minutes` on the dataset, sized for one thread, as a config file. */
async function trainForCandidate(work: string, dataset: string, minutes: number) {
  const env = { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const plan = await sizeRun({ dataset, minutes, device: 'cpu', env, onLine: (l) => console.error(`recipe: ${l}`) });
  if (!plan) throw new UserError('sizing the candidate was stopped');
  const file = path.join(work, 'train-for.json');
  fs.writeFileSync(file, JSON.stringify(plan.config));
  const summary = { minutes, shape: plan.shape, params_total: plan.params_total, steps: plan.steps };
  console.error(`recipe: the candidate is ${planSummary(plan)}`);
  return { file, summary };
}

export async function benchRecipe(args: string[]): Promise<number> {
  const opts = parseOptions(
    args,
    {
      baseline: { type: 'string', default: 'nanogpt-shakespeare-char-cpu' },
      candidate: { type: 'string', default: 'shakespeare-char-cpu' },
      runs: { type: 'string' },
      target: { type: 'string' },
      'budget-s': { type: 'string' },
      set: { type: 'string', multiple: true },
      'candidate-set': { type: 'string', multiple: true },
      'candidate-minutes': { type: 'string' },
    },
    benchRecipeUsage,
  );
  const runs = numberOption(opts.runs, 'runs', 2);
  if (!Number.isInteger(runs) || runs < 1) throw new UserError('--runs must be a whole number of at least 1.');
  const target = numberOption(opts.target, 'target', 1.88);
  const budgetS = numberOption(opts['budget-s'], 'budget-s', 180);
  const configs: Record<'baseline' | 'candidate', string> = {
    baseline: opts.baseline ?? 'nanogpt-shakespeare-char-cpu',
    candidate: opts.candidate ?? 'shakespeare-char-cpu',
  };
  const pinned = canPin();
  if (!pinned)
    console.error('recipe: taskset or a second core is missing: the two configs run one after the other, unpinned');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-recipe-'));
  try {
    const dataset = await prepare({ input: await shakespearePath(), tokenizer: 'char', out: path.join(work, 'data') });
    const sets = [`data.dataset=${dataset.dir}`, ...(opts.set ?? [])];
    const candidateSets = opts['candidate-set'] ?? [];
    const plan = opts['candidate-minutes']
      ? await trainForCandidate(work, dataset.dir, numberOption(opts['candidate-minutes'], 'candidate-minutes', 0.5))
      : null;
    if (plan) configs.candidate = plan.file;
    type Run = RunFigures & { round: number; core: number | null };
    const figures: Record<'baseline' | 'candidate', Run[]> = { baseline: [], candidate: [] };
    for (let round = 1; round <= runs; round++) {
      const slots: Slot[] = (['baseline', 'candidate'] as const).map((role, i) => ({
        role,
        config: configs[role],
        core: pinned ? (i + round - 1) % 2 : null,
        runDir: path.join(work, `${role}-${round}`),
      }));
      const where = pinned
        ? `baseline on core ${slots[0].core}, candidate on core ${slots[1].core}`
        : 'one after the other';
      console.error(`recipe: round ${round}/${runs}: ${configs.baseline} against ${configs.candidate}, ${where}`);
      const abort = new AbortController();
      let failure: unknown;
      const go = (slot: Slot) =>
        trainPinned(
          { ...slot, label: slot.role, sets: slot.role === 'candidate' ? [...sets, ...candidateSets] : sets },
          { signal: abort.signal, say: (line) => console.error(`recipe: round ${round}: ${line}`) },
        ).catch((err: unknown) => {
          failure ??= err;
          abort.abort(); // the other run of the round is of no use now
          return [];
        });
      const events = pinned ? await Promise.all(slots.map(go)) : [await go(slots[0]), await go(slots[1])];
      if (failure) throw failure;
      slots.forEach((slot, i) =>
        figures[slot.role].push({ round, core: slot.core, ...runFigures(events[i], target, budgetS) }),
      );
    }

    const preset = (role: 'baseline' | 'candidate') => ({
      config: configs[role],
      sets: role === 'candidate' ? candidateSets : [],
      ...summarize(figures[role]),
      runs: figures[role].map(({ evals: _evals, ...rest }) => rest),
    });
    const result = {
      ...(plan && { candidate_plan: plan.summary }),
      target,
      budget_s: budgetS,
      runs,
      pinned,
      threads: 1,
      cpus: os.cpus().length,
      baseline: preset('baseline'),
      candidate: preset('candidate'),
      ...compare(figures.baseline, figures.candidate),
    };
    const num = (x: number | null, digits: number) => (x === null ? '—' : x.toFixed(digits));
    for (const role of ['baseline', 'candidate'] as const) {
      const p = result[role];
      console.error(
        `${role} ${p.config}: ${num((p.n_params ?? 0) / 1e6, 2)}M params, wall ${num(p.wall_s, 0)} s, val <= ${target} at ${num(p.target_s, 0)} s ` +
          `(iter ${num(p.target_iter, 0)}), val at ${budgetS} s ${num(p.val_at_budget, 4)}, final ${num(p.final_val, 4)} (medians of ${runs})`,
      );
    }
    console.error(
      `ratio ${num(result.ratio, 3)} (the candidate's time to ${target} over the baseline's ${result.baseline_reference}); ` +
        `the candidate's val at the baseline's wall time: ${num(result.candidate_val_at_baseline_wall, 4)}`,
    );
    printResult(result);
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---- in BENCHMARKS.md (bench/benchmark.ts)

const recipeTarget = (p: Recorded) =>
  p.target_s === null ? 'not reached' : `${fixed(p.target_s)} s at iteration ${int(p.target_iter)}`;
const recipeRatioValue = (r: Recorded) =>
  `${r.ratio === null ? 'n/a: ours never reached it' : `${fixed(r.ratio, 2)}×`} (ours ${recipeTarget(r.candidate)}, nanoGPT’s ${recipeTarget(r.baseline)}` +
  `${r.baseline_reference === 'whole run' ? `, so over its whole run of ${fixed(r.baseline.wall_s)} s` : ''}), medians of ${r.runs} runs${r.pinned ? '' : ', one after the other (unpinned)'}`;

/** #30: the candidate is Train for…'s plan for this many minutes: sized for the time. */
const CANDIDATE_MINUTES = 0.5;

export const benchmarks: Benchmark[] = [
  {
    name: 'recipe',
    args: ['bench', 'recipe', '--runs', '2'],
    rows: [
      {
        figure:
          'training recipe, CPU: time to val loss ≤ 1.88, `shakespeare-char-cpu` over nanoGPT’s `nanogpt-shakespeare-char-cpu`, side by side, one core and one thread each',
        goal: '≤ 0.4× (#16), at no more parameters',
        value: recipeRatioValue,
        met: (r) => r.ratio !== null && r.ratio <= 0.4 && r.candidate.n_params <= r.baseline.n_params,
      },
      {
        figure: 'the same: `shakespeare-char-cpu`’s val loss at the wall time of nanoGPT’s recipe',
        goal: '≤ 1.70 (#16)',
        value: (r) =>
          `${r.candidate_val_at_baseline_wall === null ? 'no eval by then' : fixed(r.candidate_val_at_baseline_wall, 3)} at ${fixed(r.baseline.wall_s)} s ` +
          `(its own run: ${fixed(r.candidate.wall_s)} s, final val ${fixed(r.candidate.final_val, 3)}; nanoGPT’s final val ${fixed(r.baseline.final_val, 3)}), median of ${r.runs} runs`,
        met: (r) => r.candidate_val_at_baseline_wall !== null && r.candidate_val_at_baseline_wall <= 1.7,
      },
    ],
  },
  {
    name: 'recipe-budget',
    args: ['bench', 'recipe', '--runs', '2', '--candidate-minutes', String(CANDIDATE_MINUTES)],
    rows: [
      {
        figure: `training recipe, CPU: time to val loss ≤ 1.88, Train for… \`--minutes ${CANDIDATE_MINUTES}\` (its plan sized for one thread) over nanoGPT’s \`nanogpt-shakespeare-char-cpu\`, side by side, one core and one thread each`,
        goal: '≤ 0.25× (#30)',
        value: (r) =>
          `${recipeRatioValue(r)}; the plan: ${r.candidate_plan.shape.n_layer} × ${r.candidate_plan.shape.n_embd}, ${fixed(r.candidate_plan.params_total / 1e6, 2)}M params (nanoGPT’s ${fixed(r.baseline.n_params / 1e6, 2)}M), final val ${fixed(r.candidate.final_val, 3)}`,
        met: (r) => r.ratio !== null && r.ratio <= 0.25,
      },
    ],
  },
];
