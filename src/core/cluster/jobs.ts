// A run's batch job on a cluster: job.json in the run folder (which scheduler, which job, which
// script), where the job is (one squeue or qstat call for every job asked about), and the
// graceful stop (the trainer's stop signal, SIGINT: it finishes its step, saves a checkpoint and
// writes `done` stopped; the scheduler then ends the job as its script ends).
// SLURM is tested against a real two-node cluster (test/cluster/); PBS Pro only through its
// parsers here, on output in the shape its manual gives, since no PBS server runs in the tests.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { writeFileAtomic } from '../common/atomicWrite';
import { UserError } from '../common/errors';
import { runPaths } from '../run/runDir';

export type SchedulerName = 'slurm' | 'pbs';

export interface JobRecord {
  scheduler: SchedulerName;
  jobId: string;
  /** The batch script's absolute path (submit.sbatch or submit.pbs in the run folder). */
  script: string;
  /** ISO time of the submission. */
  submittedAt: string;
}

export interface JobStatus {
  state: 'queued' | 'running' | 'ended';
  /** Why a queued job waits, as the scheduler words it (squeue's reason, e.g. Resources). */
  reason?: string;
}

/** The run's job.json, or undefined when the run was never submitted (or the file is damaged). */
export function readJobRecord(runDir: string): JobRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(runPaths(runDir).job, 'utf8')) as Partial<JobRecord>;
    const ok =
      (record.scheduler === 'slurm' || record.scheduler === 'pbs') &&
      typeof record.jobId === 'string' &&
      typeof record.script === 'string' &&
      typeof record.submittedAt === 'string';
    return ok ? (record as JobRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** job.json, replaced whole (a reader never sees half a file). */
export function writeJobRecord(runDir: string, record: JobRecord): void {
  writeFileAtomic(runPaths(runDir).job, `${JSON.stringify(record, null, 2)}\n`);
}

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of the scheduler's commands; a UserError when it is not installed here. */
export function schedulerCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (err) => {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new UserError(
          missing
            ? `${command} was not found: run wordplay on a machine with the cluster's commands (a login node), or set cluster.scheduler to the cluster's scheduler`
            : `could not run ${command}: ${err.message}`,
        ),
      );
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

// squeue's job states (its %T): those that wait for a start, and those of a job that is over
// (shown for MinJobAge seconds after it ends); any other (RUNNING, COMPLETING, SUSPENDED ...)
// holds nodes
const SLURM_QUEUED = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SPECIAL_EXIT']);
const SLURM_ENDED = new Set([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
  'REVOKED',
]);

/** `squeue -h -o %i|%T|%r` lines → status by job id. */
export function parseSqueue(stdout: string): Map<string, JobStatus> {
  const statuses = new Map<string, JobStatus>();
  for (const line of stdout.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (!id || !state) continue;
    if (SLURM_QUEUED.has(state))
      statuses.set(id, reason && reason !== 'None' ? { state: 'queued', reason } : { state: 'queued' });
    else statuses.set(id, { state: SLURM_ENDED.has(state) ? 'ended' : 'running' });
  }
  return statuses;
}

// qstat's job_state letters (PBS Pro): queued, held, waiting, in transit, moved; then those of a
// job that holds nodes (running, exiting, suspended, ...); finished (F, X) only with -x
const PBS_QUEUED = new Set(['Q', 'H', 'W', 'T', 'M']);
const PBS_RUNNING = new Set(['R', 'E', 'S', 'U', 'B']);

/** `qstat -f -F json` → status by job number (the id before its first dot: qsub prints
 *  123.server, qstat may name the server in full). */
export function parseQstat(stdout: string): Map<string, JobStatus> {
  const statuses = new Map<string, JobStatus>();
  if (!stdout.trim()) return statuses;
  const jobs = (JSON.parse(stdout) as { Jobs?: Record<string, { job_state?: string; comment?: string }> }).Jobs ?? {};
  for (const [id, job] of Object.entries(jobs)) {
    const state = job.job_state ?? '';
    const status: JobStatus = PBS_QUEUED.has(state)
      ? { state: 'queued' }
      : { state: PBS_RUNNING.has(state) ? 'running' : 'ended' };
    if (status.state === 'queued' && job.comment) status.reason = job.comment;
    statuses.set(jobNumber(id), status);
  }
  return statuses;
}

const jobNumber = (id: string) => id.split('.')[0];

/** Where each job is, by its jobId, through one squeue (and one qstat) call for all of them. A
 *  job the scheduler no longer knows has ended. */
export async function jobStatuses(
  jobs: JobRecord[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Map<string, JobStatus>> {
  const result = new Map<string, JobStatus>();
  const slurm = jobs.filter((j) => j.scheduler === 'slurm').map((j) => j.jobId);
  if (slurm.length) {
    const out = await schedulerCommand('squeue', ['-h', '-j', slurm.join(','), '-o', '%i|%T|%r'], { env });
    // every id unknown (ended longer than MinJobAge ago) is an error to squeue
    if (out.code !== 0 && !/Invalid job id/i.test(out.stderr))
      throw new UserError(`squeue failed: ${out.stderr.trim() || `exit ${out.code}`}`);
    const known = out.code === 0 ? parseSqueue(out.stdout) : new Map<string, JobStatus>();
    for (const id of slurm) result.set(id, known.get(id) ?? { state: 'ended' });
  }
  const pbs = jobs.filter((j) => j.scheduler === 'pbs').map((j) => j.jobId);
  if (pbs.length) {
    const out = await schedulerCommand('qstat', ['-f', '-F', 'json', ...pbs], { env });
    // qstat names each unknown or finished job on stderr and still prints the others
    const problems = out.stderr
      .split('\n')
      .filter((line) => line.trim() && !/Unknown Job Id|Job has finished/i.test(line));
    if (out.code !== 0 && problems.length) throw new UserError(`qstat failed: ${problems.join('; ')}`);
    const known = parseQstat(out.stdout);
    for (const id of pbs) result.set(id, known.get(jobNumber(id)) ?? { state: 'ended' });
  }
  return result;
}

/** The graceful stop: a queued job is cancelled outright; a running one gets the trainer's stop
 *  signal in every process (scancel --signal=INT: every job step, not the batch shell; qsig: the
 *  job's shell, which passes it on), checkpoints and ends on its own. A job that has ended is
 *  left alone. */
export async function cancelJob(job: JobRecord, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const status = (await jobStatuses([job], env)).get(job.jobId);
  if (!status || status.state === 'ended') return;
  const queued = status.state === 'queued';
  const [command, args] =
    job.scheduler === 'slurm'
      ? ['scancel', queued ? [job.jobId] : ['--signal=INT', job.jobId]]
      : queued
        ? ['qdel', [job.jobId]]
        : ['qsig', ['-s', 'INT', job.jobId]];
  const out = await schedulerCommand(command, args, { env });
  if (out.code !== 0)
    throw new UserError(`${command} ${args.join(' ')} failed: ${out.stderr.trim() || `exit ${out.code}`}`);
}
