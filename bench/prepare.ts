// `wordplay bench prepare`: prepare's throughput on tiny Shakespeare repeated to 100 MB, char,
// GPT-2 and a trained BPE, median of several runs (goals on one core: char >= 100 MB/s, GPT-2
// >= 5 MB/s; BPE: training the tokenizer >= 10 MB/s, encoding >= 5 MB/s), and with --large-mb,
// BPE once more on text repeated to that size (1,000: 1 GB) for its memory.
//
// The BPE figures split prepare into its phases, timed from its own onProgress reports (at most
// one per 200 ms, each with its phase): the tokenizer's training runs from the last `checking`
// report to the last `training tokenizer` one (the child's final progress line, sent once the
// tokenizer.json is written), the encoding from there to prepare's return (reading the
// tokenizer.json in and writing meta.json included). The check's end can be up to ~200 ms
// early, which lengthens the training phase; the training's end is late only if the final line
// came within 200 ms of the one before and went unreported, so the training time is taken as at
// least the child's own wall time (the wrapper's, below). Training MB/s is the training split's
// bytes (meta.json's train_bytes) over its phase; encoding MB/s is all the input bytes over its.
//
// The trainer's Python runs with RAYON_NUM_THREADS=1 (rustbpe's and tokenizers' thread pools:
// one thread) behind a small wrapper (WORDPLAY_PYTHON pointed at it) that reports the child's
// peak RSS, wall time and CPU time (getrusage of its children), so its CPU time over its wall
// time shows how many cores it used. prepare's own encoding is JavaScript on Node's main thread.
// prepare's memory: this process's peak RSS over the 100 MB runs (every tokenizer's), and the
// large run's in a fresh process of its own (this command with --runs 0), so that its figure is
// that run's alone (Node and the bundle's start-up included).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepare } from '../src/core/prepare/prepare';
import type { PrepareProgress } from '../src/core/prepare/progressMeter';
import { shakespeareText } from '../src/core/prepare/shakespeare';
import { resolvePython } from '../src/core/common/pythonEnv';
import { UserError } from '../src/core/common/errors';
import { numberOption, parseOptions } from '../src/core/common/options';
import { fixed, int, type Benchmark } from './benchmark';

export const benchPrepareUsage = `Usage: wordplay bench prepare [--mb 100] [--runs 3] [--vocab-size N] [--large-mb 0]

Prepares tiny Shakespeare repeated to --mb MB with char, gpt2 and bpe (--vocab-size: the size
prepare picks by default), --runs times each: MB/s, and for bpe the tokenizer's training and the
encoding apart, its Python child on one thread. --large-mb N also prepares text repeated to N MB
with bpe once, in a fresh process, for the peak memory of both processes (1000: 1 GB; it needs
about 1.5 times N MB of free disk in the temporary folder). --runs 0: only that.`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const mb = (bytes: number) => bytes / 1e6;

/** What the wrapper reports of one run of the trainer's Python. */
interface ChildUsage {
  wall_s: number;
  cpu_s: number;
  peak_rss_mb: number;
  code: number;
}

/**
 * A stand-in for WORDPLAY_PYTHON: runs the real interpreter with the same arguments and appends
 * the child's wall time, CPU time and peak RSS (getrusage(RUSAGE_CHILDREN)) as a
 * JSON line to `log`. Its own start-up (a plain Python, a few tens of ms) is inside the phase.
 */
function rusageWrapper(dir: string, log: string): string {
  const real = resolvePython(process.env).path;
  const script = path.join(dir, 'rusage.py');
  fs.writeFileSync(
    script,
    [
      'import json, resource, subprocess, sys, time',
      'start = time.monotonic()',
      `code = subprocess.call([${JSON.stringify(real)}, *sys.argv[1:]])`,
      'wall = time.monotonic() - start',
      'ru = resource.getrusage(resource.RUSAGE_CHILDREN)',
      'rss_mb = ru.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)  # bytes on macOS, kB on Linux',
      `with open(${JSON.stringify(log)}, "a") as f:`,
      '    f.write(json.dumps({"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": rss_mb, "code": code}) + "\\n")',
      'sys.exit(code)',
      '',
    ].join('\n'),
  );
  const launcher = path.join(dir, 'python');
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  fs.writeFileSync(launcher, `#!/bin/sh\nexec ${quote(real)} ${quote(script)} "$@"\n`, { mode: 0o755 });
  return launcher;
}

