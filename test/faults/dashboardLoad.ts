// The dashboard under load, shared by the load test (test/faults/load.test.ts: what must hold)
// and the dashboard benchmark (bench/dashboard.ts: how fast it stays): a run's events.jsonl
// grows at 2,000 events/s (a separate process appends them) while the real host loop
// (MetricsFeed, src/core/run/metricsFeed.ts) follows it and posts into the metrics page in headless
// Chromium, as the extension does into its webviews. Frame times are measured in the page
// with requestAnimationFrame, the host's heap around the whole run.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { MetricsFeed } from '../../src/core/run/metricsFeed';
import type { RunSeries } from '../../src/core/webview/protocol';
import { startHarness } from '../unit/webviewPages';

// in-page callbacks use browser globals (the root tsconfig has no DOM lib)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const performance: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

export const RATE = 2000;

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

export interface LoadResult {
  /** The host's buffer of the run once it finished. */
  series: RunSeries;
  /** The page's raw train loss: points kept (before the chart's decimation) and drawn. */
  page: { kept: number; drawn: number; heapMb: number | undefined; errors: string[] };
  /** Gaps between consecutive animation frames in the page, ms. */
  frames: number[];
  /** The host's heap before and after (after a GC), and its resident set, MB. */
  host: { heapBeforeMb: number; heapAfterMb: number; rssBeforeMb: number; rssAfterMb: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the load for `seconds` and returns what the host and the page hold at the end. */
export async function dashboardUnderLoad(seconds: number): Promise<LoadResult> {
  // not test/unit/helpers.ts's tempDir: that module is node:test's, and the benchmark is no test
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-load-'));
  const file = path.join(dir, 'events.jsonl');
  fs.writeFileSync(file, '');
  const h = await startHarness();
  let feed: MetricsFeed | undefined;
  let writer: ChildProcess | undefined;
  try {
    const p = await h.open('metrics');
    const sent: Promise<void>[] = [];
    const problems: string[] = [];
    feed = new MetricsFeed({
      post: (message) => void sent.push(p.send(message)),
      warn: (m) => problems.push(m),
      error: (m) => problems.push(m),
    });
    writer = startWriter(file, seconds, RATE);
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
    const heapBeforeMb = heapMb();
    const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
    // as the Runs tree or Train GPT shows a run: follow it, then the whole buffer to the page
    feed.follow([dir]);
    feed.postReset();
    const last = seconds * RATE - 1;
    while (feed.snapshot().runs[0].status !== 'finished') {
      if (writer.exitCode) throw new Error(`the process writing ${file} failed (exit ${writer.exitCode})`);
      await sleep(100);
    }
    feed.dispose();
    await Promise.all(sent);
    // the raw train loss in the page: its points kept (_data, before the chart's decimation) and drawn
    await p.page.waitForFunction(
      (iter) => {
        const d = window.wordplayCharts.loss.data.datasets[0];
        return d !== undefined && (d._data ?? d.data).at(-1)?.x === iter;
      },
      last,
      { timeout: 0 },
    );
    const frames: number[] = await p.page.evaluate(() => window.__frames);
    const [kept, drawn] = await p.page.evaluate(() => {
      const d = window.wordplayCharts.loss.data.datasets[0];
      return [(d._data ?? d.data).length, d.data.length];
    });
    const pageHeapMb = await p.page.evaluate(() => performance.memory?.usedJSHeapSize / 2 ** 20);
    const [series] = feed.snapshot().runs;
    return {
      series,
      page: { kept, drawn, heapMb: pageHeapMb, errors: [...p.errors, ...problems] },
      frames,
      host: { heapBeforeMb, heapAfterMb: heapMb(), rssBeforeMb, rssAfterMb: process.memoryUsage().rss / 2 ** 20 },
    };
  } finally {
    feed?.dispose();
    writer?.kill('SIGKILL');
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The frame-time figures of a run: frames per second over the run, and percentiles in ms. */
export function frameStats(frames: number[]) {
  const sorted = [...frames].sort((a, b) => a - b);
  const percentile = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  const total = frames.reduce((sum, f) => sum + f, 0);
  return {
    frames: frames.length,
    fps: (1000 * frames.length) / total,
    p50_ms: percentile(50),
    p95_ms: percentile(95),
    max_ms: sorted.at(-1) ?? NaN,
  };
}
