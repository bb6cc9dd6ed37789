// Where a run is, as every surface shows it: the fold of its events (iteration of max, ETA,
// loss), the CLI's live line, and the promise behind "one source": the ETA depends on the events
// only, never on the clock, and the Runs tree's summary and the Metrics view's series word it
// exactly as the notification does.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunEvent } from '../../src/core/run/events';
import { RunMetrics } from '../../src/core/run/metrics';
import { formatDuration, positionText, TrainProgress } from '../../src/core/run/progress';
import { summarizeRun } from '../../src/core/run/runs';
import { tempDir } from './helpers';

const start = (iter: number, maxIters: number, time: number): RunEvent => ({
  type: 'start',
  time,
  iter,
  max_iters: maxIters,
  pid: 999_999_999,
  device: 'cpu',
  dtype: 'float32',
  n_params: 1,
  tokens_per_iter: 1,
});
const train = (iter: number, time: number): RunEvent => ({
  type: 'train',
  time,
  iter,
  loss: 2.34567,
  lr: 0.001,
  dt_ms: 100,
  tokens_per_s: 12345.6,
  mfu: null,
});

function fold(events: RunEvent[]): TrainProgress {
  const p = new TrainProgress();
  for (const e of events) p.update(e);
  return p;
}

test('the ETA is the pace from the start to the latest train event, times the iterations left', () => {
  const p = fold([start(0, 1000, 100), train(100, 110)]);
  assert.equal(p.eta(), 90);
  assert.equal(positionText(p.position), '100/1000 · ETA 1m30s');
  assert.equal(p.summary(), '100/1000 · ETA 1m30s · loss 2.3457');
  // an eval after the train event moves nothing: the same events, the same ETA, whenever asked
  p.update({ type: 'eval', time: 500, iter: 100, train_loss: 2.3, val_loss: 2.41 });
  assert.equal(p.eta(), 90);
  assert.match(p.line(10), /^\[#\.{9}\] 100\/1000 · ETA 1m30s · loss 2\.3457 · 12,346 tok\/s · val 2\.4100$/);
});

test('no ETA before the first train event, nor once the run is done', () => {
  const p = fold([start(0, 400, 100)]);
  assert.equal(p.eta(), undefined);
  assert.equal(positionText(p.position), '0/400');
  p.update(train(10, 104));
  assert.equal(p.eta(), 156);
  p.update({ type: 'done', time: 105, reason: 'stopped', iter: 12 });
  assert.equal(p.eta(), undefined);
  assert.equal(positionText(p.position), '12/400');
});

test('where the run is counts every event, and a resumed run counts from its latest start', () => {
  // a stop: the last train event says 20, the checkpoint and done events 28
  const stopped = fold([
    start(0, 400, 0),
    train(20, 10),
    { type: 'checkpoint', time: 11, iter: 28 },
    { type: 'done', time: 12, reason: 'stopped', iter: 28 },
  ]);
  assert.equal(stopped.iter, 28);
  // resumed from an earlier checkpoint than the last event: the new start is where it is
  const resumed = fold([start(0, 400, 0), train(30, 10), start(20, 800, 100), train(40, 104)]);
  assert.deepEqual(resumed.position, { iter: 40, maxIters: 800, etaSeconds: (4 / 20) * 760 });
});

test('update says whether what is shown changed', () => {
  const p = fold([start(0, 100, 0), train(10, 5)]);
  assert.equal(p.update(train(10, 5)), false, 'the same event again changes nothing');
  assert.equal(p.update({ type: 'sample', time: 6, iter: 10, tokens: [1] }), false);
  assert.equal(p.update(train(15, 7)), true);
});

test('formatDuration', () => {
  assert.equal(formatDuration(59.4), '59s');
  assert.equal(formatDuration(233), '3m53s');
  assert.equal(formatDuration(3700), '1h01m');
  assert.equal(formatDuration(NaN), '?');
});

test("the Runs tree's summary and the Metrics view's series show the position the notification shows", () => {
  const dir = tempDir('wordplay-progress-');
  const events = [
    start(0, 400, 1000),
    train(5, 1002),
    train(10, 1004),
    { type: 'eval', time: 1005, iter: 10, train_loss: 2, val_loss: 2.1 } as RunEvent,
  ];
  fs.writeFileSync(path.join(dir, 'events.jsonl'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const session = fold(events);
  const metrics = new RunMetrics(dir);
  metrics.add(events);
  assert.equal(metrics.series.position, positionText(session.position));
  assert.equal(metrics.series.position, '10/400 · ETA 2m36s');
  // the summary gives no ETA to a run with no live trainer (here: no process at all)
  const summary = summarizeRun(dir)!;
  assert.deepEqual([summary.state, summary.iter, summary.maxIters, summary.etaSeconds], ['failed', 10, 400, undefined]);
  // after a stop both say where the stop left it
  const stop = [
    { type: 'checkpoint', time: 1006, iter: 12 },
    { type: 'done', time: 1007, reason: 'stopped', iter: 12 },
  ] as RunEvent[];
  fs.appendFileSync(path.join(dir, 'events.jsonl'), stop.map((e) => `${JSON.stringify(e)}\n`).join(''));
  metrics.add(stop);
  assert.equal(metrics.takeDelta()!.position, '12/400');
  assert.equal(positionText(summarizeRun(dir)!), '12/400');
});
