// Load: a run's events.jsonl grows at 2,000 events/s (a separate process appends them) for
// WORDPLAY_LOAD_SECONDS (default 60) while the real host loop (MetricsFeed, as the dashboard
// runs it) follows it and posts into the metrics page in headless Chromium (see
// dashboardLoad.ts). Every event must reach the host and the page, the buffered points stay
// capped on both sides and the host's memory bounded. How smooth the page stays (frame times)
// is a benchmark: bench/dashboard.ts, in `npm run bench`.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { MAX_POINTS } from '../../src/core/run/thinSeries';
import { CHROMIUM } from '../unit/webviewPages';
import { dashboardUnderLoad, frameStats, RATE } from './dashboardLoad';

const SECONDS = Number(process.env.WORDPLAY_LOAD_SECONDS ?? 60);
const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`${CHROMIUM} is missing: run node scripts/ensure-chromium.mjs`);
const skip = haveBrowser ? false : `no Chromium at ${CHROMIUM} (node scripts/ensure-chromium.mjs installs it)`;

test(
  `the dashboard under ${RATE} events/s for ${SECONDS} s: every event arrives, buffers capped, host memory bounded`,
  { skip, timeout: (SECONDS + 120) * 1000 },
  async (t) => {
    const r = await dashboardUnderLoad(SECONDS);
    const f = frameStats(r.frames);
    t.diagnostic(
      `${f.frames} frames: p50 ${f.p50_ms.toFixed(1)} ms, p95 ${f.p95_ms.toFixed(1)} ms, max ${f.max_ms.toFixed(1)} ms (figures, not checks: see bench/dashboard.ts)`,
    );
    t.diagnostic(
      `host heap ${r.host.heapBeforeMb.toFixed(1)} -> ${r.host.heapAfterMb.toFixed(1)} MB, rss ${r.host.rssBeforeMb.toFixed(0)} -> ${r.host.rssAfterMb.toFixed(0)} MB; ` +
        `buffered ${r.series.train.iter.length} train points (cap ${MAX_POINTS}); page heap ${r.page.heapMb?.toFixed(1)} MB, ${r.page.kept} points kept and ${r.page.drawn} drawn in the loss chart`,
    );

    const last = SECONDS * RATE - 1;
    assert.equal(r.series.train.iter.at(-1), last, 'the host keeps the latest point');
    assert.ok(r.series.train.iter.length <= MAX_POINTS, `${r.series.train.iter.length} points buffered on the host`);
    assert.ok(r.page.kept <= MAX_POINTS, `${r.page.kept} points kept in the page`);
    assert.ok(
      r.host.heapAfterMb - r.host.heapBeforeMb < 20,
      `the host heap grew by ${(r.host.heapAfterMb - r.host.heapBeforeMb).toFixed(1)} MB`,
    );
    assert.deepEqual(r.page.errors, []);
  },
);
