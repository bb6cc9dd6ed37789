// A benchmark as `npm run bench` (bench/run.mjs) runs it and BENCHMARKS.md shows it. Each module
// of bench/ declares its own in `export const benchmarks`: how it runs (`wordplay <args>`
// printing JSON on its last line, or `measure`), what it records (that JSON, kept in
// bench/results.json) and how the table renders it (its rows). run.mjs collects them and runs them.

/** What a benchmark recorded: the JSON its command printed, as bench/results.json keeps it (it
 *  may come from an earlier version of the benchmark), read by the rows field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Recorded = any;

/** One row of BENCHMARKS.md's table. */
export interface Row {
  /** What is measured. */
  figure: string;
  /** The goal and the issue that set it, or —. */
  goal: string;
  value(result: Recorded): string;
  /** Whether the value meets the goal, where there is one. */
  met?(result: Recorded): boolean;
}

export interface Benchmark {
  /** Its name for `npm run bench -- --only`. */
  name: string;
  /** It runs `wordplay <args>`, whose last line of stdout is the result ... */
  args?: string[];
  /** ... or `measure` gives the result, and `command` is what the table shows for it. */
  measure?(): Promise<Recorded>;
  command?: string;
  /** A step before the measurement, not timed with it. */
  before?(): Promise<void>;
  /** It needs a GPU: on a machine without one it keeps its earlier result, and it comes last. */
  gpu?: boolean;
  /** The GPU check's step (bench/gpuCheck.mjs) whose result stands in for its own unless it
   *  measured later. */
  gpuCheck?: string;
  rows: Row[];
}

// ---- the formatting the rows share

export const int = (x: number) => Math.round(x).toLocaleString('en-US');
export const fixed = (x: number, digits = 1) => Number(x).toFixed(digits);
export const percent = (x: number) => `${fixed(100 * x)}%`;

/** A benchmark command's result, its one line on stdout (run.mjs reads it): fractions to 4 digits. */
export function printResult(result: object): void {
  console.log(
    JSON.stringify(result, (_key, v: unknown) =>
      typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(4)) : v,
    ),
  );
}