function lastUsage(log: string): ChildUsage {
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as ChildUsage;
}

/** Writes `source` over and over until the file holds at least `bytes`. */
function repeatTo(file: string, source: Buffer, bytes: number): number {
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0; written < bytes; written += source.length) fs.writeSync(fd, source);
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(file).size;
}

interface BpeRun {
  total_s: number;
  train_s: number;
  encode_s: number;
  train_mb_per_s: number;
  encode_mb_per_s: number;
  vocab_size: number;
  train_bytes: number;
  child: ChildUsage;
}

/** One bpe prepare, its phases timed from its progress reports (see the header). */
async function bpeRun(
  input: string,
  out: string,
  vocabSize: number | undefined,
  env: NodeJS.ProcessEnv,
  usageLog: string,
): Promise<BpeRun> {
  fs.rmSync(out, { recursive: true, force: true });
  const last: Partial<Record<PrepareProgress['phase'], number>> = {};
  const started = performance.now();
  const { meta } = await prepare({
    input,
    tokenizer: 'bpe',
    vocabSize,
    out,
    env,
    onProgress: (p) => (last[p.phase] = performance.now()),
  });
  const ended = performance.now();
  const checkEnd = last.checking ?? started;
  const trainEnd = last['training tokenizer'];
  if (trainEnd === undefined)
    throw new UserError('prepare reported no "training tokenizer" phase: the BPE figures cannot be split');
  const inputBytes = meta.train_bytes! + meta.val_bytes!;
  const child = lastUsage(usageLog);
  const train_s = Math.max((trainEnd - checkEnd) / 1000, child.wall_s);
  const encode_s = (ended - trainEnd) / 1000;
  return {
    total_s: (ended - started) / 1000,
    train_s,
    encode_s,
    train_mb_per_s: mb(meta.train_bytes!) / train_s,
    encode_mb_per_s: mb(inputBytes) / encode_s,
    vocab_size: meta.vocab_size,
    train_bytes: meta.train_bytes!,
    child,
  };
}

const childFigures = (c: ChildUsage) => ({
  wall_s: round(c.wall_s, 2),
  cpu_s: round(c.cpu_s, 2),
  cores: round(c.cpu_s / c.wall_s, 2),
  peak_rss_mb: Math.round(c.peak_rss_mb),
});

