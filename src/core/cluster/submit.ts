// Submitting a run to a cluster: the checks that would otherwise fail only after the job waited
// in the queue, the batch script written into the run folder, sbatch (or qsub) run on it, and
// job.json recorded. From then on the run is followed through its run folder (events.jsonl,
// train.log) like a local one, on the shared file system.
import * as fs from 'node:fs';
import { UserError } from '../common/errors';
import { runPaths } from '../run/runDir';
import { ConfigError, type ConfigProblem, type RunConfig } from '../train/config';
import { batchScript, seconds } from './batchScript';
import { schedulerCommand, writeJobRecord, type JobRecord, type SchedulerName } from './jobs';

export interface SubmitOptions {
  scheduler: SchedulerName;
  config: RunConfig;
  runDir: string;
  env?: NodeJS.ProcessEnv;
}

/** What would make the job fail or be refused, each naming its key (none when it can go). */
export function submitProblems(scheduler: SchedulerName, config: RunConfig, runDir: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const c = config.cluster;
  // the script's directives take a path in double quotes, and one command per line
  if (/["\n\r]/.test(runDir))
    problems.push({
      key: '--run-dir',
      message: 'holds a double quote or a line break, which a batch script cannot carry; choose another folder',
    });
  if (scheduler === 'slurm' && c.queue !== null) {
    problems.push({ key: 'cluster.queue', message: 'is a PBS queue; SLURM takes cluster.partition: set that instead' });
  }
  if (scheduler === 'pbs' && c.partition !== null) {
    problems.push({
      key: 'cluster.partition',
      message: 'is a SLURM partition; PBS takes cluster.queue: set that instead',
    });
  }
  if (c.time !== null && c.stop_before_s >= seconds(c.time)) {
    problems.push({
      key: 'cluster.stop_before_s',
      message: `${c.stop_before_s} s is not within cluster.time ${c.time}; lower it, or give the job more time`,
    });
  }
  if (!fs.existsSync(config.data.dataset)) {
    problems.push({
      key: 'data.dataset',
      message: `${config.data.dataset} does not exist here; prepare it (wordplay prepare) in a folder every node shares`,
    });
  }
  if (config.train.init_from === 'resume' && !fs.existsSync(runPaths(runDir).checkpointState)) {
    problems.push({
      key: 'train.init_from',
      message: `resume needs a checkpoint in ${runDir}; give --run-dir the run to continue`,
    });
  }
  return problems;
}

/** Writes the batch script and job.json into the run folder and submits the script; the job
 *  record it returns names the job. A ConfigError names each bad key; a scheduler that refuses
 *  the job is quoted. */
export async function submitRun(options: SubmitOptions): Promise<JobRecord> {
  const { scheduler, config } = options;
  const paths = runPaths(options.runDir);
  const problems = submitProblems(scheduler, config, paths.root);
  if (problems.length) throw new ConfigError(problems);
  // the job has no process here that watches it: the variable would name this one
  const env = { ...(options.env ?? process.env) };
  delete env.WORDPLAY_STOP_WITH_PID;
  const script = scheduler === 'slurm' ? paths.slurmScript : paths.pbsScript;
  const text = batchScript(scheduler, config, paths.root, env);
  fs.mkdirSync(paths.root, { recursive: true });
  fs.writeFileSync(script, text, { mode: 0o755 });
  // sbatch --parsable prints "<id>" or "<id>;<cluster>"; qsub prints "<id>.<server>"
  const [command, args] = scheduler === 'slurm' ? ['sbatch', ['--parsable', script]] : ['qsub', [script]];
  const out = await schedulerCommand(command, args, { env, cwd: paths.root });
  const jobId = out.stdout.trim().split(';')[0];
  if (out.code !== 0 || !jobId) {
    throw new UserError(
      `${command} refused the job (${script}): ${out.stderr.trim() || `exit ${out.code}, no job id`}`,
    );
  }
  const record: JobRecord = { scheduler, jobId, script, submittedAt: new Date().toISOString() };
  writeJobRecord(paths.root, record);
  return record;
}
