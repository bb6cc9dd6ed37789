// Load: a run's events.jsonl grows at 2,000 events/s (a separate process appends them) for
// WORDPLAY_LOAD_SECONDS (default 60). The host side follows it as the dashboard does (the real
// EventFollower and RunMetrics, polled every 500 ms, deltas posted as metrics/append) into the
// metrics page in headless Chromium. The page must stay responsive (frame times measured with
// requestAnimationFrame) and the host's memory bounded (buffered points are capped).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { EventFollower } from '../../src/core/events';
import { RunMetrics } from '../../src/core/metrics';
import { MAX_POINTS } from '../../src/core/thinSeries';
import { tempDir } from '../unit/helpers';
import { CHROMIUM, startHarness } from '../unit/webviewPages';

// in-page callbacks use browser globals (the root tsconfig has no DOM lib)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const performance: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const SECONDS = Number(process.env.WORDPLAY_LOAD_SECONDS ?? 60);
const RATE = 2000;
const POLL_MS = 500; // as src/metricsView.ts polls
const skip = fs.existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (node scripts/ensure-chromium.mjs installs it)`;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

/** A process that appends train events (and an eval every 250) at `rate` per second. */
function startWriter(file: string, seconds: number, rate: number) {
  const code = `
    const fs = require('node:fs');
    const fd = fs.openSync(${JSON.stringify(file)}, 'a');
    const start = Date.now();
    let iter = 0;
    fs.writeSync(fd, JSON.stringify({ type: 'start', time: start / 1000, iter: 0, max_iters: ${seconds * rate}, pid: process.pid, device: 'cpu', dtype: 'float32', n_params: 1000, tokens_per_iter: 64 }) + '\\n');
    const timer = setInterval(() => {
      const due = Math.min(${seconds * rate}, Math.floor(((Date.now() - start) / 1000) * ${rate}));
      let lines = '';
      for (; iter < due; iter++) {
        const loss = 4 * Math.exp(-iter / 20000) + 1 + Math.random() * 0.1;
        lines += JSON.stringify({ type: 'train', time: Date.now() / 1000, iter, loss, lr: 6e-4, dt_ms: 0.5, tokens_per_s: 128000, mfu: null }) + '\\n';
        if (iter % 250 === 0) lines += JSON.stringify({ type: 'eval', time: Date.now() / 1000, iter, train_loss: loss, val_loss: loss + 0.1 }) + '\\n';
      }
      fs.writeSync(fd, lines);
      if (iter >= ${seconds * rate}) {
        fs.writeSync(fd, JSON.stringify({ type: 'done', time: Date.now() / 1000, reason: 'finished', iter }) + '\\n');
        clearInterval(timer);
      }
    }, 20);`;
  return spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

test(`the dashboard under ${RATE} events/s for ${SECONDS} s: responsive, bounded memory`, { skip, timeout: (SECONDS + 120) * 1000 }, async (t) => {
  const dir = tempDir('wordplay-load-');
  const file = path.join(dir, 'events.jsonl');
  const h = await startHarness();
  const writer = startWriter(file, SECONDS, RATE);
  try {
    const p = await h.open('metrics');
    const metrics = new RunMetrics(dir);
    const follower = new EventFollower(file);
    await p.send({ type: 'metrics/reset', runs: [metrics.series] });
    // frame times: the gap between consecutive animation frames (a string: tsx would add
    // helpers to a function's source that the page does not have)
    await p.page.evaluate(`(() => {
      window.__frames = [];
      let last;
      const tick = (now) => {
        if (last !== undefined) window.__frames.push(now - last);
        last = now;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    })()`);
    const heapBefore = heapMb();
    const rssBefore = process.memoryUsage().rss / 2 ** 20;
    let read = 0;
    let done = false;
    while (!done) {
      const started = Date.now();
      const events = follower.poll();
      read += events.length;
      done = events.some((e) => e.type === 'done');
      metrics.add(events);
      const delta = metrics.takeDelta();
      if (delta) await p.send({ type: 'metrics/append', runs: [delta] });
      await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (Date.now() - started))));
    }
    const frames: number[] = await p.page.evaluate(() => window.__frames);
    // the raw train loss: its points kept (_data, before the chart's decimation) and drawn
    const [kept, drawn] = await p.page.evaluate(() => {
      const d = window.wordplayCharts.loss.data.datasets[0];
      return [(d._data ?? d.data).length, d.data.length];
    });
    const pageHeap = await p.page.evaluate(() => performance.memory?.usedJSHeapSize / 2 ** 20);
    const heapAfter = heapMb();
    const rssAfter = process.memoryUsage().rss / 2 ** 20;
    const sorted = [...frames].sort((a, b) => a - b);
    const [p50, p95, max] = [percentile(sorted, 50), percentile(sorted, 95), sorted.at(-1) ?? NaN];
    t.diagnostic(`${read} events read in ${SECONDS} s; ${frames.length} frames: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
    t.diagnostic(`host heap ${heapBefore.toFixed(1)} -> ${heapAfter.toFixed(1)} MB, rss ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB; buffered ${metrics.series.train.iter.length} train points (cap ${MAX_POINTS}); page heap ${pageHeap?.toFixed(1)} MB, ${kept} points kept and ${drawn} drawn in the loss chart`);

    assert.ok(read >= SECONDS * RATE, `read ${read} events`);
    assert.equal(metrics.series.status, 'finished');
    assert.ok(frames.length > SECONDS * 10, `only ${frames.length} frames in ${SECONDS} s`);
    assert.ok(p95 < 100, `p95 frame time ${p95.toFixed(1)} ms`);
    assert.ok(metrics.series.train.iter.length <= MAX_POINTS, `${metrics.series.train.iter.length} points buffered`);
    assert.ok(kept <= MAX_POINTS, `${kept} points kept in the page`);
    assert.equal(metrics.series.train.iter.at(-1), SECONDS * RATE - 1, 'the latest point is kept');
    assert.ok(heapAfter - heapBefore < 20, `the host heap grew by ${(heapAfter - heapBefore).toFixed(1)} MB`);
    assert.deepEqual(p.errors, []);
  } finally {
    writer.kill('SIGKILL');
    await h.close();
  }
});
