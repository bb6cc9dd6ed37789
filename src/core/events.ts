// events.jsonl (schemas/events.schema.json): typed events, a parser that ignores a torn last
// line, and a follower that tails the growing file. The extension follows this file, not the
// trainer's stdout, so it can reattach to a run after a reload or to one started elsewhere.
import * as fs from 'node:fs';

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
  tokens_per_iter: number;
  world_size?: number;
}
export interface TrainEvent extends Base {
  type: 'train';
  iter: number;
  loss: number;
  lr: number;
  dt_ms: number;
  tokens_per_s: number;
  mfu: number | null;
}
export interface EvalEvent extends Base {
  type: 'eval';
  iter: number;
  train_loss: number;
  val_loss: number;
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
}
export interface ErrorEvent extends Base {
  type: 'error';
  message: string;
  key?: string;
  iter?: number;
}
export type RunEvent = StartEvent | TrainEvent | EvalEvent | CheckpointEvent | SampleEvent | DoneEvent | ErrorEvent;

const TYPES = new Set(['start', 'train', 'eval', 'checkpoint', 'sample', 'done', 'error']);

function parseLine(line: string): RunEvent | undefined {
  if (!line.trim()) return undefined;
  try {
    const value = JSON.parse(line);
    if (value && typeof value === 'object' && TYPES.has(value.type) && typeof value.time === 'number') return value as RunEvent;
  } catch {
    // a torn line (the writer was killed mid-line) or garbage: skipped
  }
  return undefined;
}

/** Every complete event of an events.jsonl text; a torn last line is ignored. */
export function parseEvents(text: string): RunEvent[] {
  return text.split('\n').map(parseLine).filter((e): e is RunEvent => e !== undefined);
}

export function readEvents(file: string): RunEvent[] {
  return fs.existsSync(file) ? parseEvents(fs.readFileSync(file, 'utf8')) : [];
}

/** Tails a growing events.jsonl: each poll() returns the events completed since the last
 *  one. A line is only parsed once its newline has arrived, so half-written lines wait. The
 *  file may not exist yet; if it shrinks (a new run in the same folder), reading restarts. */
export class EventFollower {
  private offset: number;
  private partial = '';

  constructor(
    readonly file: string,
    options: { fromStart?: boolean } = {},
  ) {
    this.offset = options.fromStart === false && fs.existsSync(file) ? fs.statSync(file).size : 0;
  }

  poll(): RunEvent[] {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return [];
    }
    if (size < this.offset) {
      this.offset = 0;
      this.partial = '';
    }
    if (size === this.offset) return [];
    const fd = fs.openSync(this.file, 'r');
    try {
      const buffer = Buffer.alloc(size - this.offset);
      const read = fs.readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset += read;
      const text = this.partial + buffer.subarray(0, read).toString('utf8');
      const cut = text.lastIndexOf('\n');
      this.partial = text.slice(cut + 1);
      return cut < 0 ? [] : parseEvents(text.slice(0, cut));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Yields events as they are appended until `signal` aborts or a `done` event arrives. */
  async *follow(options: { signal?: AbortSignal; pollMs?: number; untilDone?: boolean } = {}): AsyncGenerator<RunEvent> {
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
