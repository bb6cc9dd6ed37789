// Shared by the fuzz tests: fast-check with a fixed seed and a fixed number of runs per property,
// so every run checks the same inputs whatever the machine's speed (as the Python fuzzers do:
// hypothesis, derandomized, max_examples). WORDPLAY_FUZZ_SEED and WORDPLAY_FUZZ_RUNS (the runs
// of every property) override them, to replay or explore; a failure is reported with its shrunk
// counterexample and the seed that found it.
import * as assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import * as fc from 'fast-check';

export const FUZZ_SEED = Number(process.env.WORDPLAY_FUZZ_SEED ?? 20_250_611);
const FUZZ_RUNS = process.env.WORDPLAY_FUZZ_RUNS === undefined ? undefined : Number(process.env.WORDPLAY_FUZZ_RUNS);

/** Checks `property` on `runs` generated inputs (WORDPLAY_FUZZ_RUNS, when set). */
export function fuzz<Ts>(t: TestContext, property: fc.IProperty<Ts>, runs: number): void {
  const numRuns = FUZZ_RUNS ?? runs;
  const started = Date.now();
  const details = fc.check(property, { seed: FUZZ_SEED, numRuns });
  t.diagnostic(`${details.numRuns} runs (seed ${FUZZ_SEED}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (details.failed) assert.fail(fc.defaultReportMessage(details));
}
