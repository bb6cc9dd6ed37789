// The batch script `wordplay submit` writes into the run folder and hands to the scheduler:
// submit.sbatch (SLURM) or submit.pbs (PBS Pro). It is meant to be read, and to be submitted
// again by hand: its comments say why each part is there.
//
// Both start one torchrun agent per node; the agents meet at a c10d rendezvous on the first node
// and each starts distributed.nproc_per_node trainer processes. The trainer, its Python (the one
// resolved here, on the submitting host), the dataset and the run folder are named by absolute
// paths, so they must lie on a file system every node shares. Nodes and processes per node are
// distributed.nnodes and distributed.nproc_per_node; the request's other terms are the cluster
// group. GPUs are asked for unless the run trains on the CPU (train.device cpu).
// Limits: no PBS server runs in the tests, so the PBS script is tested by running it with
// stand-ins for pbsdsh and torchrun; it assumes PBS Pro's select/place syntax and pbsdsh.
import * as path from 'node:path';
import { safeName } from '../common/names';
import { trainerInvocation, trainerVariables } from '../common/pythonEnv';
import { runPaths } from '../run/runDir';
import type { RunConfig } from '../train/config';
import { torchrunBeside, torchrunVariables, trainerArgs } from '../train/trainerProcess';
import type { SchedulerName } from './jobs';

/** A word for bash: as it is when it holds only safe characters, else in single quotes. */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A directive's value (#SBATCH, #PBS lines are split at blanks): in double quotes when it has
 *  any. The run folder's path is refused earlier when it holds a double quote or a newline. */
const directiveValue = (value: string) => (/\s/.test(value) ? `"${value}"` : value);

/** Seconds in HH:MM:SS. */
export function seconds(time: string): number {
  const [h, m, s] = time.split(':').map(Number);
  return h * 3600 + m * 60 + s;
}

export const trainsOnGpus = (config: RunConfig) => config.train.device !== 'cpu';

/** What both schedulers' scripts share: the trainer's command and its variables. */
function launch(config: RunConfig, runDir: string, env: NodeJS.ProcessEnv) {
  const paths = runPaths(runDir);
  const inv = trainerInvocation(trainerArgs(config, paths.root), env);
  const torchrun = torchrunBeside(inv.command);
  const vars = trainerVariables(env);
  // inv.args: -m wordplay_trainer train --config <JSON> --run-dir <dir>
  const module = inv.args.slice(0, inv.args.indexOf('--config'));
  const d = config.distributed;
  return {
    paths,
    name: path.basename(paths.root),
    // the job's name in squeue and qstat (PBS takes no blanks in it, and at most 236 characters)
    jobName: safeName(`wordplay-${path.basename(paths.root)}`).slice(0, 236),
    variables: [
      `run_dir=${shellQuote(paths.root)}`,
      `torchrun=${shellQuote(torchrun)}`,
      '# the resolved config: the trainer writes it to config.json',
      `config=${shellQuote(JSON.stringify(config))}`,
      `export PYTHONPATH=${shellQuote(vars.PYTHONPATH)}`,
      `export PYTHONUNBUFFERED=${vars.PYTHONUNBUFFERED}`,
      ...Object.entries(torchrunVariables).map(([name, value]) => `export ${name}=${value}`),
    ],
    trainer: `trainer=(${module.map(shellQuote).join(' ')} --config "$config" --run-dir "$run_dir")`,
    agent: (rendezvousId: string) => [
      '# torchrun, once per node: it starts the trainer processes there, and restarts them all from',
      '# the last checkpoint when one fails, distributed.max_restarts times',
      'agent=(',
      '  "$torchrun"',
      `  --nnodes=${d.nnodes}`,
      `  --nproc_per_node=${d.nproc_per_node}`,
      '  --rdzv_backend=c10d',
      '  --rdzv_endpoint="$head_addr:$port"',
      `  --rdzv_id="${rendezvousId}"`,
      `  --max-restarts=${d.max_restarts}`,
      ')',
    ],
  };
}

