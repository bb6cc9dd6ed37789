// The figures of `wordplay bench tokenizers` (bench/tokenizers.ts), pure: the speed from a
// calibration's events or CPU samples, the schedule sized from it, a real run's outcome, the pairs.
import { UserError } from '../src/core/common/errors';
import type { EvalEvent, RunEvent, TrainEvent } from '../src/core/run/events';
import type { Sample } from './pinned';

export const CONFIG = 'shakespeare-char-cpu';
export const WARMUP_FRACTION = 0.05;
/** Iterations left out of the speed measurement: the first ones run slower (allocator, caches). */
export const SKIP_ITERS = 2;
/** Iterations timed at least (after SKIP_ITERS and one to start the clock), however long the
 *  calibration takes for them. */
export const MIN_TIMED_ITERS = 4;

/** Iterations per second over a run's train events after the first `skip` iterations; null
 *  when there are fewer than two such events. */
export function iterationsPerSecond(events: RunEvent[], skip = SKIP_ITERS): number | null {
  const train = events.filter((e): e is TrainEvent => e.type === 'train' && e.iter > skip);
  if (train.length < 2) return null;
  const [first, last] = [train[0], train[train.length - 1]];
  return last.time > first.time ? (last.iter - first.iter) / (last.time - first.time) : null;
}

/** Iterations per CPU-second from a run's samples (taken every 100 ms): between the first
 *  sample to see an iteration past `skip` and the last to see a new one, each taken within a
 *  poll of its train event; null without two such samples or without CPU times. */
export function cpuRate(samples: Sample[], skip = SKIP_ITERS): number | null {
  const fresh = samples.filter((s, i) => s.cpu_s !== null && s.iter > skip && s.iter !== samples[i - 1]?.iter);
  if (fresh.length < 2) return null;
  const [a, b] = [fresh[0], fresh[fresh.length - 1]];
  return b.cpu_s! > a.cpu_s! ? (b.iter - a.iter) / (b.cpu_s! - a.cpu_s!) : null;
}

/** CPU seconds from the start event to the first train event at or past `iter`; null when the
 *  samples lack either. */
export function cpuUntil(samples: Sample[], iter: number): number | null {
  const start = samples.find((s) => s.started && s.cpu_s !== null);
  const end = samples.find((s) => s.iter >= iter && s.cpu_s !== null);
  return start && end ? end.cpu_s! - start.cpu_s! : null;
}

/** The schedule for a speed and a budget: max_iters (where the cosine decay ends) and the
 *  warmup, the same fraction of it for every tokenizer. */
export function schedule(itersPerSecond: number, seconds: number): { max_iters: number; warmup_iters: number } {
  const maxIters = Math.max(1, Math.floor(itersPerSecond * seconds));
  return { max_iters: maxIters, warmup_iters: Math.round(WARMUP_FRACTION * maxIters) };
}

export interface RunOutcome {
  n_params: number;
  iters: number;
  /** Start event to the last iteration's train event. */
  train_s: number;
  val_loss: number | null;
  val_bpb: number | null;
  stopped: boolean;
}

/** A real run's figures: its training time and the eval at its last iteration. */
export function runOutcome(events: RunEvent[], maxIters: number): RunOutcome {
  const start = events.find((e) => e.type === 'start');
  if (!start) throw new UserError('the run has no start event');
  const train = events.filter((e): e is TrainEvent => e.type === 'train');
  const last = train[train.length - 1];
  const final = events.find((e): e is EvalEvent => e.type === 'eval' && e.iter === maxIters);
  return {
    n_params: start.n_params_total ?? start.n_params,
    iters: last?.iter ?? 0,
    train_s: last ? last.time - start.time : 0,
    val_loss: final?.val_loss ?? null,
    val_bpb: final?.val_bpb ?? null,
    stopped: events.some((e) => e.type === 'done' && e.reason === 'stopped'),
  };
}

/** The runs in pairs, in order; an odd one out runs alone. */
export function pairs<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += 2) out.push(items.slice(i, i + 2));
  return out;
}
