// What a run folder says about its run, read from its events.jsonl: the one summary the Runs
// tree, the completion model picker and the CLI share.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readEvents } from './events';
import { processAlive } from './processes';
import { runPaths } from './runDir';

export type RunState = 'running' | 'finished' | 'stopped' | 'failed';

export interface RunSummary {
  dir: string;
  name: string;
  state: RunState;
  iter: number;
  maxIters: number | null;
  bestValLoss: number | null;
  /** model.onnx exists: the run can complete text. */
  hasModel: boolean;
  /** When events.jsonl last changed (ms since the epoch). */
  updated: number;
  pid: number | null;
  error: string | null;
}

/** The run in dir, or undefined when dir holds no events.jsonl. */
export function summarizeRun(dir: string): RunSummary | undefined {
  const paths = runPaths(dir);
  if (!fs.existsSync(paths.events)) return undefined;
  const summary: RunSummary = {
    dir: paths.root,
    name: path.basename(paths.root),
    state: 'failed',
    iter: 0,
    maxIters: null,
    bestValLoss: null,
    hasModel: fs.existsSync(paths.onnx),
    updated: fs.statSync(paths.events).mtimeMs,
    pid: null,
    error: null,
  };
  let done: RunState | undefined;
  for (const event of readEvents(paths.events)) {
    if ('iter' in event && typeof event.iter === 'number') summary.iter = Math.max(summary.iter, event.iter);
    switch (event.type) {
      case 'start':
        // a resumed run starts again: what counts is the latest start
        summary.pid = event.pid;
        summary.maxIters = event.max_iters;
        done = undefined;
        break;
      case 'eval':
        summary.bestValLoss = summary.bestValLoss === null ? event.val_loss : Math.min(summary.bestValLoss, event.val_loss);
        break;
      case 'error':
        summary.error = event.message;
        break;
      case 'done':
        done = event.reason === 'error' ? 'failed' : event.reason;
        break;
    }
  }
  // without a done event the trainer is either still at work or was killed
  summary.state = done ?? (summary.pid !== null && processAlive(summary.pid) ? 'running' : 'failed');
  return summary;
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

/** The model to complete with by default: the newest run that ended and has an exported model. */
export function newestFinishedModel(folder: string): RunSummary | undefined {
  return listRuns(folder).find((r) => r.hasModel && (r.state === 'finished' || r.state === 'stopped'));
}
