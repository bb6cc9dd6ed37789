// `wordplay submit --scheduler slurm|pbs --config <file|preset> [--set ...] [--run-dir D]
// [--nodes N --gpus-per-node G --time HH:MM:SS --partition P --queue Q --account A] [--wait]`
//
// Writes the run's batch script, submits it and prints the job id and the run folder. --wait
// then follows the run's events.jsonl and train.log (on the shared file system) with the same
// lines as `wordplay train`, until the job leaves the queue: a job requeued after a `done`
// stopped (preempted) is followed on, and a job that ends without any `done` event (killed, a
// node lost) ends the wait too, saying so.
import { jobStatuses, submitRun, type JobRecord } from '../core/cluster';
import { EventFollower, type RunEvent } from '../core/run/events';
import { runPaths } from '../core/run/runDir';
import { FileTail } from '../core/run/tail';
import { parseOptions } from '../core/common/options';
import type { Subcommand } from './subcommand';
import { loadRun, runOptions, runOptionsUsage } from './runOptions';
import { RunOutput } from './runOutput';

const usage = `Usage: wordplay submit --config <file|preset> [--scheduler slurm|pbs] [--set group.key=value ...]
                       [--run-dir DIR] [--nodes N] [--gpus-per-node G] [--time HH:MM:SS]
                       [--partition P] [--queue Q] [--account A] [--wait]

Trains on a cluster: writes a batch script into the run folder (submit.sbatch or submit.pbs),
submits it, records the job in job.json and prints its id. The run folder, the dataset and
wordplay's Python must be on a file system the cluster's nodes share.

${runOptionsUsage}
  --scheduler      slurm (default) or pbs: cluster.scheduler
  --nodes          nodes to train on: distributed.nnodes
  --gpus-per-node  trainer processes (GPUs) on each node: distributed.nproc_per_node
  --time           the job's time limit, HH:MM:SS: cluster.time; the trainer is asked to stop
                   cluster.stop_before_s (120) seconds before it, with a checkpoint
  --partition      SLURM partition: cluster.partition
  --queue          PBS queue: cluster.queue
  --account        account to charge: cluster.account
  --wait           follow the run until the job leaves the queue (Ctrl-C stops following only)

A requeued or preempted job resumes from the run's checkpoint by itself. To stop a job gracefully
(checkpoint first): scancel --signal=INT <job id> (PBS: qsig -s INT <job id>).`;

/** The flags that stand for config keys, applied after --set (a flag wins). */
const flagKeys = {
  scheduler: 'cluster.scheduler',
  nodes: 'distributed.nnodes',
  'gpus-per-node': 'distributed.nproc_per_node',
  time: 'cluster.time',
  partition: 'cluster.partition',
  queue: 'cluster.queue',
  account: 'cluster.account',
} as const;

const POLL_MS = 500;
// squeue is a call to the controller: asked less often than the files are read
const QUEUE_POLL_MS = 3000;

export const submit: Subcommand = {
  summary: 'train on a SLURM or PBS cluster: submit a batch job (--wait follows it)',
  usage,
  async run(args) {
    const opts = parseOptions(
      args,
      {
        ...runOptions,
        ...Object.fromEntries(Object.keys(flagKeys).map((flag) => [flag, { type: 'string' }])),
        wait: { type: 'boolean' },
      } as const,
      usage,
    );
    const values = opts as Record<string, string | undefined>;
    const overrides = Object.entries(flagKeys).flatMap(([flag, key]) =>
      values[flag] === undefined ? [] : [`${key}=${values[flag]}`],
    );
    const { config, runDir } = loadRun(opts, usage, overrides);
    const paths = runPaths(runDir);
    // only what this job appends: a resumed run's folder holds the earlier jobs' events and lines
    const events = new EventFollower(paths.events, { fromStart: false });
    const log = new FileTail(paths.log, { fromStart: false });
    const job = await submitRun({ scheduler: config.cluster.scheduler, config, runDir });
    console.log(
      `wordplay: submitted ${job.scheduler === 'slurm' ? 'SLURM' : 'PBS'} job ${job.jobId}; run dir ${runDir}`,
    );
    if (!opts.wait) return 0;
    return follow(job, runDir, events, log);
  },
};

async function follow(job: JobRecord, runDir: string, events: EventFollower, log: FileTail): Promise<number> {
  const output = new RunOutput();
  const seen: RunEvent[] = [];
  const drain = () => {
    for (const line of log.poll()) output.trainerLine(line);
    for (const event of events.poll()) {
      seen.push(event);
      output.event(event);
    }
  };
  const stopHint = job.scheduler === 'slurm' ? `scancel --signal=INT ${job.jobId}` : `qsig -s INT ${job.jobId}`;
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  try {
    let lastState = '';
    let checkedAt = 0;
    for (;;) {
      drain();
      if (interrupted) {
        output.print(
          `wordplay: no longer following job ${job.jobId}, which goes on; stop it gracefully with: ${stopHint}`,
        );
        return 130;
      }
      if (Date.now() - checkedAt >= QUEUE_POLL_MS) {
        checkedAt = Date.now();
        const status = (await jobStatuses([job])).get(job.jobId);
        if (!status || status.state === 'ended') break;
        const state = status.reason ? `${status.state} (${status.reason})` : status.state;
        if (state !== lastState && !seen.length) output.print(`wordplay: job ${job.jobId} ${state}`);
        lastState = state;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    drain();
    const rest = log.rest();
    if (rest) output.trainerLine(rest);
    if (output.ended(seen, runDir)) return 0;
    if (!seen.some((e) => e.type === 'error')) {
      process.stderr.write(
        `wordplay: job ${job.jobId} left the queue without a done event; see ${runPaths(runDir).log}\n`,
      );
    }
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
