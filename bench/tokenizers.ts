// `wordplay bench tokenizers`: which tokenizer gives the lowest val bits per byte when the same
// small model trains for the same time on one CPU core (#17's goal: the trained BPE). The corpus
// is code every Python installation ships: the `.py` files of the trainer's Python's standard
// library (sysconfig's "stdlib" path; site-packages and dist-packages left out; files that are
// empty, not UTF-8 or hold a NUL byte skipped, as prepare would refuse the last two), copied
// into a temporary folder (pythonCorpus.ts; optionally a sample of files up to --corpus-mb) and
// prepared once per tokenizer: char, GPT-2 and the trained BPE at several vocabulary sizes.
// prepare puts <|endoftext|> between the files for GPT-2 and BPE; its split holds out the last
// 10% of the text (the last files in path order) for validation.
//
// The model is the same for every tokenizer: the shakespeare-char-cpu preset (4 layers × 128,
// RoPE, RMSNorm, SwiGLU, tied embeddings, Muon) at block 128, batch 16, with the same optimizer
// settings; only the vocabulary differs, so its embedding and head grow with it: what a larger
// vocabulary costs per token is part of what is measured. Each run has one core (taskset) and
// one thread (OMP_NUM_THREADS=1); the runs go two at a time, side by side on the two cores.
//
// The clock is each trainer's own CPU time (/proc/<pid>/stat, sampled every 100 ms), which on an
// idle core is its wall time: on a shared machine other work takes slices of our cores at random,
// and a wall-time budget would give each run whatever compute the others left it. Where /proc is
// missing, wall time stands in (`clock` says which).
//
// Fairness of the schedule. A run that is cut off mid-schedule (learning rate still high) is
// penalised against one whose schedule has ended, and the vocabularies train at very different
// iterations per second, so the schedule is sized per tokenizer from its measured speed: just
// before each pair's run, the same pair trains on the same cores for --calibrate-s seconds (and
// at least 7 iterations; max_iters out of reach, no evaluation, a train event every iteration),
// stopped with SIGINT; its speed is iterations per CPU second after the first two iterations.
// The real run then gets max_iters = that speed × --seconds, with the cosine decay ending there
// (lr_decay_iters: max_iters) and the warmup the same fraction of it for every tokenizer (5%),
// so every schedule has the same shape in time and ends at about --seconds. Its one evaluation
// is at max_iters, the trainer's own (eval_iters batches of val and of train, the same batches
// every time), and the figure is that eval event's val_bpb (val loss × val tokens ÷ val bytes ÷
// ln 2, from meta.json). The evaluation and the start-up are outside the budget: the training
// time is from the start event to the train event of the last iteration, reported beside each
// figure in CPU seconds (train_cpu_s) and wall seconds (train_s), so a calibration that missed
// shows. Evaluating inside the budget would have charged each tokenizer its own evaluation cost
// (GPT-2's head makes its evaluation many times slower than char's), and stopping every run at
// exactly --seconds would have cut a schedule short wherever the calibration erred, with no
// evaluation at the stop. A run still training at 3 × --seconds + 60 s of wall time is stopped
// and has no figure (a bound on the bench only).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/core/common/errors';
import { TRAIN_FRACTION } from '../src/core/prepare/dataset';
import { prepare } from '../src/core/prepare/prepare';
import { defaultBpeVocab } from '../src/core/prepare/trainBpe';
import { numberOption, parseOptions } from '../src/core/common/options';
import { canPin, trainPinned, type PinnedOptions, type Sample } from './pinned';
import { printResult } from './benchmark';
import { copyCorpus } from './pythonCorpus';
import type { RunEvent } from '../src/core/run/events';
import {
  CONFIG,
  cpuRate,
  cpuUntil,
  iterationsPerSecond,
  MIN_TIMED_ITERS,
  pairs,
  runOutcome,
  schedule,
  SKIP_ITERS,
  WARMUP_FRACTION,
} from './tokenizerFigures';

