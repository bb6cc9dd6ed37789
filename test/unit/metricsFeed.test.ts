// The metrics dashboard's host loop (src/core/run/metricsFeed.ts): what it reads quietly, what it
// posts and when, the runs it follows, and the samples it decodes. The load test
// (test/faults/load.test.ts) runs the same loop against the real page under 2,000 events/s.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { metricsCsv } from '../../src/core/run/metrics';
import { MetricsFeed } from '../../src/core/run/metricsFeed';
import { MAX_SAMPLES } from '../../src/core/run/thinSeries';
import { readEvents } from '../../src/core/run/events';
import type { HostToMetrics } from '../../src/core/webview/protocol';
import { tempDir } from './helpers';

const start = {
  type: 'start',
  time: 1,
  iter: 0,
  max_iters: 100,
  pid: 1,
  device: 'cpu',
  dtype: 'float32',
  n_params: 1000,
  tokens_per_iter: 64,
};
const train = (iter: number) => ({
  type: 'train',
  time: 2,
  iter,
  loss: 3 - iter / 100,
  lr: 1e-3,
  dt_ms: 5,
  tokens_per_s: 1000,
  mfu: null,
});

function runDir(...events: object[]): string {
  const dir = tempDir('wordplay-feed-');
  append(dir, ...events);
  return dir;
}

