import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventFollower, parseEvents, readEvents, type RunEvent } from '../../src/core/run/events';

const start = {
  type: 'start',
  time: 1,
  iter: 0,
  max_iters: 10,
  pid: 1,
  device: 'cpu',
  dtype: 'float32',
  n_params: 5,
  tokens_per_iter: 8,
};
const trainEv = (iter: number) => ({
  type: 'train',
  time: 2,
  iter,
  loss: 2.5,
  lr: 0.001,
  dt_ms: 5,
  tokens_per_s: 100,
  mfu: null,
});
const line = (e: unknown) => `${JSON.stringify(e)}\n`;

test('parseEvents ignores a torn last line and garbage', () => {
  const text = line(start) + line(trainEv(1)) + '{"type":"train","time":3,"it';
  const events = parseEvents(text);
  assert.equal(events.length, 2);
  assert.equal(events[1].type, 'train');
  assert.equal(parseEvents('nonsense\n{"no":"type"}\n').length, 0);
});

test('follower yields appended events, waiting for a line to be complete', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-events-'));
  const file = path.join(dir, 'events.jsonl');
  const follower = new EventFollower(file);
  assert.deepEqual(follower.poll(), []); // not there yet
  fs.writeFileSync(file, line(start));
  assert.deepEqual(
    follower.poll().map((e) => e.type),
    ['start'],
  );
  const half = line(trainEv(1));
  fs.appendFileSync(file, half.slice(0, 10));
  assert.deepEqual(follower.poll(), []);
  fs.appendFileSync(file, half.slice(10) + line(trainEv(2)));
  assert.deepEqual(
    follower.poll().map((e) => (e as { iter: number }).iter),
    [1, 2],
  );
  assert.deepEqual(follower.poll(), []);
  assert.equal(readEvents(file).length, 3);
  // a follower that starts at the end sees only new events (reattaching after a resume)
  const late = new EventFollower(file, { fromStart: false });
  fs.appendFileSync(file, line({ type: 'done', time: 4, reason: 'finished', iter: 2 }));
  assert.deepEqual(
    late.poll().map((e) => e.type),
    ['done'],
  );
});

test('follow() is an async stream that ends at done', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-events-'));
  const file = path.join(dir, 'events.jsonl');
  const seen: RunEvent[] = [];
  const writer = (async () => {
    for (const e of [start, trainEv(1), { type: 'done', time: 5, reason: 'stopped', iter: 1 }]) {
      await new Promise((r) => setTimeout(r, 30));
      fs.appendFileSync(file, line(e));
    }
  })();
  for await (const e of new EventFollower(file).follow({ pollMs: 10 })) seen.push(e);
  await writer;
  assert.deepEqual(
    seen.map((e) => e.type),
    ['start', 'train', 'done'],
  );
  const ac = new AbortController();
  ac.abort();
  for await (const _ of new EventFollower(file).follow({ signal: ac.signal })) assert.fail('aborted');
});

test('an eval event may carry val bits per byte, a number of at least 0; a line with a wrong one is skipped', () => {
  const evalEv = (extra: object) => line({ type: 'eval', time: 3, iter: 10, train_loss: 2, val_loss: 2.1, ...extra });
  const events = parseEvents(
    evalEv({}) +
      evalEv({ val_bpb: 3.03 }) +
      evalEv({ val_bpb: -1 }) +
      evalEv({ val_bpb: '3.03' }) +
      evalEv({ val_bpb: null }),
  );
  assert.deepEqual(
    events.map((e) => (e.type === 'eval' ? e.val_bpb : e.type)),
    [undefined, 3.03],
  );
});
