// `wordplay bench recipe`'s arithmetic on hand-made events (no training): a run's figures
// timed from its start event, the medians over runs, and the ratio with its whole-run fallback.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { compare, median, runFigures, summarize, type RunFigures } from '../../bench/recipe';
import type { RunEvent } from '../../src/core/run/events';

const T0 = 1_700_000_000;

/** A run started at T0 with evals [seconds, val loss] at iterations 100, 200, … and done at `wall`. */
function run(evals: [number, number][], wall: number): RunEvent[] {
  return [
    {
      type: 'start',
      time: T0,
      iter: 0,
      max_iters: 1000,
      pid: 1,
      device: 'cpu',
      dtype: 'float32',
      n_params: 790_000,
      n_params_total: 800_000,
      tokens_per_iter: 768,
    },
    { type: 'train', time: T0 + 1, iter: 1, loss: 4, lr: 0.001, dt_ms: 20, tokens_per_s: 1000, mfu: null },
    ...evals.map(([s, val], i): RunEvent => ({
      type: 'eval',
      time: T0 + s,
      iter: 100 * (i + 1),
      train_loss: val,
      val_loss: val,
    })),
    { type: 'done', time: T0 + wall, reason: 'finished', iter: 1000 },
  ];
}

const figures = (evals: [number, number][], wall: number): RunFigures => runFigures(run(evals, wall), 1.88, 180);

test('a run that crosses the target at its third eval; the budget picks the last eval before it', () => {
  const r = figures(
    [
      [60, 2.3],
      [120, 2.0],
      [190, 1.85],
      [250, 1.8],
    ],
    300,
  );
  assert.equal(r.n_params, 800_000, "every parameter, not nanoGPT's count without the position table");
  assert.equal(r.wall_s, 300);
  assert.deepEqual([r.target_iter, r.target_s], [300, 190]);
  assert.equal(r.val_at_budget, 2.0, 'the eval at 190 s is past the 180 s budget');
  assert.equal(r.final_val, 1.8);
  assert.equal(runFigures(run([[180, 1.9]], 200), 1.88, 180).val_at_budget, 1.9, 'an eval at the budget counts');
});

test('a run that never reaches the target, or has no eval by the budget', () => {
  const r = figures(
    [
      [200, 2.1],
      [400, 1.95],
    ],
    450,
  );
  assert.deepEqual([r.target_iter, r.target_s, r.val_at_budget, r.final_val], [null, null, null, 1.95]);
  assert.throws(() => runFigures(run([], 10).slice(0, -1), 1.88, 180), /no done event/);
});

test('medians: the mean of the middle two; a missing figure counts as the worst', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([100, 140]), 120);
  assert.equal(median([100, null]), null);
  assert.equal(median([100, null, 120]), 120);
  assert.equal(median([]), null);
  const s = summarize([
    figures(
      [
        [60, 1.87],
        [120, 1.8],
      ],
      200,
    ),
    figures(
      [
        [80, 1.9],
        [160, 1.86],
      ],
      240,
    ),
  ]);
  assert.deepEqual(s, {
    n_params: 800_000,
    wall_s: 220,
    target_iter: 150,
    target_s: 110,
    val_at_budget: 1.83,
    final_val: 1.83,
  });
});

test('the ratio: over the baseline time to target, or over its whole run when it never gets there', () => {
  const candidate = [
    figures(
      [
        [30, 2.0],
        [60, 1.8],
        [90, 1.7],
      ],
      100,
    ),
    figures(
      [
        [30, 2.0],
        [70, 1.85],
        [110, 1.72],
      ],
      120,
    ),
  ];
  const reaching = [
    figures(
      [
        [100, 2.0],
        [200, 1.87],
      ],
      300,
    ),
    figures(
      [
        [100, 2.0],
        [200, 1.9],
        [260, 1.86],
      ],
      340,
    ),
  ];
  const byTarget = compare(reaching, candidate);
  assert.equal(byTarget.baseline_reference, 'time to target');
  assert.equal(byTarget.ratio, 65 / 230);
  // the baseline's median wall time is 320 s: each candidate run's last eval by then
  assert.equal(byTarget.candidate_val_at_baseline_wall, (1.7 + 1.72) / 2);

  const never = [
    figures(
      [
        [100, 2.0],
        [200, 1.95],
      ],
      300,
    ),
    figures(
      [
        [100, 2.1],
        [200, 1.9],
      ],
      500,
    ),
  ];
  const whole = compare(never, candidate);
  assert.equal(whole.baseline_reference, 'whole run');
  assert.equal(whole.ratio, 65 / 400);
  assert.equal(compare(reaching, never).ratio, null, 'a candidate that never reaches the target has no ratio');
  // at the baseline's wall time the candidate may not have evaluated yet
  assert.equal(compare([figures([], 20)], candidate).candidate_val_at_baseline_wall, null);
});
