// The run directory's layout: its file names come from schemas/run-files.json, which the
// Python trainer reads too (trainer/wordplay_trainer/run/rundir.py); this module turns them into paths.
import * as path from 'node:path';
import layout from '../../../schemas/run-files.json';
import { runFolderName } from '../common/names';

export const runFiles = {
  config: layout.run.config,
  events: layout.run.events,
  checkpoint: layout.run.checkpoint,
  onnx: layout.run.onnx,
  modelJson: layout.run.model_json,
  /** The completion models train.keep_exports keeps, one folder each (trainer/wordplay_trainer/export/kept_exports.py). */
  exports: layout.run.exports,
  /** Written by whoever spawned the trainer: its process group, so any window can stop it. */
  process: layout.run.process,
  /** The trainer's stdout and stderr: a file, so the trainer outlives the process that started it. */
  log: layout.run.log,
  /** The window that took over a run whose starter is gone (see supervision.ts). */
  watcher: layout.run.watcher,
  /** The batch job that trains this run on a cluster (src/core/cluster/): scheduler, job id, script. */
  job: layout.run.job,
  /** The batch scripts `wordplay submit` writes, one per scheduler. */
  slurmScript: layout.run.slurm_script,
  pbsScript: layout.run.pbs_script,
} as const;

export interface RunPaths {
  root: string;
  config: string;
  events: string;
  checkpoint: string;
  /** checkpoint/state.json: iteration, best val loss, model_args, tokenizer, RNG states. */
  checkpointState: string;
  checkpointModel: string;
  onnx: string;
  modelJson: string;
  exports: string;
  process: string;
  log: string;
  watcher: string;
  job: string;
  slurmScript: string;
  pbsScript: string;
}

export function runPaths(root: string): RunPaths {
  const r = path.resolve(root);
  const checkpoint = path.join(r, runFiles.checkpoint);
  return {
    root: r,
    config: path.join(r, runFiles.config),
    events: path.join(r, runFiles.events),
    checkpoint,
    checkpointState: path.join(checkpoint, layout.checkpoint.state),
    checkpointModel: path.join(checkpoint, layout.checkpoint.model),
    onnx: path.join(r, runFiles.onnx),
    modelJson: path.join(r, runFiles.modelJson),
    exports: path.join(r, runFiles.exports),
    process: path.join(r, runFiles.process),
    log: path.join(r, runFiles.log),
    watcher: path.join(r, runFiles.watcher),
    job: path.join(r, runFiles.job),
    slurmScript: path.join(r, runFiles.slurmScript),
    pbsScript: path.join(r, runFiles.pbsScript),
  };
}

/** <runs folder>/<YYYYMMDD-HHMMSS>-<config name> (names.ts: local time, as the trainer names
 *  it); the runs folder defaults to runs/ in the current directory. */
export function defaultRunDir(configName: string, runsFolder = path.resolve('runs'), now = new Date()): string {
  return path.join(runsFolder, runFolderName(configName, now));
}
