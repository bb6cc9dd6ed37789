// What a run folder says about its run, read from its events.jsonl: the one summary the Runs
// tree, the completion model picker and the CLI share. Where the run is (iteration, ETA) is
// TrainProgress's fold, as everywhere else. A run submitted to a cluster trains on other
// machines, so whether it is still at work is its job's state (the caller asks the scheduler:
// core/cluster), not a local process. A run that finished without ever starting holds a
// pretrained GPT-2 as it is (the trainer's `export --from`): its source is config.json's
// train.init_from.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventFollower, type RunEvent } from './events';
import { TrainProgress, type RunPosition } from './progress';
import { runPaths } from './runDir';
import { liveTrainer } from './supervision';

export type RunState = 'queued' | 'running' | 'finished' | 'stopped' | 'failed';

/** A submitted run's batch job, as its scheduler last reported it. */
export interface RunJob {
  id: string;
  state: 'queued' | 'running' | 'ended';
  /** Why a queued job waits (squeue's reason, e.g. Resources or Priority). */
  reason?: string;
}

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
  /** The batch job of a run submitted to a cluster. */
  job: RunJob | null;
  /** The train.target_val_loss whose eval ended the run; null when it ended otherwise. */
  reachedTarget: number | null;
  /** Where the weights of a run that was never trained come from (gpt2… or a Hugging Face
   *  folder: `export --from`); null for a trained run. */
  pretrained: string | null;
}

/** What the events so far say; folded as the file grows. */
interface Folded {
  progress: TrainProgress;
  bestValLoss: number | null;
  bestValBpb: number | null;
  startPid: number | null;
  error: string | null;
  done: RunState | undefined;
  reachedTarget: number | null;
  size: number;
}

const emptyFold = (): Folded => ({
  progress: new TrainProgress(),
  bestValLoss: null,
  bestValBpb: null,
  startPid: null,
  error: null,
  done: undefined,
  reachedTarget: null,
  size: 0,
});

function apply(f: Folded, event: RunEvent): void {
  f.progress.update(event);
  switch (event.type) {
    case 'start':
      // a resumed run starts again: what counts is the latest start
      f.startPid = event.pid;
      f.done = undefined;
      f.reachedTarget = null;
      break;
    case 'eval':
      f.bestValLoss = f.bestValLoss === null ? event.val_loss : Math.min(f.bestValLoss, event.val_loss);
      if (event.val_bpb !== undefined)
        f.bestValBpb = f.bestValBpb === null ? event.val_bpb : Math.min(f.bestValBpb, event.val_bpb);
      break;
    case 'error':
      f.error = event.message;
      break;
    case 'done':
      f.done = event.reason === 'error' ? 'failed' : event.reason;
      f.reachedTarget = event.target_val_loss ?? null;
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

/** A submitted run's state: queued while its job waits (again, after a requeue), else what the
 *  events say; a job that ended without a done event failed. A trainer that has started and not
 *  ended is running even when the scheduler was last asked before it began (its answer is
 *  seconds old, and a short run can start and end between two asks). */
function jobRunState(f: Folded, job: RunJob): RunState {
  const training = f.startPid !== null && !f.done;
  if (job.state === 'queued') return training ? 'running' : 'queued';
  return f.done ?? (job.state === 'running' ? 'running' : 'failed');
}

/** config.json's train.init_from, or null when it has none (or no config.json). */
function initFrom(configFile: string): string | null {
  try {
    const init = (JSON.parse(fs.readFileSync(configFile, 'utf8')) as { train?: { init_from?: unknown } }).train
      ?.init_from;
    return typeof init === 'string' ? init : null;
  } catch {
    return null;
  }
}

/** The run in dir, or undefined when dir holds no events.jsonl and no job. `job` is its batch
 *  job when it was submitted to a cluster. */
export function summarizeRun(dir: string, job?: RunJob): RunSummary | undefined {
  const paths = runPaths(dir);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(paths.events);
  } catch {
    folds.delete(paths.events);
    // a job still in the queue has written nothing yet
    if (!job) return undefined;
  }
  const f = stat ? foldEvents(paths.events, stat.size) : emptyFold();
  // without a done event a local trainer is either still at work or was killed
  const live = f.done || job ? undefined : liveTrainer(paths.root, f.startPid);
  const state = job ? jobRunState(f, job) : (f.done ?? (live ? 'running' : 'failed'));
  const position = f.progress.position;
  return {
    dir: paths.root,
    name: path.basename(paths.root),
    state,
    iter: position.iter,
    maxIters: position.maxIters,
    // a trainer that died without a done event has no time left
    etaSeconds: state === 'running' ? position.etaSeconds : undefined,
    ...(position.budgetSeconds === undefined ? {} : { budgetSeconds: position.budgetSeconds }),
    bestValLoss: f.bestValLoss,
    bestValBpb: f.bestValBpb,
    hasModel: fs.existsSync(paths.onnx),
    updated: stat?.mtimeMs ?? fs.statSync(paths.root).mtimeMs,
    pid: live?.pid ?? null,
    error:
      f.error ?? (state === 'failed' && job ? `job ${job.id} ended before the run did: its train.log says why` : null),
    job: job ?? null,
    reachedTarget: f.reachedTarget,
    // finished without a start: exported untrained (a trained run's first event is its start)
    pretrained: f.done === 'finished' && f.startPid === null ? initFrom(paths.config) : null,
  };
}

/** How a run's state is worded: its state, for a run that stopped at its target
 *  "reached target val loss 1.80 at iteration 400", for a pretrained one "gpt2 (pretrained)". */
export function stateText(run: Pick<RunSummary, 'state' | 'reachedTarget' | 'iter' | 'pretrained'>): string {
  if (run.pretrained !== null) return `${path.basename(run.pretrained)} (pretrained)`;
  if (run.state === 'finished' && run.reachedTarget !== null)
    return `reached target val loss ${run.reachedTarget} at iteration ${run.iter}`;
  return run.state;
}

/** The runs directly under folder, newest first; jobOf gives a submitted run's job. A hidden
 *  folder is none: `export --from` writes its run as .<name>.tmp-* before renaming it. */
export function listRuns(folder: string, jobOf: (dir: string) => RunJob | undefined = () => undefined): RunSummary[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => {
      const dir = path.join(folder, e.name);
      return summarizeRun(dir, jobOf(dir));
    })
    .filter((r): r is RunSummary => r !== undefined)
    .sort((a, b) => b.updated - a.updated);
}
