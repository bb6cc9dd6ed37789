// A run's summary follows its growing events.jsonl: appended events are read on from where the
// last summary stopped, and a file that shrank (a new run in the same folder) is read afresh.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { stateText, summarizeRun } from '../../src/core/run/runs';
import { tempDir } from './helpers';

const line = (event: object) => `${JSON.stringify({ time: 1, ...event })}\n`;
const start = (maxIters: number) =>
  line({
    type: 'start',
    iter: 0,
    max_iters: maxIters,
    pid: 999_999_999,
    device: 'cpu',
    dtype: 'float32',
    n_params: 1,
    tokens_per_iter: 1,
  });

test('the summary reads on as events are appended, and afresh when the file is replaced', () => {
  const dir = tempDir('wordplay-runs-');
  const events = path.join(dir, 'events.jsonl');
  fs.writeFileSync(events, start(100) + line({ type: 'eval', iter: 10, train_loss: 2, val_loss: 2.5 }));
  let run = summarizeRun(dir)!;
  assert.deepEqual([run.iter, run.maxIters, run.bestValLoss, run.state], [10, 100, 2.5, 'failed']);

  fs.appendFileSync(events, line({ type: 'eval', iter: 20, train_loss: 1.9, val_loss: 2.1 }) + '{"type": "done", "rea');
  run = summarizeRun(dir)!;
  assert.deepEqual([run.iter, run.bestValLoss, run.state], [20, 2.1, 'failed'], 'a torn line waits for its end');
  fs.appendFileSync(events, 'son": "stopped", "iter": 20, "time": 2}\n');
  assert.equal(summarizeRun(dir)!.state, 'stopped');

  fs.writeFileSync(events, start(50));
  run = summarizeRun(dir)!;
  assert.deepEqual([run.iter, run.maxIters, run.bestValLoss], [0, 50, null]);

  fs.rmSync(events);
  assert.equal(summarizeRun(dir), undefined);
});

test('the summary keeps the best val bits per byte of the evaluations that carry it, and none without', () => {
  const dir = tempDir('wordplay-runs-');
  const events = path.join(dir, 'events.jsonl');
  // an older dataset (no byte counts): no bits per byte at all
  fs.writeFileSync(events, start(100) + line({ type: 'eval', iter: 10, train_loss: 2, val_loss: 2.5 }));
  assert.deepEqual([summarizeRun(dir)!.bestValLoss, summarizeRun(dir)!.bestValBpb], [2.5, null]);

  const other = tempDir('wordplay-runs-');
  fs.writeFileSync(
    path.join(other, 'events.jsonl'),
    start(100) +
      line({ type: 'eval', iter: 10, train_loss: 2, val_loss: 2.5, val_bpb: 3.6 }) +
      line({ type: 'eval', iter: 20, train_loss: 1.9, val_loss: 2.1, val_bpb: 3.03 }) +
      line({ type: 'eval', iter: 30, train_loss: 1.8, val_loss: 2.3, val_bpb: 3.32 }),
  );
  const run = summarizeRun(other)!;
  assert.deepEqual([run.bestValLoss, run.bestValBpb], [2.1, 3.03]);
  fs.writeFileSync(path.join(other, 'events.jsonl'), start(100));
  assert.equal(summarizeRun(other)!.bestValBpb, null, 'a new run in the folder starts afresh');
});

test("a submitted run's state is its job's while the scheduler holds it, else its events'", () => {
  const dir = tempDir('wordplay-runs-');
  const events = path.join(dir, 'events.jsonl');
  // waiting in the queue: nothing written yet, but a run all the same
  assert.equal(summarizeRun(dir), undefined);
  let run = summarizeRun(dir, { id: '42', state: 'queued', reason: 'Resources' })!;
  assert.deepEqual([run.state, run.job?.reason, run.iter], ['queued', 'Resources', 0]);

  // training on other machines: the start event's pid is not a process here, yet it runs
  fs.writeFileSync(
    events,
    start(100) + line({ type: 'train', iter: 5, loss: 3, lr: 1e-3, dt_ms: 1, tokens_per_s: 1, mfu: null }),
  );
  run = summarizeRun(dir, { id: '42', state: 'running' })!;
  assert.deepEqual([run.state, run.iter, run.pid], ['running', 5, null]);
  // the scheduler's last answer predates the start: the events say it trains
  assert.equal(summarizeRun(dir, { id: '42', state: 'queued', reason: 'Resources' })!.state, 'running');

  // stopped gracefully and requeued (preempted): queued again, then running from its checkpoint
  fs.appendFileSync(events, line({ type: 'done', reason: 'stopped', iter: 5 }));
  assert.equal(summarizeRun(dir, { id: '42', state: 'queued', reason: 'BeginTime' })!.state, 'queued');
  assert.equal(summarizeRun(dir, { id: '42', state: 'ended' })!.state, 'stopped');

  // the job ended (killed, a node lost) without the trainer's done event: failed, saying where to look
  fs.writeFileSync(events, start(100));
  run = summarizeRun(dir, { id: '42', state: 'ended' })!;
  assert.equal(run.state, 'failed');
  assert.match(run.error ?? '', /job 42 ended before the run did: its train.log says why/);
});

test('a run that stopped at its target val loss says so; a later start forgets it', () => {
  const dir = tempDir('wordplay-runs-');
  const events = path.join(dir, 'events.jsonl');
  const target = line({
    type: 'start',
    iter: 0,
    max_iters: 2000,
    pid: 999_999_999,
    device: 'cpu',
    dtype: 'float32',
    n_params: 1,
    tokens_per_iter: 1,
    target_val_loss: 1.8,
  });
  fs.writeFileSync(
    events,
    target +
      line({ type: 'eval', iter: 400, train_loss: 1.7, val_loss: 1.79 }) +
      line({ type: 'done', reason: 'finished', iter: 400, target_val_loss: 1.8 }),
  );
  const run = summarizeRun(dir)!;
  assert.deepEqual([run.state, run.reachedTarget, run.iter], ['finished', 1.8, 400]);
  assert.equal(stateText(run), 'reached target val loss 1.8 at iteration 400');
  fs.appendFileSync(events, start(3000) + line({ type: 'done', reason: 'finished', iter: 3000 }));
  const again = summarizeRun(dir)!;
  assert.deepEqual([again.reachedTarget, stateText(again)], [null, 'finished']);
});