function append(dir: string, ...events: object[]): void {
  fs.appendFileSync(path.join(dir, 'events.jsonl'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
}

/** A feed whose output is recorded. */
function recordedFeed() {
  const posted: HostToMetrics[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  const feed = new MetricsFeed({
    post: (m) => posted.push(m),
    warn: (m) => warnings.push(m),
    error: (m) => errors.push(m),
  });
  return { feed, posted, warnings, errors };
}

test('a followed run is read at once without posting; a reset posts it all; a poll posts only what is new', (t) => {
  const dir = runDir(start, train(0), train(1));
  const { feed, posted, errors } = recordedFeed();
  t.after(() => feed.dispose());
  assert.deepEqual(feed.follow([dir, dir]), [path.resolve(dir)], 'each run once, resolved');
  assert.equal(posted.length, 0, 'nothing posted yet');
  assert.deepEqual(feed.snapshot().runs[0].train.iter, [0, 1]);

  feed.postReset();
  assert.equal(posted.length, 1);
  assert.equal(posted[0].type, 'metrics/reset');
  assert.deepEqual(posted[0].runs[0].train.iter, [0, 1]);
  feed.poll(false);
  assert.equal(posted.length, 1, 'what the reset carried is not appended again');

  append(dir, train(2), { type: 'done', time: 3, reason: 'finished', iter: 2 });
  feed.poll(false);
  assert.equal(posted.length, 2);
  assert.equal(posted[1].type, 'metrics/append');
  assert.deepEqual(posted[1].runs[0].train.iter, [2]);
  assert.equal(posted[1].runs[0].status, 'finished');
  feed.poll(false);
  assert.equal(posted.length, 2, 'nothing new, nothing posted');
  assert.deepEqual(errors, []);
});

test(
  'the feed polls on its own while it follows a run, and keeps the buffers of runs it still follows',
  { timeout: 30_000 },
  async (t) => {
    const a = runDir(start, train(0));
    const b = runDir(start);
    const { feed, posted } = recordedFeed();
    t.after(() => feed.dispose());
    feed.follow([a]);
    feed.postReset();
    append(a, train(1));
    while (posted.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      posted[1].runs.map((r) => r.train.iter),
      [[1]],
    );

    feed.follow([b, a]);
    assert.deepEqual(feed.runDirs, [path.resolve(b), path.resolve(a)]);
    assert.deepEqual(
      feed.snapshot().runs.map((r) => r.train.iter),
      [[], [0, 1]],
      'b is new and empty; a keeps its points',
    );
  },
);

test(
  "a sample is decoded with the dataset's tokenizer, or shown as token ids with a warning",
  { timeout: 30_000 },
  async (t) => {
    const dataset = tempDir('wordplay-feed-data-');
    fs.writeFileSync(
      path.join(dataset, 'tokenizer.json'),
      JSON.stringify({ type: 'char', vocab: ['\n', ' ', 'a', 'b'] }),
    );
    const withTokenizer = runDir(start, { type: 'sample', time: 2, iter: 10, tokens: [2, 3, 1, 2] });
    fs.writeFileSync(path.join(withTokenizer, 'config.json'), JSON.stringify({ data: { dataset } }));
    const without = runDir(start, { type: 'sample', time: 2, iter: 10, tokens: [2, 3] });
    const { feed, warnings } = recordedFeed();
    t.after(() => feed.dispose());
    feed.follow([withTokenizer, without]);
    const samples = () => feed.snapshot().runs.map((r) => r.samples);
    while (samples().some((s) => s.length === 0)) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(samples(), [
      [{ iter: 10, text: 'ab a' }],
      [{ iter: 10, text: "(token ids; the run's tokenizer was not found) 2 3" }],
    ]);
    assert.deepEqual(warnings, [`no tokenizer found for ${path.resolve(without)}; samples are shown as token ids`]);
  },
);

test(
  'every sample joins the timeline in order, decoded; appends carry only new ones; a long run keeps MAX_SAMPLES from first to latest',
  { timeout: 30_000 },
  async (t) => {
    const dataset = tempDir('wordplay-feed-data-');
    fs.writeFileSync(
      path.join(dataset, 'tokenizer.json'),
      JSON.stringify({ type: 'char', vocab: ['\n', ' ', 'a', 'b'] }),
    );
    const sample = (iter: number) => ({ type: 'sample', time: 2, iter, tokens: iter % 2 ? [2, 2] : [3, 1, 3] });
    const dir = runDir(start, sample(0), sample(1), sample(2));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ data: { dataset } }));
    const { feed, posted } = recordedFeed();
    t.after(() => feed.dispose());
    feed.follow([dir]);
    const kept = () => feed.snapshot().runs[0].samples;
    const settle = async (n: number) => {
      while (kept().at(-1)?.iter !== n) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await settle(2);
    assert.deepEqual(kept(), [
      { iter: 0, text: 'b b' },
      { iter: 1, text: 'aa' },
      { iter: 2, text: 'b b' },
    ]);
    feed.postReset();
    append(dir, sample(3));
    feed.poll(false); // reads the event; its text comes once the decode resolves
    await settle(3);
    feed.poll(false);
    assert.deepEqual(
      posted.at(-1)!.runs[0].samples,
      [{ iter: 3, text: 'aa' }],
      'the append carries only the new sample',
    );

    append(dir, ...Array.from({ length: 10 * MAX_SAMPLES }, (_, i) => sample(4 + i)));
    const last = 3 + 10 * MAX_SAMPLES;
    feed.poll(false);
    await settle(last);
    const iters = kept().map((s) => s.iter);
    assert.ok(iters.length <= MAX_SAMPLES && iters.length > MAX_SAMPLES / 2, `${iters.length} samples kept`);
    assert.equal(iters[0], 0, 'the first (noise) stays');
    assert.equal(iters.at(-1), last, 'the latest stays');
    assert.ok(
      iters.every((it, k) => k === 0 || it > iters[k - 1]),
      'in order',
    );
    assert.ok(
      kept().every((s) => s.text === (s.iter % 2 ? 'aa' : 'b b')),
      'each text is its own sample',
    );
  },
);

test('val bits per byte reach the series, its appends and the CSV; a run without them has nulls and empty cells', (t) => {
  const evalEv = (iter: number, extra: object = {}) => ({
    type: 'eval',
    time: 3,
    iter,
    train_loss: 2,
    val_loss: 2.1 - iter / 100,
    ...extra,
  });
  const withBytes = runDir(start, train(0), evalEv(0, { val_bpb: 3.03 }));
  const older = runDir(start, train(0), evalEv(0));
  const { feed, posted } = recordedFeed();
  t.after(() => feed.dispose());
  feed.follow([withBytes, older]);
  assert.deepEqual(
    feed.snapshot().runs.map((r) => r.eval.valBpb),
    [[3.03], [null]],
    'one value per eval, parallel to valLoss',
  );
  feed.postReset();
  append(withBytes, evalEv(10, { val_bpb: 2.9 }));
  feed.poll(false);
  assert.equal(posted.length, 2);
  assert.deepEqual(
    posted[1].runs.map((r) => [r.eval.iter, r.eval.valBpb]),
    [[[10], [2.9]]],
  );
  assert.deepEqual(feed.snapshot().runs[0].eval.valBpb, [3.03, 2.9]);

  const csv = metricsCsv([
    { name: 'bytes', events: readEvents(path.join(withBytes, 'events.jsonl')) },
    { name: 'older', events: readEvents(path.join(older, 'events.jsonl')) },
  ]).split('\n');
  assert.equal(csv[0], 'run,type,iter,loss,lr,tokens_per_s,mfu,train_loss,val_loss,val_bpb');
  assert.deepEqual(
    csv.filter((row) => row.includes(',eval,')),
    ['bytes,eval,0,,,,,2,2.1,3.03', 'bytes,eval,10,,,,,2,2,2.9', 'older,eval,0,,,,,2,2.1,'],
  );
});
