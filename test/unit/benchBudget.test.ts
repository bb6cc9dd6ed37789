// `wordplay bench budget`'s figures on hand-made events (no training): the last eval's val loss
// and bits per byte, the median MFU of the train events (nulls left out), and the end against
// the budget.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetFigures } from '../../bench/budget';
import type { RunEvent } from '../../src/core/run/events';

const start: RunEvent = {
  type: 'start',
  time: 0,
  iter: 0,
  max_iters: 100,
  pid: 1,
  device: 'cpu',
  dtype: 'float32',
  n_params: 90,
  n_params_total: 100,
  tokens_per_iter: 512,
  threads: 2,
};
const train = (iter: number, mfu: number | null): RunEvent => ({
  type: 'train',
  time: iter,
  iter,
  loss: 2,
  lr: 0.001,
  dt_ms: 10,
  tokens_per_s: 1000,
  mfu,
});
const evalAt = (iter: number, val: number): RunEvent => ({
  type: 'eval',
  time: iter,
  iter,
  train_loss: val,
  val_loss: val,
  val_bpb: val * 1.44,
});

test('budgetFigures reads the last eval, the median MFU and the end against the budget', () => {
  const events = [
    start,
    train(1, null),
    train(2, 0.01),
    evalAt(2, 2.5),
    train(3, 0.03),
    train(4, 0.02),
    evalAt(4, 1.9),
  ];
  const model = { n_layer: 2, n_head: 2, n_embd: 64, block_size: 64 };
  const r = budgetFigures(events, model, 126, 120);
  assert.deepEqual(r.shape, model);
  assert.equal(r.n_params, 100);
  assert.equal(r.iters, 4);
  assert.equal(r.val_loss, 1.9);
  assert.equal(r.val_bpb, 1.9 * 1.44);
  assert.equal(r.mfu, 0.02);
  assert.equal(r.over_s, 6);
  assert.equal(r.over_fraction, 0.05);
  assert.equal(budgetFigures(events, model, 110, 120).over_s, -10);
});

test('budgetFigures refuses a run without a start event', () => {
  assert.throws(() => budgetFigures([train(1, 0.01)], {}, 10, 10), /no start event/);
});