export async function benchPrepare(args: string[]): Promise<number> {
  const opts = parseOptions(
    args,
    {
      mb: { type: 'string' },
      runs: { type: 'string' },
      'vocab-size': { type: 'string' },
      'large-mb': { type: 'string' },
    },
    benchPrepareUsage,
  );
  const targetBytes = numberOption(opts.mb, 'mb', 100) * 1e6;
  const runs = numberOption(opts.runs, 'runs', 3);
  const vocabSize = opts['vocab-size'] === undefined ? undefined : numberOption(opts['vocab-size'], 'vocab-size', 0);
  const largeBytes = numberOption(opts['large-mb'], 'large-mb', 0) * 1e6;
  if (process.platform === 'win32')
    throw new UserError("bench prepare wraps the trainer's Python in a shell script: run it on Linux or macOS.");
  if (!Number.isInteger(runs) || runs < 0)
    throw new UserError('--runs must be a whole number (0: only the --large-mb run).');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-prepare-'));
  try {
    const source = shakespeareText();
    const usageLog = path.join(work, 'rusage.jsonl');
    const env = {
      ...process.env,
      WORDPLAY_PYTHON: rusageWrapper(work, usageLog),
      RAYON_NUM_THREADS: '1', // rustbpe's and tokenizers' thread pools
      TOKENIZERS_PARALLELISM: 'false',
      OMP_NUM_THREADS: '1',
    };
    const result: Record<string, unknown> = { runs };
    if (runs > 0) Object.assign(result, await repeatedRuns(work, source, targetBytes, runs, vocabSize, env, usageLog));
    if (largeBytes > 0 && runs > 0) {
      // in a process of its own, so that prepare's peak RSS is that run's alone
      result.large = await largeInChild(largeBytes, vocabSize);
    } else if (largeBytes > 0) {
      result.large = await largeRun(work, source, largeBytes, vocabSize, env, usageLog);
    }
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The --runs runs of each tokenizer on text repeated to targetBytes. */
async function repeatedRuns(
  work: string,
  source: Buffer,
  targetBytes: number,
  runs: number,
  vocabSize: number | undefined,
  env: NodeJS.ProcessEnv,
  usageLog: string,
) {
  const corpus = path.join(work, 'corpus.txt');
  const megabytes = mb(repeatTo(corpus, source, targetBytes));
  const result: Record<string, unknown> = { input_mb: round(megabytes) };
  for (const tokenizer of ['char', 'gpt2'] as const) {
    const rates: number[] = [];
    for (let r = 0; r < runs; r++) {
      const out = path.join(work, `ds-${tokenizer}`);
      fs.rmSync(out, { recursive: true, force: true });
      const started = process.hrtime.bigint();
      await prepare({ input: corpus, tokenizer, out });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      rates.push(megabytes / seconds);
      console.error(`${tokenizer} run ${r + 1}/${runs}: ${(megabytes / seconds).toFixed(1)} MB/s`);
    }
    result[`${tokenizer}_mb_per_s`] = round(median(rates));
    fs.rmSync(path.join(work, `ds-${tokenizer}`), { recursive: true, force: true });
  }

  const bpeRuns: BpeRun[] = [];
  for (let r = 0; r < runs; r++) {
    const run = await bpeRun(corpus, path.join(work, 'ds-bpe'), vocabSize, env, usageLog);
    bpeRuns.push(run);
    console.error(
      `bpe run ${r + 1}/${runs}: training ${run.train_mb_per_s.toFixed(1)} MB/s (${run.train_s.toFixed(2)} s; its child ${run.child.wall_s.toFixed(2)} s, ` +
        `${(run.child.cpu_s / run.child.wall_s).toFixed(2)} cores, ${Math.round(run.child.peak_rss_mb)} MB), encoding ${run.encode_mb_per_s.toFixed(1)} MB/s (${run.encode_s.toFixed(2)} s); vocab ${run.vocab_size}`,
    );
  }
  fs.rmSync(path.join(work, 'ds-bpe'), { recursive: true, force: true });
  fs.rmSync(corpus, { force: true });
  // the run with the median training rate gives the child's figures beside it
  const mid = [...bpeRuns].sort((a, b) => a.train_mb_per_s - b.train_mb_per_s)[Math.floor(runs / 2)];
  result.bpe = {
    vocab_size: bpeRuns[0].vocab_size,
    threads: 1,
    train_mb: round(mb(bpeRuns[0].train_bytes)),
    train_mb_per_s: round(median(bpeRuns.map((r) => r.train_mb_per_s))),
    encode_mb_per_s: round(median(bpeRuns.map((r) => r.encode_mb_per_s))),
    mb_per_s: round(median(bpeRuns.map((r) => megabytes / r.total_s))),
    train_s: round(median(bpeRuns.map((r) => r.train_s)), 2),
    encode_s: round(median(bpeRuns.map((r) => r.encode_s)), 2),
    child: childFigures(mid.child),
    child_peak_rss_mb: Math.round(Math.max(...bpeRuns.map((r) => r.child.peak_rss_mb))),
  };
  // every tokenizer's runs, this process's own peak
  result.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
  return result;
}

/** bpe once on text repeated to largeBytes: its rates, and the peak RSS of this process (all of
 *  it: run it in a fresh one) and of the trainer's Python. */
async function largeRun(
  work: string,
  source: Buffer,
  largeBytes: number,
  vocabSize: number | undefined,
  env: NodeJS.ProcessEnv,
  usageLog: string,
) {
  const large = path.join(work, 'large.txt');
  const largeMb = mb(repeatTo(large, source, largeBytes));
  console.error(`bpe on ${largeMb.toFixed(0)} MB (once, for its memory)`);
  const run = await bpeRun(large, path.join(work, 'ds-large'), vocabSize, env, usageLog);
  const nodePeak = process.resourceUsage().maxRSS / 1024;
  console.error(
    `large: training ${run.train_mb_per_s.toFixed(1)} MB/s, encoding ${run.encode_mb_per_s.toFixed(1)} MB/s; peak RSS: prepare's process ${Math.round(nodePeak)} MB, ` +
      `its Python ${Math.round(run.child.peak_rss_mb)} MB; vocab ${run.vocab_size}`,
  );
  return {
    input_mb: round(largeMb),
    vocab_size: run.vocab_size,
    train_mb_per_s: round(run.train_mb_per_s),
    encode_mb_per_s: round(run.encode_mb_per_s),
    train_s: round(run.train_s, 2),
    encode_s: round(run.encode_s, 2),
    node_peak_rss_mb: Math.round(nodePeak),
    child: childFigures(run.child),
  };
}

/** largeRun in a fresh process: this same command with --runs 0. */
async function largeInChild(largeBytes: number, vocabSize: number | undefined): Promise<unknown> {
  const args = [
    ...process.execArgv,
    process.argv[1],
    'bench',
    'prepare',
    '--runs',
    '0',
    '--large-mb',
    String(largeBytes / 1e6),
  ];
  if (vocabSize !== undefined) args.push('--vocab-size', String(vocabSize));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (data: string) => (stdout += data));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new UserError(`the --large-mb run (${process.execPath} ${args.join(' ')}) exited with ${code}`);
  return (JSON.parse(stdout.trim().split('\n').pop()!) as { large: unknown }).large;
}

// ---- in BENCHMARKS.md (bench/benchmark.ts)

export const benchmarks: Benchmark[] = [
  {
    name: 'prepare',
    args: ['bench', 'prepare', '--runs', '5', '--large-mb', '1000'],
    rows: [
      {
        figure: 'prepare, char-level',
        goal: '≥ 100 MB/s on one core (#2)',
        value: (r) =>
          `${fixed(r.char_mb_per_s)} MB/s (median of ${r.runs} runs, ${fixed(r.input_mb)} MB of tiny Shakespeare repeated)`,
        met: (r) => r.char_mb_per_s >= 100,
      },
      {
        figure: 'prepare, GPT-2 BPE',
        goal: '≥ 5 MB/s on one core (#2)',
        value: (r) => `${fixed(r.gpt2_mb_per_s)} MB/s (median of ${r.runs} runs, same input)`,
        met: (r) => r.gpt2_mb_per_s >= 5,
      },
      {
        figure:
          'prepare, trained BPE: training the tokenizer (the `training tokenizer` phase: the trainer’s Python, rustbpe, one thread)',
        goal: '≥ 10 MB/s on one core (#17)',
        value: (r) =>
          r.bpe
            ? `${fixed(r.bpe.train_mb_per_s)} MB/s of training text (median of ${r.runs} runs: ${fixed(r.bpe.train_mb)} MB in ${fixed(r.bpe.train_s, 2)} s; vocab ${int(r.bpe.vocab_size)}; ` +
              `its Python: ${fixed(r.bpe.child.cores, 2)} cores of CPU time over its wall time)`
            : 'not in this result',
        met: (r) => r.bpe?.train_mb_per_s >= 10,
      },
      {
        figure: 'prepare, trained BPE: encoding (the `encoding` phase, both splits)',
        goal: '≥ 5 MB/s on one core (#17)',
        value: (r) =>
          r.bpe
            ? `${fixed(r.bpe.encode_mb_per_s)} MB/s (median of ${r.runs} runs: ${fixed(r.input_mb)} MB in ${fixed(r.bpe.encode_s, 2)} s; the whole prepare ${fixed(r.bpe.mb_per_s)} MB/s)`
            : 'not in this result',
        met: (r) => r.bpe?.encode_mb_per_s >= 5,
      },
      {
        figure: 'prepare, peak memory of the benchmark process',
        goal: '< 500 MB RSS (#2)',
        value: (r) =>
          `${int(r.peak_rss_mb)} MB RSS (${fixed(r.input_mb)} MB input, ${r.bpe ? 'char, GPT-2 and trained BPE' : 'both tokenizers'}; 1 GB: the next row)`,
        met: (r) => r.peak_rss_mb < 500,
      },
      {
        figure: 'prepare, trained BPE, peak memory: the trainer’s Python (tokenizer training) and prepare’s process',
        goal: 'memory bounded for 1 GB of text (#17): each under #2’s 500 MB',
        value: (r) =>
          r.large
            ? `1 GB (${fixed(r.large.input_mb, 0)} MB, vocab ${int(r.large.vocab_size)}): Python ${int(r.large.child.peak_rss_mb)} MB, prepare ${int(r.large.node_peak_rss_mb)} MB RSS ` +
              `(a process of its own); ${fixed(r.input_mb)} MB: Python ${int(r.bpe.child_peak_rss_mb)} MB. The 1 GB run: ${fixed(r.large.train_mb_per_s)} MB/s training, ` +
              `${fixed(r.large.encode_mb_per_s)} MB/s encoding, once`
            : 'not in this result',
        met: (r) => r.large?.child.peak_rss_mb < 500 && r.large?.node_peak_rss_mb < 500,
      },
    ],
  },
];
