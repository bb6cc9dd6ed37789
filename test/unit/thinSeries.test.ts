import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunSeries } from '../../src/core/webview/protocol';
import { appendSeries } from '../../webview/metrics/series';
import { RunMetrics } from '../../src/core/run/metrics';
import { MAX_POINTS, thinSeries } from '../../src/core/run/thinSeries';

function series(points: number, from = 0): RunSeries {
  const iter = Array.from({ length: points }, (_, i) => from + i);
  const evals = iter.filter((i) => i % 3 === 0);
  return {
    id: '/runs/a',
    name: 'a',
    status: 'running',
    train: {
      iter,
      loss: iter.map((i) => i / 2),
      lr: iter.map((i) => i / 3),
      tokensPerS: iter.map((i) => i * 2),
      mfu: iter.map(() => null),
    },
    eval: {
      iter: evals,
      trainLoss: evals.map((i) => i / 4),
      valLoss: evals.map((i) => i / 5),
      valBpb: evals.map((i) => i / 7),
    },
    samples: [],
  };
}

/** Columns still line up: each kept point carries its own values. */
function assertAligned(s: RunSeries): void {
  s.train.iter.forEach((it, k) =>
    assert.deepEqual([s.train.loss[k], s.train.lr[k], s.train.tokensPerS[k]], [it / 2, it / 3, it * 2]),
  );
  s.eval.iter.forEach((it, k) =>
    assert.deepEqual([s.eval.trainLoss[k], s.eval.valLoss[k], s.eval.valBpb[k]], [it / 4, it / 5, it / 7]),
  );
}

test('a series beyond MAX_POINTS is thinned to fit, keeping its first and latest points, aligned and in order', () => {
  for (const n of [MAX_POINTS, MAX_POINTS + 1, MAX_POINTS + 2, 3 * MAX_POINTS + 7]) {
    const s = series(n);
    thinSeries(s);
    assert.ok(
      s.train.iter.length <= MAX_POINTS && s.train.iter.length >= MAX_POINTS / 2 - 1,
      `${n} -> ${s.train.iter.length}`,
    );
    assert.equal(s.train.iter[0], 0);
    assert.equal(s.train.iter.at(-1), n - 1);
    assert.ok(s.train.iter.every((it, k) => k === 0 || it > s.train.iter[k - 1]));
    assertAligned(s);
  }
  const small = series(100);
  thinSeries(small);
  assert.equal(small.train.iter.length, 100);
});

test('the host buffer and the dashboard stay within MAX_POINTS however long the run', () => {
  const m = new RunMetrics('/runs/a');
  const run = series(0);
  let latest = 0;
  for (let from = 0; from < 5 * MAX_POINTS; from += 999) {
    const events = Array.from({ length: 999 }, (_, i) => ({
      type: 'train' as const,
      time: 0,
      iter: from + i,
      loss: (from + i) / 2,
      lr: (from + i) / 3,
      dt_ms: 1,
      tokens_per_s: (from + i) * 2,
      mfu: null,
    }));
    m.add(events);
    appendSeries(run, m.takeDelta()!);
    latest = from + 998;
  }
  for (const s of [m.series, run]) {
    assert.ok(s.train.iter.length <= MAX_POINTS, `${s.train.iter.length} points`);
    assert.equal(s.train.iter.at(-1), latest);
    s.eval = { iter: [], trainLoss: [], valLoss: [], valBpb: [] };
    assertAligned(s);
  }
});
