// The batch jobs of runs submitted to a cluster (Submit Training to Cluster…), as their scheduler
// reports them: one squeue (qstat) call every few seconds for every job of the workspace's runs
// that has not ended, so the Runs tree can say queued (and why), running, or that the job ended.
// The poll runs only while such a job exists. Stopping a submitted run goes to its scheduler
// (core/cluster cancelJob: the trainer's stop signal first, so it checkpoints).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { cancelJob, jobStatuses, readJobRecord, type JobRecord, type JobStatus } from '../core/cluster';
import type { RunJob } from '../core/run/runs';
import { runsFolder } from '../common/workspace';

const POLL_MS = 4000;

/** The job.json of every run folder in the workspace's runs folder (a queued run has no events
 *  yet, so this reads the folders, not the runs). */
function jobRecords(): JobRecord[] {
  const folder = runsFolder();
  if (!folder || !fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => readJobRecord(path.join(folder, e.name)))
    .filter((r): r is JobRecord => r !== undefined);
}

export class ClusterJobs implements vscode.Disposable {
  private readonly statuses = new Map<string, JobStatus>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a job's state changes, and on every poll while one runs (the Runs tree listens). */
  readonly onDidChange = this.changed.event;
  private timer: NodeJS.Timeout | undefined;
  private env: NodeJS.ProcessEnv = process.env;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** The job of a run, as last reported; a job not asked about yet counts as running (a
   *  freshly submitted one is queued: see submitted). */
  jobOf = (dir: string): RunJob | undefined => {
    const record = readJobRecord(dir);
    if (!record) return undefined;
    const status = this.statuses.get(record.jobId) ?? { state: 'running' };
    return { id: record.jobId, ...status };
  };

  /** A job was just submitted from this window: queued until the scheduler says otherwise. */
  submitted(record: JobRecord, env: NodeJS.ProcessEnv): void {
    this.env = env;
    this.statuses.set(record.jobId, { state: 'queued' });
    this.changed.fire();
    this.watch();
  }

  /** Asks the scheduler about every job not known to have ended; polls on while any remain. */
  watch(): void {
    if (this.timer) return;
    const tick = async () => {
      const records = jobRecords().filter((r) => this.statuses.get(r.jobId)?.state !== 'ended');
      if (records.length === 0) {
        this.timer = undefined;
        return;
      }
      try {
        const now = await jobStatuses(records, this.env);
        let moved = false;
        for (const [id, status] of now) {
          const before = this.statuses.get(id);
          if (before?.state !== status.state || before.reason !== status.reason) moved = true;
          this.statuses.set(id, status);
        }
        // a running job's events.jsonl grows on the nodes' schedule: redraw on every poll then
        // too, not only on a state change, so the tree never waits on a file watcher for it (a
        // runs folder made after the window opened may have none that sees it)
        if (moved || [...now.values()].some((s) => s.state === 'running')) this.changed.fire();
      } catch (err) {
        this.log.warn(
          `could not ask the scheduler about ${records.map((r) => r.jobId).join(', ')}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      this.timer = setTimeout(() => void tick(), POLL_MS);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  /** Stop for a submitted run: false when the run has no job (a local run). */
  async stop(dir: string): Promise<boolean> {
    const record = readJobRecord(dir);
    if (!record) return false;
    await cancelJob(record, this.env);
    this.log.info(`Asked ${record.scheduler} to stop job ${record.jobId} (${path.basename(dir)}) gracefully.`);
    void vscode.window.showInformationMessage(
      `Wordplay: stopping ${path.basename(dir)} (job ${record.jobId}); it saves a checkpoint first.`,
    );
    this.watch();
    return true;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}