export const benchTokenizersUsage = `Usage: wordplay bench tokenizers [--seconds 180] [--vocab-sizes 1024,4096,8192,16384] [--corpus-mb 0] [--calibrate-s 20] [--block-size 128] [--batch-size 16] [--eval-iters 20]

Trains the same small model (shakespeare-char-cpu's architecture) for the same --seconds of CPU
time on the .py files of the trainer's Python's standard library with char, GPT-2 and a trained
BPE of each --vocab-sizes, two runs at a time, one core and one thread each; the schedule is
sized from each tokenizer's speed in a --calibrate-s run just before. --corpus-mb N keeps a
sample of the files up to N MB (0: all). The last line is JSON: per tokenizer, the vocabulary, the
dataset's tokens and tokens per byte, the iterations and training seconds (CPU and wall), tokens
per CPU second, the final val loss and val bits per byte; the corpus; and which tokenizer gave
the lowest val bits per byte.`;

// --- the bench --------------------------------------------------------------------------------

interface Entry {
  name: string;
  tokenizer: 'char' | 'gpt2' | 'bpe';
  vocabSize?: number;
  dataset: string;
  vocab_size: number;
  train_tokens: number;
  val_tokens: number;
  tokens_per_byte: number;
  core: number | null;
  pair: number;
}

const orDash = (x: number | null, digits: number) => (x === null ? '—' : x.toFixed(digits));