function slurmScript(config: RunConfig, runDir: string, env: NodeJS.ProcessEnv): string {
  const { paths, name, jobName, variables, trainer, agent } = launch(config, runDir, env);
  const c = config.cluster;
  const d = config.distributed;
  const directives = [
    `--job-name=${jobName}`,
    `--nodes=${d.nnodes}`,
    '--ntasks-per-node=1',
    c.cpus_per_node === null ? undefined : `--cpus-per-task=${c.cpus_per_node}`,
    trainsOnGpus(config) ? `--gres=gpu:${d.nproc_per_node}` : undefined,
    c.time === null ? undefined : `--time=${c.time}`,
    c.partition === null ? undefined : `--partition=${directiveValue(c.partition)}`,
    c.account === null ? undefined : `--account=${directiveValue(c.account)}`,
    '--requeue',
    `--signal=INT@${c.stop_before_s}`,
    // % starts a SLURM file-name pattern (%j ...); %% is a plain %
    `--output=${directiveValue(paths.log.replace(/%/g, '%%'))}`,
    '--open-mode=append',
  ].filter((line) => line !== undefined);
  return `#!/bin/bash
# The wordplay run "${name}" as a SLURM batch job, written by \`wordplay submit\`, which
# submitted it; \`sbatch ${shellQuote(paths.slurmScript)}\` submits it again.
#
# srun starts one torchrun agent per node (${d.nnodes}); the agents meet at a c10d rendezvous on the
# first node and each starts ${d.nproc_per_node} trainer process(es). Every path below was resolved on the
# submitting host: the run folder, the dataset, the trainer and its Python must be on a file
# system all nodes share. The trainer's output, and this script's, go to train.log.
#
# Stopping: \`scancel --signal=INT <job id>\` (what wordplay does) has the trainer finish its step,
# save a checkpoint and end; SLURM sends the same signal ${c.stop_before_s} s before the time limit. A
# requeued or preempted job runs this script again, and the trainer resumes from the run's
# checkpoint (it sees SLURM_RESTART_COUNT).
${directives.map((line) => `#SBATCH ${line}`).join('\n')}

set -euo pipefail

${variables.join('\n')}

# The first node hosts the rendezvous. Its address comes from SLURM: a node's name need not
# resolve as a host name. (Not through head -n 1: with pipefail, scontrol writing past its exit would
# fail the job on SIGPIPE.)
mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
head_node=\${nodes[0]}
head_addr=$(scontrol show node "$head_node" | grep -o 'NodeAddr=[^ ]*' | cut -d= -f2)
# a port of this job's own, so that jobs sharing a node never meet at one rendezvous
port=$((20000 + SLURM_JOB_ID % 20000))
echo "wordplay: SLURM job $SLURM_JOB_ID (restart \${SLURM_RESTART_COUNT:-0}) on $SLURM_JOB_NODELIST; rendezvous at $head_addr:$port"

${agent('$SLURM_JOB_ID').join('\n')}
${trainer}

# One task per node. Each says whether its agent hosts the rendezvous (is_host): torch would
# otherwise guess by comparing host names, which fails where node names are no host names or
# nodes share a host. --kill-on-bad-exit=0: the node whose agent ends first after a stop must
# not cut short the first node's checkpoint.
srun --kill-on-bad-exit=0 bash -c '
  echo "wordplay: node $SLURMD_NODENAME ($SLURM_NODEID of $SLURM_NNODES) starts torchrun"
  exec "$0" --rdzv_conf "is_host=$((SLURM_NODEID == 0))" "$@"' "\${agent[@]}" "\${trainer[@]}"
`;
}

function pbsScript(config: RunConfig, runDir: string, env: NodeJS.ProcessEnv): string {
  const { paths, name, jobName, variables, trainer, agent } = launch(config, runDir, env);
  const c = config.cluster;
  const d = config.distributed;
  const chunk = [
    `select=${d.nnodes}`,
    c.cpus_per_node === null ? undefined : `ncpus=${c.cpus_per_node}`,
    trainsOnGpus(config) ? `ngpus=${d.nproc_per_node}` : undefined,
    'mpiprocs=1',
  ].filter((term) => term !== undefined);
  const directives = [
    `-N ${jobName}`,
    `-l ${chunk.join(':')}`,
    '-l place=scatter',
    c.time === null ? undefined : `-l walltime=${c.time}`,
    c.queue === null ? undefined : `-q ${directiveValue(c.queue)}`,
    c.account === null ? undefined : `-A ${directiveValue(c.account)}`,
    '-r y',
    '-j oe',
  ].filter((line) => line !== undefined);
  const here = '"${agent[@]}" --rdzv_conf is_host=1 "${trainer[@]}" &';
  // PBS has no option to signal a job before its walltime: timeout does it
  const localAgent =
    c.time === null
      ? here
      : `# the stop signal ${c.stop_before_s} s before the walltime (${c.time}), from timeout: PBS has no option for it\n` +
        `timeout --signal=INT ${Math.max(0, seconds(c.time) - c.stop_before_s)} ${here}`;
  return `#!/bin/bash
# The wordplay run "${name}" as a PBS Pro batch job, written by \`wordplay submit\`, which
# submitted it; \`qsub ${shellQuote(paths.pbsScript)}\` submits it again.
#
# One torchrun agent per host (${d.nnodes} chunks, one per host): this one here, the others through
# pbsdsh; they meet at a c10d rendezvous on this first host and each starts ${d.nproc_per_node} trainer
# process(es). Every path below was resolved on the submitting host: the run folder, the dataset,
# the trainer and its Python must be on a file system all hosts share. This script appends its
# output and the trainer's to train.log as the job runs (PBS would copy its own output file there
# only at the end, over it); PBS's file (-j oe) is left in the folder qsub ran in, the run folder.
#
# Stopping: \`qsig -s INT <job id>\` (what wordplay does) reaches this shell, which passes it to
# the trainer: it finishes its step, saves a checkpoint and ends. A rerun job (-r y) resumes from
# the run's checkpoint.
${directives.map((line) => `#PBS ${line}`).join('\n')}

set -euo pipefail

${variables.join('\n')}
exec >> ${shellQuote(paths.log)} 2>&1

${trainer}
# PBS reruns a requeued job from the top and says nothing of it in the environment: the line
# below, left in train.log by this job's first run, does; the trainer then resumes from the
# run's checkpoint
started="wordplay: PBS job $PBS_JOBID starts"
if grep -qxF "$started" ${shellQuote(paths.log)} && [ -d ${shellQuote(paths.checkpoint)} ]; then
  trainer+=(--set train.init_from=resume)
fi
echo "$started"

# the job's hosts in PBS_NODEFILE's order, each once; the first (this one) hosts the rendezvous
mapfile -t hosts < <(awk '!seen[$0]++' "$PBS_NODEFILE")
head_addr=\${hosts[0]}
# a port of this job's own, so that jobs sharing a host never meet at one rendezvous
job_number=\${PBS_JOBID%%.*}
port=$((20000 + \${job_number//[^0-9]/} % 20000))

${agent('$PBS_JOBID').join('\n')}

# the other hosts' agents, through PBS's task manager (pbsdsh -n: the host's index in the job's
# list); pbsdsh passes no environment on, so env sets the trainer's variables there. is_host
# says which agent hosts the rendezvous, rather than torch guessing by host name.
for ((i = 1; i < \${#hosts[@]}; i++)); do
  pbsdsh -n "$i" -- env PYTHONPATH="$PYTHONPATH" PYTHONUNBUFFERED=1 "\${agent[@]}" --rdzv_conf is_host=0 "\${trainer[@]}" &
done
${localAgent}
first=$!

# qsig signals this shell alone: it passes the signal to this host's agent, which hands it to its
# trainers; those on the other hosts stop at the same step (the ranks agree on stopping). A
# SIGTERM from PBS (qdel, a rerun) is passed on the same way.
trap 'kill -INT "$first" 2>/dev/null || true' INT TERM
status=0
wait "$first" || status=$?
# a trapped signal interrupts wait before the agent ends: wait on until it has
while kill -0 "$first" 2>/dev/null; do wait "$first" || status=$?; done
# and the other hosts' agents, whose trainers end at the same step
wait || true
exit "$status"
`;
}

/** The batch script's text for this config and run folder. */
export function batchScript(
  scheduler: SchedulerName,
  config: RunConfig,
  runDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return scheduler === 'slurm' ? slurmScript(config, runDir, env) : pbsScript(config, runDir, env);
}
