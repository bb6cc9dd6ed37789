// A time budget (train.time_budget_s) as every view shows it: the position's words and the ETA
// from the events (what the budget has left at the latest train event, or less when max_iters
// comes first), the fraction the bar and the notification show, the Runs tree's summary, the
// config editor's field and its figures, and a budget that is no positive number refused.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunEvent } from '../../src/core/run/events';
import { RunMetrics } from '../../src/core/run/metrics';
import { positionText, TrainProgress } from '../../src/core/run/progress';
import { summarizeRun } from '../../src/core/run/runs';
import { budgetFigures } from '../../src/core/train/budget';
import { ConfigError, loadConfig, validateConfig } from '../../src/core/train/config';
import { checkField, fieldKind } from '../../webview/configEditor/fields';
import type { SchemaNode } from '../../src/core/webview/protocol';
import schema from '../../schemas/run-config.schema.json';
import { tempDir } from './helpers';

const start = (iter: number, maxIters: number, time: number, budget?: number): RunEvent => ({
  type: 'start',
  time,
  iter,
  max_iters: maxIters,
  pid: 999_999_999,
  device: 'cpu',
  dtype: 'float32',
  n_params: 1,
  tokens_per_iter: 1,
  ...(budget === undefined ? {} : { time_budget_s: budget }),
});
const train = (iter: number, time: number, elapsed?: number): RunEvent => ({
  type: 'train',
  time,
  iter,
  loss: 2.5,
  lr: 0.001,
  dt_ms: 100,
  tokens_per_s: 1000,
  mfu: null,
  ...(elapsed === undefined ? {} : { elapsed_s: elapsed }),
});

function fold(events: RunEvent[]): TrainProgress {
  const p = new TrainProgress();
  for (const e of events) p.update(e);
  return p;
}

test("a budget's time left is the budget less the trainer's clock at the latest train event", () => {
  // set-up took 3 s before the start event; at iteration 100 the clock says 167 s of 300
  const p = fold([start(0, 100_000, 1000, 300), train(100, 1164, 167)]);
  assert.equal(p.eta(), 133);
  assert.equal(positionText(p.position), '100/100000 · budget 5m00s, 2m13s left');
  assert.equal(p.summary(), '100/100000 · budget 5m00s, 2m13s left · loss 2.5000');
  assert.ok(Math.abs(p.fraction() - 167 / 300) < 1e-12);
  assert.match(p.line(10), /^\[######\.{4}\] 100\/100000 · budget 5m00s, 2m13s left · loss/);
  // the same events, the same words, whenever asked: an eval later moves nothing
  p.update({ type: 'eval', time: 1200, iter: 100, train_loss: 2.4, val_loss: 2.5 });
  assert.equal(p.eta(), 133);
});

test('with a budget max_iters can still come first, and then says when the run ends', () => {
  // 100 iterations in 10 s of 1000 to go: 90 s left by iterations, 250 by the budget
  const p = fold([start(0, 1000, 0, 300), train(100, 10, 50)]);
  assert.equal(p.eta(), 90);
  assert.ok(Math.abs(p.fraction() - 50 / 300) < 1e-12);
});

test('before its first train event and once ended a budgeted run shows its budget alone', () => {
  const p = fold([start(0, 5000, 0, 90)]);
  assert.equal(positionText(p.position), '0/5000 · budget 1m30s');
  assert.equal(p.fraction(), 0);
  p.update(train(10, 20, 21));
  p.update({ type: 'done', time: 89, reason: 'finished', iter: 400 });
  assert.equal(positionText(p.position), '400/5000 · budget 1m30s');
  assert.equal(p.eta(), undefined);
});

test("an older trainer's train events without elapsed_s: the clock from the start event", () => {
  const p = fold([start(0, 100_000, 1000, 60), train(10, 1015)]);
  assert.equal(p.eta(), 45);
});

test('a resumed run gets its new budget, and a later start without one shows none', () => {
  const p = fold([start(0, 100, 0, 60), train(50, 30, 31), start(100, 200, 100, 30), train(110, 105, 7)]);
  assert.equal(positionText(p.position), '110/200 · budget 30s, 23s left');
  assert.ok(Math.abs(p.fraction() - 7 / 30) < 1e-12); // 7 s of 30 is further than 10 iterations of 100
  p.update(start(110, 400, 200));
  assert.equal(positionText(p.position), '110/400');
  assert.deepEqual(Object.keys(p.position).sort(), ['etaSeconds', 'iter', 'maxIters']);
});

test("the Runs tree's summary and the Metrics view's series word the budget as the notification does", () => {
  const dir = tempDir('wordplay-budget-');
  const events = [start(0, 100_000, 1000, 300), train(100, 1164, 167)];
  fs.writeFileSync(path.join(dir, 'events.jsonl'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const metrics = new RunMetrics(dir);
  metrics.add(events);
  assert.equal(metrics.series.position, '100/100000 · budget 5m00s, 2m13s left');
  // no live trainer here: the summary keeps the budget and drops the time left
  const summary = summarizeRun(dir)!;
  assert.equal(summary.budgetSeconds, 300);
  assert.equal(positionText(summary), '100/100000 · budget 5m00s');
});

test("the config editor's field for the budget: a number, null allowed", () => {
  const spec = (schema.properties.train.properties as Record<string, SchemaNode>).time_budget_s;
  assert.ok(spec, 'train.time_budget_s is in the schema, so the form shows it');
  assert.equal(fieldKind(spec), 'number');
  assert.deepEqual(checkField(spec, '300'), { value: 300, problem: undefined });
  assert.deepEqual(checkField(spec, 'null'), { value: null });
  assert.equal(checkField(spec, '0').problem, 'must be greater than 0');
  assert.ok(checkField(spec, 'five').parseError);
});

test('the estimate: the iterations a budget holds, and max_iters named when it would leave most unused', () => {
  // 0.1 s an iteration, evaluations included
  const long = budgetFigures({ secondsPerRun: 500 }, { time_budget_s: 300, max_iters: 5000 })!;
  assert.deepEqual(long, { seconds: 300, iterations: 3000, cappedByMaxIters: false, runSeconds: 300 });
  const short = budgetFigures({ secondsPerRun: 100 }, { time_budget_s: 300, max_iters: 1000 })!;
  assert.equal(short.cappedByMaxIters, true);
  assert.equal(short.runSeconds, 100);
  assert.equal(
    short.note,
    'train.max_iters 1,000 ends the run after about 1 min 40 s of its 5 min 0 s budget (train.time_budget_s): about 3,000 iterations fit in it; raise train.max_iters to use it.',
  );
  assert.equal(budgetFigures({ secondsPerRun: 100 }, { time_budget_s: null, max_iters: 1000 }), undefined);
});

test('a budget that is no positive number is refused naming the key, a --set one too', () => {
  for (const value of [0, -30, 'five minutes', true]) {
    const problems = validateConfig({ train: { time_budget_s: value } });
    assert.deepEqual(
      problems.map((p) => p.key),
      ['train.time_budget_s'],
      `time_budget_s ${JSON.stringify(value)}`,
    );
  }
  try {
    loadConfig('shakespeare-char-cpu', ['train.time_budget_s=-1']);
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.deepEqual(
      err.problems.map((p) => p.key),
      ['train.time_budget_s'],
    );
  }
  assert.equal(loadConfig('shakespeare-char-cpu', ['train.time_budget_s=300']).config.train.time_budget_s, 300);
});
