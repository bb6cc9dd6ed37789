// A time budget's figures for the config editor (train.time_budget_s): how many iterations the
// budget holds at the estimated pace (estimate.ts's time per iteration, its evaluations spread
// over the iterations), how long the run then takes, and a note naming train.max_iters when it
// would end the run before half the budget is used (the trainer warns the same once it has timed
// its first steps: trainer/wordplay_trainer/train/budget.py). Pure arithmetic, as estimate.ts.
import { formatDuration, type Figures } from './estimate';
import type { RunConfig } from './runConfig';

export interface BudgetFigures {
  seconds: number;
  /** Iterations the budget holds at the estimated pace, evaluations included. */
  iterations: number;
  /** Whether train.max_iters ends the run before the budget does. */
  cappedByMaxIters: boolean;
  /** The run's estimated length: the budget, or less when max_iters comes first. */
  runSeconds: number;
  /** Set when max_iters would leave more than half the budget unused. */
  note?: string;
}

/** The budget's figures, or undefined for a run without one. */
export function budgetFigures(
  figures: Pick<Figures, 'secondsPerRun'>,
  train: Pick<RunConfig['train'], 'time_budget_s' | 'max_iters'>,
): BudgetFigures | undefined {
  const seconds = train.time_budget_s;
  if (seconds === null || seconds === undefined) return undefined;
  const iterations = Math.floor((seconds * train.max_iters) / figures.secondsPerRun);
  const cappedByMaxIters = train.max_iters < iterations;
  const runSeconds = Math.min(seconds, figures.secondsPerRun);
  const result: BudgetFigures = { seconds, iterations, cappedByMaxIters, runSeconds };
  if (figures.secondsPerRun < seconds / 2) {
    result.note =
      `train.max_iters ${train.max_iters.toLocaleString('en-US')} ends the run after about ` +
      `${formatDuration(figures.secondsPerRun)} of its ${formatDuration(seconds)} budget ` +
      `(train.time_budget_s): about ${iterations.toLocaleString('en-US')} iterations fit in it; raise train.max_iters to use it.`;
  }
  return result;
}
