// events.jsonl (schemas/events.schema.json): typed events, a parser that ignores a torn last
// line and any line the schema does not allow, and a follower that tails the growing file. The
// extension follows this file, not the trainer's stdout, so it can reattach to a run after a
// reload or to one started elsewhere.
import * as fs from 'node:fs';
import Ajv, { type ValidateFunction } from 'ajv';
import { schemaPath } from '../common/paths';
import { FileTail } from './tail';

interface Base {
  time: number;
}
export interface StartEvent extends Base {
  type: 'start';
  iter: number;
  max_iters: number;
  pid: number;
  device: string;
  dtype: string;
  n_params: number;
  /** Every parameter (trainers before 2026-12 did not write it). */
  n_params_total?: number;
  tokens_per_iter: number;
  world_size?: number;
  /** PyTorch's version and rank 0's CPU threads (trainers before 2026-12 did not write them). */
  torch?: string;
  threads?: number;
  /** The peak FLOP/s mfu is against (a GPU's from its table, the CPU's measured; null: none
   *  known) and how it was found (trainers before 2026-12 did not write them). */
  peak_flops?: number | null;
  peak_source?: string;
  /** The run's train.target_val_loss; absent when it has none. */
  target_val_loss?: number;
  /** The run's train.time_budget_s, counted from this start; absent without a budget. */
  time_budget_s?: number;
}
export interface TrainEvent extends Base {
  type: 'train';
  iter: number;
  loss: number;
  lr: number;
  dt_ms: number;
  tokens_per_s: number;
  mfu: number | null;
  /** Seconds since the trainer began its set-up: the budget's clock (older trainers lack it). */
  elapsed_s?: number;
}
export interface EvalEvent extends Base {
  type: 'eval';
  iter: number;
  train_loss: number;
  /** Nats per token. */
  val_loss: number;
  /** Val bits per byte (val_loss × val_tokens ÷ val_bytes ÷ ln 2): comparable across
   *  tokenizers. Absent when the dataset's meta.json lacks the byte counts (prepared before
   *  they were recorded) and from older trainers. */
  val_bpb?: number;
}
export interface CheckpointEvent extends Base {
  type: 'checkpoint';
  iter: number;
  val_loss?: number | null;
}
export interface SampleEvent extends Base {
  type: 'sample';
  iter: number;
  tokens: number[];
}
export interface DoneEvent extends Base {
  type: 'done';
  reason: 'finished' | 'stopped' | 'error';
  iter?: number;
  /** With reason finished: the run ended early because val loss reached this target. */
  target_val_loss?: number;
}
export interface ErrorEvent extends Base {
  type: 'error';
  message: string;
  key?: string;
  iter?: number;
}
export type RunEvent = StartEvent | TrainEvent | EvalEvent | CheckpointEvent | SampleEvent | DoneEvent | ErrorEvent;

let schemaCheck: ValidateFunction | undefined;

/** Whether a parsed line is an event as schemas/events.schema.json describes it. A line that is
 *  not (a damaged or foreign file) is skipped like a torn one, so no reader ever meets, say, a
 *  train event without its loss. */
function isEvent(value: unknown): value is RunEvent {
  schemaCheck ??= new Ajv({ strict: false }).compile(JSON.parse(fs.readFileSync(schemaPath('events'), 'utf8')));
  return schemaCheck(value);
}

function parseLine(line: string): RunEvent | undefined {
  if (!line.trim()) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (isEvent(value)) return value;
  } catch {
    // a torn line (the writer was killed mid-line) or garbage: skipped
  }
  return undefined;
}

/** Every complete event of an events.jsonl text; a torn last line, garbage and lines that are
 *  not events of the schema are ignored. */
export function parseEvents(text: string): RunEvent[] {
  return text
    .split('\n')
    .map(parseLine)
    .filter((e): e is RunEvent => e !== undefined);
}

export function readEvents(file: string): RunEvent[] {
  return fs.existsSync(file) ? parseEvents(fs.readFileSync(file, 'utf8')) : [];
}

/** Tails a growing events.jsonl: each poll() returns the events completed since the last one
 *  (a half-written line waits for its newline; see FileTail). */
export class EventFollower {
  private readonly tail: FileTail;

  constructor(
    readonly file: string,
    options: { fromStart?: boolean } = {},
  ) {
    this.tail = new FileTail(file, options);
  }

  poll(): RunEvent[] {
    return parseEvents(this.tail.poll().join('\n'));
  }

  /** Yields events as they are appended until `signal` aborts or a `done` event arrives. */
  async *follow(
    options: { signal?: AbortSignal; pollMs?: number; untilDone?: boolean } = {},
  ): AsyncGenerator<RunEvent> {
    const pollMs = options.pollMs ?? 200;
    const untilDone = options.untilDone ?? true;
    while (!options.signal?.aborted) {
      for (const event of this.poll()) {
        yield event;
        if (untilDone && event.type === 'done') return;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
