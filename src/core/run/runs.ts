// What a run folder says about its run, read from its events.jsonl: the one summary the Runs
// tree, the completion model picker and the CLI share. Where the run is (iteration, ETA) is
// TrainProgress's fold, as everywhere else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventFollower, type RunEvent } from './events';
import { TrainProgress, type RunPosition } from './progress';
import { runPaths } from './runDir';
import { liveTrainer } from './supervision';

export type RunState = 'running' | 'finished' | 'stopped' | 'failed';

export interface RunSummary extends RunPosition {
  dir: string;
  name: string;
  state: RunState;
  bestValLoss: number | null;
  /** The lowest val bits per byte of its evaluations; null when none carried it (a dataset
   *  prepared before meta.json recorded byte counts). */
  bestValBpb: number | null;
  /** model.onnx exists: the run can complete text. */
  hasModel: boolean;
  /** When events.jsonl last changed (ms since the epoch). */
  updated: number;
  /** The trainer's pid while it runs (its process group leader where one was recorded). */
  pid: number | null;
  error: string | null;
}

/** What the events so far say; folded as the file grows. */
interface Folded {
  progress: TrainProgress;
  bestValLoss: number | null;
  bestValBpb: number | null;
  startPid: number | null;
  error: string | null;
  done: RunState | undefined;
  size: number;
}

const emptyFold = (): Folded => ({ progress: new TrainProgress(), bestValLoss: null, bestValBpb: null, startPid: null, error: null, done: undefined, size: 0 });

function apply(f: Folded, event: RunEvent): void {
  f.progress.update(event);
  switch (event.type) {
    case 'start':
      // a resumed run starts again: what counts is the latest start
      f.startPid = event.pid;
      f.done = undefined;
      break;
    case 'eval':
      f.bestValLoss = f.bestValLoss === null ? event.val_loss : Math.min(f.bestValLoss, event.val_loss);
      if (event.val_bpb !== undefined) f.bestValBpb = f.bestValBpb === null ? event.val_bpb : Math.min(f.bestValBpb, event.val_bpb);
      break;
    case 'error':
      f.error = event.message;
      break;
    case 'done':
      f.done = event.reason === 'error' ? 'failed' : event.reason;
      break;
  }
}

/** Each run's fold, read on from where the last summary stopped: the Runs tree asks often,
 *  and a long run's events.jsonl holds hundreds of thousands of lines. */
const folds = new Map<string, { follower: EventFollower; folded: Folded }>();

function foldEvents(file: string, size: number): Folded {
  let entry = folds.get(file);
  // a smaller file is a new run in the same folder
  if (!entry || size < entry.folded.size) {
    entry = { follower: new EventFollower(file), folded: emptyFold() };
    folds.set(file, entry);
  }
  for (const event of entry.follower.poll()) apply(entry.folded, event);
  entry.folded.size = size;
  return entry.folded;
}

/** The run in dir, or undefined when dir holds no events.jsonl. */
export function summarizeRun(dir: string): RunSummary | undefined {
  const paths = runPaths(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(paths.events);
  } catch {
    folds.delete(paths.events);
    return undefined;
  }
  const f = foldEvents(paths.events, stat.size);
  // without a done event the trainer is either still at work or was killed
  const live = f.done ? undefined : liveTrainer(paths.root, f.startPid);
  const position = f.progress.position;
  return {
    dir: paths.root,
    name: path.basename(paths.root),
    state: f.done ?? (live ? 'running' : 'failed'),
    iter: position.iter,
    maxIters: position.maxIters,
    // a trainer that died without a done event has no time left
    etaSeconds: live ? position.etaSeconds : undefined,
    bestValLoss: f.bestValLoss,
    bestValBpb: f.bestValBpb,
    hasModel: fs.existsSync(paths.onnx),
    updated: stat.mtimeMs,
    pid: live?.pid ?? null,
    error: f.error,
  };
}

/** The runs directly under folder, newest first. */
export function listRuns(folder: string): RunSummary[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => summarizeRun(path.join(folder, e.name)))
    .filter((r): r is RunSummary => r !== undefined)
    .sort((a, b) => b.updated - a.updated);
}
