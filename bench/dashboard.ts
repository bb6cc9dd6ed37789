// `node --import tsx bench/dashboard.ts [--seconds 60] [--runs 5]`: how smooth and quick the
// metrics dashboard stays, in headless Chromium (so not part of `wordplay bench`, which ships
// without the browser harness):
// - under load: 2,000 events/s for --seconds followed by the real host loop (the load test's
//   scenario, test/faults/dashboardLoad.ts): frames per second and frame times in the page;
// - a run of 100,000 points shown at once: from the metrics/reset message to the first draw,
//   median of --runs.
// The tests check what must hold there (every event arrives, buffers capped, decimation); these
// are the times. The last line of stdout is JSON.
import { parseArgs } from 'node:util';
import { dashboardUnderLoad, frameStats, RATE } from '../test/faults/dashboardLoad';
import { fakeRun } from '../test/unit/webviewFixtures';
import { startHarness } from '../test/unit/webviewPages';
import { fixed, int, type Benchmark } from './benchmark';
import { nodeJson } from './spawn';

// in-page callbacks use browser globals (the root tsconfig has no DOM lib)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const POINTS = 100_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Number(x.toFixed(1));

/** Milliseconds from sending a run of POINTS points to a page to its first drawn point, each in a fresh page. */
async function firstDrawTimes(runs: number): Promise<number[]> {
  const h = await startHarness();
  try {
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const p = await h.open('metrics');
      const run = fakeRun('/w/runs/long', POINTS, { every: 1 });
      const started = performance.now();
      await p.send({ type: 'metrics/reset', runs: [run] });
      await p.page.waitForFunction(() => window.wordplayCharts.loss.getDatasetMeta(0).data.length > 0, undefined, {
        timeout: 0,
      });
      times.push(performance.now() - started);
      if (p.errors.length) throw new Error(`the metrics page reported errors: ${p.errors.join('; ')}`);
      await p.page.close();
      console.error(`${POINTS} points: first draw after ${times.at(-1)!.toFixed(0)} ms (${r + 1}/${runs})`);
    }
    return times;
  } finally {
    await h.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '60' }, runs: { type: 'string', default: '5' } },
  });
  const seconds = Number(values.seconds);
  const runs = Number(values.runs);
  if (!Number.isInteger(seconds) || seconds < 1 || !Number.isInteger(runs) || runs < 1) {
    throw new Error(
      `--seconds and --runs must be whole numbers of at least 1, got ${values.seconds} and ${values.runs}`,
    );
  }
  console.error(`${RATE} events/s for ${seconds} s ...`);
  const load = await dashboardUnderLoad(seconds);
  if (load.page.errors.length)
    throw new Error(`the metrics page reported errors under load: ${load.page.errors.join('; ')}`);
  const frames = frameStats(load.frames);
  const draws = await firstDrawTimes(runs);
  console.log(
    JSON.stringify({
      load: {
        seconds,
        events_per_s: RATE,
        frames: frames.frames,
        fps: round(frames.fps),
        p50_frame_ms: round(frames.p50_ms),
        p95_frame_ms: round(frames.p95_ms),
        max_frame_ms: round(frames.max_ms),
      },
      first_draw: { points: POINTS, runs, median_ms: round(median(draws)), max_ms: round(Math.max(...draws)) },
    }),
  );
}

// run as a script (the command below), not when `npm run bench` reads this module's rows
if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}

// ---- in BENCHMARKS.md (bench/benchmark.ts)

export const benchmarks: Benchmark[] = [
  {
    name: 'dashboard',
    command: 'node --import tsx bench/dashboard.ts --seconds 60 --runs 5',
    measure: () =>
      nodeJson(['--import', 'tsx', 'bench/dashboard.ts', '--seconds', '60', '--runs', '5'], 'bench/dashboard.ts'),
    rows: [
      {
        figure:
          'metrics dashboard under 2,000 events/s for 60 s (the load test’s scenario): frames per second in the page',
        goal: '> 10 (#21, from the load test)',
        value: (r) =>
          `${fixed(r.load.fps)} frames/s (${int(r.load.frames)} frames in ${r.load.seconds} s, headless Chromium)`,
        met: (r) => r.load.fps > 10,
      },
      {
        figure: 'the same: frame time, 95th percentile',
        goal: '< 100 ms (#21, from the load test)',
        value: (r) =>
          `${fixed(r.load.p95_frame_ms)} ms (median ${fixed(r.load.p50_frame_ms)}, slowest ${fixed(r.load.max_frame_ms)})`,
        met: (r) => r.load.p95_frame_ms < 100,
      },
      {
        figure: 'metrics page: a run of 100,000 points, from metrics/reset to the first draw',
        goal: '< 15 s (#21, from the webview test)',
        value: (r) =>
          `${fixed(r.first_draw.median_ms / 1000, 2)} s (median of ${r.first_draw.runs}; slowest ${fixed(r.first_draw.max_ms / 1000, 2)})`,
        met: (r) => r.first_draw.median_ms < 15_000,
      },
    ],
  },
];
