// Shared by the fuzz tests: fast-check with a fixed seed (WORDPLAY_FUZZ_SEED overrides it, to
// replay or explore) and a time budget per property instead of a run count, so CI time stays
// bounded; a failure is reported with its shrunk counterexample and the seed that found it.
import * as assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import * as fc from 'fast-check';

export const FUZZ_SEED = Number(process.env.WORDPLAY_FUZZ_SEED ?? 20_250_611);

export function fuzz<Ts>(t: TestContext, property: fc.IProperty<Ts>, seconds = 2): void {
  const started = Date.now();
  const details = fc.check(property, {
    seed: FUZZ_SEED,
    numRuns: Number.MAX_SAFE_INTEGER,
    plugins: [fc.interruptAfterTimeLimit(seconds * 1000)],
  });
  t.diagnostic(`${details.numRuns} runs in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${FUZZ_SEED})`);
  if (details.failed) assert.fail(fc.defaultReportMessage(details));
  assert.ok(details.numRuns > 0, 'no run fit in the time budget');
}
