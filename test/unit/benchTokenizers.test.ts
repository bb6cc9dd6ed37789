// `wordplay bench tokenizers`'s arithmetic on hand-made events and samples (no training): the
// speed from a calibration, the schedule it gives, a run's figures and the pairing.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuRate, cpuUntil, iterationsPerSecond, pairs, runOutcome, schedule } from '../../bench/tokenizerFigures';
import type { Sample } from '../../bench/pinned';
import type { RunEvent } from '../../src/core/run/events';

const T0 = 1_700_000_000;

const start: RunEvent = {
  type: 'start',
  time: T0,
  iter: 0,
  max_iters: 100,
  pid: 1,
  device: 'cpu',
  dtype: 'float32',
  n_params: 790_000,
  n_params_total: 800_000,
  tokens_per_iter: 2048,
};
const train = (iter: number, s: number): RunEvent => ({
  type: 'train',
  time: T0 + s,
  iter,
  loss: 3,
  lr: 0.001,
  dt_ms: 500,
  tokens_per_s: 4000,
  mfu: null,
});

test('iterations per second leave out the first iterations, which run slower', () => {
  // iterations 1 and 2 take 2 s each, then 0.5 s each
  const events = [start, train(1, 2), train(2, 4), train(3, 4.5), train(4, 5), train(5, 5.5), train(6, 6)];
  assert.equal(iterationsPerSecond(events), 2);
  assert.equal(iterationsPerSecond(events.slice(0, 4)), null, 'one timed event is no interval');
});

test('iterations per CPU second come from the samples that first saw each iteration', () => {
  const sample = (iter: number, cpu: number | null, started = true): Sample => ({ iter, started, cpu_s: cpu });
  // CPU time grows 0.5 s per iteration after the second; repeated samples of an iteration (the
  // trainer between events) and samples without a CPU time are left out
  const samples = [
    sample(0, 1, false),
    sample(0, 3),
    sample(1, 5),
    sample(2, 7),
    sample(3, 7.5),
    sample(3, 7.9),
    sample(4, 8),
    sample(5, 8.5),
    sample(5, null),
    sample(6, 9),
  ];
  assert.equal(cpuRate(samples), 2);
  assert.equal(cpuUntil(samples, 6), 6, 'from the first sample after the start event');
  assert.equal(cpuUntil(samples, 7), null);
  assert.equal(cpuRate(samples.map((s) => ({ ...s, cpu_s: null }))), null);
});

test('the schedule fills the budget and warms up for the same fraction of it', () => {
  assert.deepEqual(schedule(1.6, 180), { max_iters: 288, warmup_iters: 14 });
  assert.deepEqual(schedule(0.2, 180), { max_iters: 36, warmup_iters: 2 });
  assert.deepEqual(schedule(0.001, 180), { max_iters: 1, warmup_iters: 0 });
});

test("a run's figures: its training time to the last iteration and the eval there", () => {
  const events: RunEvent[] = [
    start,
    train(10, 5),
    train(20, 10),
    { type: 'eval', time: T0 + 14, iter: 20, train_loss: 2, val_loss: 2.1, val_bpb: 1.2 },
    { type: 'done', time: T0 + 15, reason: 'finished', iter: 20 },
  ];
  assert.deepEqual(runOutcome(events, 20), {
    n_params: 800_000,
    iters: 20,
    train_s: 10,
    val_loss: 2.1,
    val_bpb: 1.2,
    stopped: false,
  });
  const stopped = [start, train(10, 5), { type: 'done', time: T0 + 6, reason: 'stopped', iter: 10 } as RunEvent];
  assert.deepEqual(runOutcome(stopped, 20), {
    n_params: 800_000,
    iters: 10,
    train_s: 5,
    val_loss: null,
    val_bpb: null,
    stopped: true,
  });
});

test('runs go in pairs, an odd one out alone', () => {
  assert.deepEqual(pairs([1, 2, 3, 4, 5]), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(pairs([]), []);
});