export async function benchTokenizers(args: string[]): Promise<number> {
  const opts = parseOptions(
    args,
    {
      seconds: { type: 'string' },
      'vocab-sizes': { type: 'string' },
      'corpus-mb': { type: 'string' },
      'calibrate-s': { type: 'string' },
      'block-size': { type: 'string' },
      'batch-size': { type: 'string' },
      'eval-iters': { type: 'string' },
    },
    benchTokenizersUsage,
  );
  const seconds = numberOption(opts.seconds, 'seconds', 180);
  const calibrateS = numberOption(opts['calibrate-s'], 'calibrate-s', 20);
  const corpusMb = numberOption(opts['corpus-mb'], 'corpus-mb', 0);
  const blockSize = numberOption(opts['block-size'], 'block-size', 128);
  const batchSize = numberOption(opts['batch-size'], 'batch-size', 16);
  const evalIters = numberOption(opts['eval-iters'], 'eval-iters', 20);
  const vocabSizes = (opts['vocab-sizes'] ?? '1024,4096,8192,16384')
    .split(',')
    .map((v) => numberOption(v.trim(), 'vocab-sizes', NaN));
  if (vocabSizes.some((v) => !Number.isInteger(v)))
    throw new UserError('--vocab-sizes takes whole numbers separated by commas, e.g. 1024,4096.');
  const pinned = canPin();
  if (!pinned)
    console.error('tokenizers: taskset or a second core is missing: the runs go one after the other, unpinned');
  const say = (line: string) => console.error(`tokenizers: ${line}`);
  const benchStarted = Date.now();

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-tokenizers-'));
  try {
    const corpus = copyCorpus(work, corpusMb * 1e6);
    say(
      `corpus: ${corpus.files} .py files of ${corpus.stdlib} (Python ${corpus.python}), ${(corpus.bytes / 1e6).toFixed(1)} MB`,
    );

    // char, then the BPEs from the smallest, then GPT-2 beside the largest: the two slowest
    // evaluations in the same pair
    const specs: Pick<Entry, 'name' | 'tokenizer' | 'vocabSize'>[] = [
      { name: 'char', tokenizer: 'char' },
      ...[...vocabSizes]
        .sort((a, b) => a - b)
        .map((v) => ({ name: `bpe-${v}`, tokenizer: 'bpe' as const, vocabSize: v })),
      { name: 'gpt2', tokenizer: 'gpt2' },
    ];
    const entries: Entry[] = [];
    let trainBytes = 0;
    let valBytes = 0;
    for (const [i, spec] of specs.entries()) {
      const started = Date.now();
      const { dir, meta } = await prepare({
        input: corpus.dir,
        tokenizer: spec.tokenizer,
        vocabSize: spec.vocabSize,
        out: path.join(work, `ds-${spec.name}`),
      });
      trainBytes = meta.train_bytes!;
      valBytes = meta.val_bytes!;
      const entry: Entry = {
        ...spec,
        dataset: dir,
        vocab_size: meta.vocab_size,
        train_tokens: meta.train_tokens,
        val_tokens: meta.val_tokens,
        tokens_per_byte: (meta.train_tokens + meta.val_tokens) / (trainBytes + valBytes),
        core: pinned ? i % 2 : null,
        pair: Math.floor(i / 2),
      };
      entries.push(entry);
      say(
        `prepared ${spec.name} in ${((Date.now() - started) / 1000).toFixed(1)} s: vocab ${meta.vocab_size}, ${meta.train_tokens.toLocaleString('en-US')} train and ${meta.val_tokens.toLocaleString('en-US')} val tokens, ${entry.tokens_per_byte.toFixed(3)} tokens per byte`,
      );
    }

    // the preset trains on the CPU, not compiled
    const common = [
      `model.block_size=${blockSize}`,
      `train.batch_size=${batchSize}`,
      'train.sample_tokens=0',
      'train.always_save_checkpoint=false',
    ];
    /** One phase of a pair: its runs side by side (or one after the other, unpinned); their
     *  events and their samples. */
    const side = async (
      phase: string,
      pair: Entry[],
      setsFor: (e: Entry) => string[],
      stopAfter: PinnedOptions['stopAfter'],
    ) => {
      const samples = pair.map((): Sample[] => []);
      say(`${phase}: ${pair.map((e) => `${e.name}${e.core === null ? '' : ` on core ${e.core}`}`).join(', ')}`);
      const abort = new AbortController();
      let failure: unknown;
      const go = (e: Entry, i: number) =>
        trainPinned(
          {
            label: `${phase} ${e.name}`,
            config: CONFIG,
            core: e.core,
            runDir: path.join(work, `${phase}-${e.name}`),
            sets: [`data.dataset=${e.dataset}`, ...common, ...setsFor(e)],
          },
          { signal: abort.signal, say, stopAfter, onSample: (sample) => samples[i].push(sample) },
        ).catch((err: unknown) => {
          failure ??= err;
          abort.abort(); // the other run of the pair is of no use now
          return [];
        });
      const events = pinned
        ? await Promise.all(pair.map(go))
        : [await go(pair[0], 0), ...(pair[1] ? [await go(pair[1], 1)] : [])];
      if (failure) throw failure;
      return pair.map((_, i) => ({ events: events[i], samples: samples[i] }));
    };

    const never = 1_000_000_000;
    // a bound on the bench, not part of the figures: a run slowed to a third of its core by
    // other work still finishes
    const cap = 3 * seconds + 60;
    const speeds = new Map<Entry, { rate: number; clock: 'cpu' | 'wall' }>();
    const plans = new Map<Entry, ReturnType<typeof schedule>>();
    const real = new Map<Entry, { events: RunEvent[]; samples: Sample[] }>();
    for (const pair of pairs(entries)) {
      // 1. the speed of each, in its pair, just before its run
      const calibration = await side(
        'calibrate',
        pair,
        () => [`train.max_iters=${never}`, `train.eval_interval=${never}`, 'train.log_interval=1'],
        {
          seconds: calibrateS,
          iters: SKIP_ITERS + 1 + MIN_TIMED_ITERS,
        },
      );
      pair.forEach((e, i) => {
        const cpu = cpuRate(calibration[i].samples);
        const speed =
          cpu === null
            ? { rate: iterationsPerSecond(calibration[i].events)!, clock: 'wall' as const }
            : { rate: cpu, clock: 'cpu' as const };
        speeds.set(e, speed);
        plans.set(e, schedule(speed.rate, seconds));
        say(
          `${e.name}: ${speed.rate.toFixed(3)} iterations per ${speed.clock === 'cpu' ? 'CPU ' : ''}second: ${plans.get(e)!.max_iters} iterations`,
        );
      });
      // 2. the same time each, the schedule ending there
      const trained = await side(
        'train',
        pair,
        (e) => {
          const plan = plans.get(e)!;
          return [
            `train.max_iters=${plan.max_iters}`,
            `train.eval_interval=${plan.max_iters}`,
            `train.eval_iters=${evalIters}`,
            'train.log_interval=10',
            `optimizer.warmup_iters=${plan.warmup_iters}`,
          ];
        },
        { seconds: cap },
      );
      pair.forEach((e, i) => real.set(e, trained[i]));
    }

    const tokensPerIter = blockSize * batchSize;
    const tokenizers = entries.map((e) => {
      const plan = plans.get(e)!;
      const { events, samples } = real.get(e)!;
      const outcome = runOutcome(events, plan.max_iters);
      const trainCpuS = cpuUntil(samples, plan.max_iters);
      const tokensPerS = outcome.train_s > 0 ? (outcome.iters * tokensPerIter) / outcome.train_s : 0;
      const tokensPerCpuS = trainCpuS ? (outcome.iters * tokensPerIter) / trainCpuS : null;
      return {
        name: e.name,
        tokenizer: e.tokenizer,
        vocab_size: e.vocab_size,
        ...(e.tokenizer === 'bpe'
          ? { prepare_default: e.vocab_size === defaultBpeVocab(TRAIN_FRACTION * (trainBytes + valBytes)) }
          : {}),
        train_tokens: e.train_tokens,
        val_tokens: e.val_tokens,
        tokens_per_byte: e.tokens_per_byte,
        core: e.core,
        pair: e.pair,
        calibrated_iters_per_s: speeds.get(e)!.rate,
        clock: speeds.get(e)!.clock,
        ...plan,
        ...outcome,
        train_cpu_s: trainCpuS,
        tokens_per_s: tokensPerS,
        tokens_per_cpu_s: tokensPerCpuS,
        bytes_per_cpu_s: tokensPerCpuS === null ? null : tokensPerCpuS / e.tokens_per_byte,
      };
    });
    const ranked = tokenizers.filter((t) => t.val_bpb !== null).sort((a, b) => a.val_bpb! - b.val_bpb!);
    const lowest = ranked[0];
    const bpeBest = ranked.find((t) => t.tokenizer === 'bpe');
    const result = {
      seconds,
      calibrate_s: calibrateS,
      pinned,
      threads: 1,
      cpus: os.cpus().length,
      corpus: {
        python: corpus.python,
        stdlib: corpus.stdlib,
        files: corpus.files,
        skipped: corpus.skipped,
        mb: corpus.bytes / 1e6,
        capped_mb: corpusMb > 0 ? corpusMb : null,
        train_mb: trainBytes / 1e6,
        val_mb: valBytes / 1e6,
      },
      model: {
        config: CONFIG,
        block_size: blockSize,
        batch_size: batchSize,
        eval_iters: evalIters,
        warmup_fraction: WARMUP_FRACTION,
      },
      tokenizers,
      lowest: lowest?.name ?? null,
      lowest_bpb: lowest?.val_bpb ?? null,
      bpe_lowest: lowest?.tokenizer === 'bpe',
      best_bpe: bpeBest?.name ?? null,
      bench_s: (Date.now() - benchStarted) / 1000,
    };
    for (const t of tokenizers) {
      say(
        `${t.name.padEnd(10)} vocab ${String(t.vocab_size).padStart(6)}, ${t.tokens_per_byte.toFixed(3)} tokens/byte, ${t.iters}/${t.max_iters} iterations in ${orDash(t.train_cpu_s, 1)} CPU s ` +
          `(${t.train_s.toFixed(1)} s wall; ${orDash(t.tokens_per_cpu_s, 0)} tokens and ${orDash(t.bytes_per_cpu_s, 0)} bytes per CPU s): val loss ${orDash(t.val_loss, 4)}, ${orDash(t.val_bpb, 4)} bits per byte${t.stopped ? ' (stopped at the cap)' : ''}`,
      );
    }
    say(
      `lowest val bits per byte: ${lowest ? `${lowest.name} (${lowest.val_bpb!.toFixed(4)})` : 'none'}; ${result.bpe_lowest ? 'a trained BPE' : 'not a trained BPE'}`,
    );
    printResult(result);
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
