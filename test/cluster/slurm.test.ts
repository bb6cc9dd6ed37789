// Multi-node training for real: a two-node SLURM cluster on this machine (scripts/slurm-cluster.mjs,
// started here when it is not running already, and then stopped here), the real trainer on the
// CPU (gloo) with a tiny model, jobs submitted through `wordplay submit` and the cluster module.
// Checked: each node runs one rank and the loss matches one process with the same global batch;
// a second job resumes from the first's checkpoint; a graceful cancel checkpoints and ends the
// job; a requeued job runs again from its checkpoint to the end.
// Limits: Linux only (the ranks' nodes are read from /proc); the two nodes share one host, so
// the network between them is loopback.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { cancelJob, jobStatuses, readJobRecord, submitRun, type JobRecord } from '../../src/core/cluster';
import { packageRoot } from '../../src/core/common/paths';
import { readEvents, type RunEvent } from '../../src/core/run/events';
import { runPaths } from '../../src/core/run/runDir';
import { startTrainer } from '../../src/core/train/trainerProcess';
import { tempDir } from '../unit/helpers';
import { skipWithoutTorch, tinyConfig, tinyDataset } from '../unit/trainerFixtures';

const skip = process.platform !== 'linux' ? 'a SLURM cluster on this machine needs Linux' : skipWithoutTorch;
const harness = path.join(packageRoot, 'scripts', 'slurm-cluster.mjs');
const cli = path.join(packageRoot, 'dist', 'cli.js');
// every job inherits this (sbatch passes the environment on): no ONNX export at the end, and one
// thread per trainer process, as the two nodes share this machine's cores
const env = { ...process.env, WORDPLAY_SKIP_EXPORT: '1', OMP_NUM_THREADS: '1' };
// two ranks of one micro-batch each: the same global batch as one process accumulating two
const twoNodes = ['distributed.nnodes=2', 'train.gradient_accumulation_steps=2'];

let startedHere = false;
before(() => {
  if (skip) return;
  if (spawnSync(process.execPath, [harness, 'status'], { stdio: 'ignore' }).status === 0) return;
  const start = spawnSync(process.execPath, [harness, 'start'], { encoding: 'utf8' });
  assert.equal(start.status, 0, `the SLURM cluster did not start:\n${start.stdout}${start.stderr}`);
  startedHere = true;
});
after(() => {
  if (startedHere) spawnSync(process.execPath, [harness, 'stop'], { stdio: 'inherit' });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

/** The trainer processes of a job, by rank: the SLURM node each runs on (from its environment)
 *  and its pid. */
function ranksOf(jobId: string): Map<number, { node: string; pid: number }> {
  const ranks = new Map<number, { node: string; pid: number }>();
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const vars = new Map(
        fs
          .readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      const rank = vars.get('RANK');
      if (vars.get('SLURM_JOB_ID') === jobId && rank !== undefined)
        ranks.set(Number(rank), { node: vars.get('SLURMD_NODENAME') ?? '?', pid: Number(pid) });
    } catch {
      // the process ended while being looked at
    }
  }
  return ranks;
}

/** `wordplay submit ... --wait`, run as a user runs it; while it waits, the job's ranks and the
 *  nodes they ran on are collected. */
async function submitAndWait(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; jobId: string; ranks: Map<number, string> }> {
  const child = spawn(process.execPath, [cli, 'submit', ...args, '--wait'], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let exited = false;
  void closed.then(() => (exited = true));
  const ranks = new Map<number, string>();
  let jobId = '';
  while (!exited) {
    jobId ||= /submitted SLURM job (\d+)/.exec(stdout)?.[1] ?? '';
    if (jobId) for (const [rank, { node }] of ranksOf(jobId)) ranks.set(rank, node);
    await sleep(100);
  }
  return { code: await closed, stdout, stderr, jobId, ranks };
}

const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) =>
  events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);

async function ended(job: JobRecord): Promise<boolean> {
  return (await jobStatuses([job])).get(job.jobId)?.state === 'ended';
}

const dir = tempDir('wordplay-slurm-');
before(async () => {
  if (!skip) await tinyDataset(path.join(dir, 'data'));
});
const configFile = path.join(dir, 'tiny.wordplay.json');
const shared = ['train.max_iters=8', 'train.eval_interval=8', 'train.eval_iters=2'];
const twoNodeRun = path.join(dir, 'two nodes');

test(
  'a 2-node job trains one rank on each node, and its loss is that of one process with the same global batch',
  { skip, timeout: 240_000 },
  async (t) => {
    const one = startTrainer({
      config: tinyConfig(dir, [...shared, 'train.gradient_accumulation_steps=2']),
      runDir: path.join(dir, 'one process'),
      env,
    });
    const single = await one.done;
    assert.equal(single.exitCode, 0);
    tinyConfig(dir); // writes tiny.wordplay.json, which the command reads

    const run = await submitAndWait([
      '--config',
      configFile,
      '--nodes',
      '2',
      '--run-dir',
      twoNodeRun,
      ...[...twoNodes, ...shared].flatMap((s) => ['--set', s]),
    ]);
    t.diagnostic(`job ${run.jobId}: ranks on ${[...run.ranks].map(([r, n]) => `${r}@${n}`).join(', ')}`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /wordplay: finished at iteration 8, val loss \d/);
    // rank 0 and rank 1, each on a node of its own
    assert.deepEqual([...run.ranks.keys()].sort(), [0, 1]);
    assert.deepEqual([...run.ranks.values()].sort(), ['n1', 'n2']);
    const log = fs.readFileSync(runPaths(twoNodeRun).log, 'utf8');
    assert.match(log, /node n1 \(0 of 2\) starts torchrun/);
    assert.match(log, /node n2 \(1 of 2\) starts torchrun/);

    const events = readEvents(runPaths(twoNodeRun).events);
    assert.equal(ofType(events, 'start')[0].world_size, 2);
    // the same micro-batches summed in another order (an all-reduce across the nodes rather than
    // accumulation in one process): equal up to float32 rounding, far below the loss's own steps
    const losses = ofType(events, 'train').map((e) => e.loss);
    const reference = ofType(single.events, 'train').map((e) => e.loss);
    assert.equal(losses.length, 8);
    losses.forEach((loss, i) =>
      assert.ok(
        Math.abs(loss - reference[i]) < 1e-4,
        `iteration ${i + 1}: ${loss} on 2 nodes, ${reference[i]} in 1 process`,
      ),
    );
    assert.ok(Math.abs(ofType(events, 'eval')[0].val_loss - ofType(single.events, 'eval')[0].val_loss) < 1e-4);
    assert.equal(readJobRecord(twoNodeRun)?.jobId, run.jobId);
    assert.ok(fs.existsSync(runPaths(twoNodeRun).checkpointModel));
  },
);

test(
  "a second job with train.init_from=resume continues from the first one's checkpoint on both nodes",
  { skip, timeout: 180_000 },
  async () => {
    const earlier = readEvents(runPaths(twoNodeRun).events).length;
    assert.ok(earlier > 0, 'the 2-node run of the test before is missing');
    const run = await submitAndWait([
      '--config',
      configFile,
      '--nodes',
      '2',
      '--run-dir',
      twoNodeRun,
      ...[
        ...twoNodes,
        'train.max_iters=12',
        'train.eval_interval=4',
        'train.eval_iters=2',
        'train.init_from=resume',
      ].flatMap((s) => ['--set', s]),
    ]);
    assert.equal(run.code, 0, run.stderr);
    const events = readEvents(runPaths(twoNodeRun).events).slice(earlier);
    const [start] = ofType(events, 'start');
    assert.equal(start.iter, 8);
    assert.equal(start.world_size, 2);
    assert.deepEqual(
      ofType(events, 'train').map((e) => e.iter),
      [9, 10, 11, 12],
    );
    assert.deepEqual(
      ofType(events, 'done').map((e) => [e.reason, e.iter]),
      [['finished', 12]],
    );
  },
);

test(
  'cancelJob stops a running job gracefully: checkpoint, done stopped, and the job leaves the queue',
  { skip, timeout: 180_000 },
  async () => {
    const runDir = path.join(dir, 'cancelled');
    const config = tinyConfig(dir, [...twoNodes, 'train.max_iters=1000000', 'train.eval_interval=1000000']);
    const job = await submitRun({ scheduler: 'slurm', config, runDir, env });
    const events = () => readEvents(runPaths(runDir).events);
    await waitFor(() => ofType(events(), 'train').some((e) => e.iter >= 3), 120_000, 'the job to train 3 iterations');
    assert.equal(ranksOf(job.jobId).size, 2);

    await cancelJob(job);
    const done = await waitFor(() => ofType(events(), 'done')[0], 60_000, 'the done event');
    assert.equal(done.reason, 'stopped');
    const state = JSON.parse(fs.readFileSync(runPaths(runDir).checkpointState, 'utf8')) as { iteration: number };
    assert.equal(state.iteration, done.iter);
    assert.equal(ofType(events(), 'checkpoint').at(-1)?.iter, done.iter);
    await waitFor(() => ended(job), 60_000, 'the job to leave the queue');
    await waitFor(() => ranksOf(job.jobId).size === 0, 30_000, 'the trainer processes to end');
    // a job that has ended is left alone
    await cancelJob(job);
  },
);

test(
  'a job requeued after a checkpoint runs again, resumes from the checkpoint and trains to the end',
  { skip, timeout: 240_000 },
  async (t) => {
    const runDir = path.join(dir, 'requeued');
    const config = tinyConfig(dir, [
      ...twoNodes,
      'train.max_iters=40',
      'train.eval_interval=5',
      'train.eval_iters=2',
      'train.always_save_checkpoint=true',
    ]);
    const job = await submitRun({ scheduler: 'slurm', config, runDir, env });
    const events = () => readEvents(runPaths(runDir).events);
    await waitFor(() => ofType(events(), 'checkpoint')[0], 120_000, 'a first checkpoint');

    const requeue = spawnSync('scontrol', ['requeue', job.jobId], { encoding: 'utf8' });
    assert.equal(requeue.status, 0, requeue.stderr);
    // SLURM holds a requeued job for two minutes (its BeginTime); the test lets it start at once
    await waitFor(
      async () => {
        if ((await jobStatuses([job])).get(job.jobId)?.reason === 'BeginTime')
          spawnSync('scontrol', ['update', `jobid=${job.jobId}`, 'StartTime=now']);
        return ofType(events(), 'start').length >= 2;
      },
      120_000,
      'the requeued job to start again',
    );
    const done = await waitFor(
      () => ofType(events(), 'done').find((e) => e.reason !== 'stopped'),
      120_000,
      'the requeued job to finish',
    );
    const all = events();
    const starts = ofType(all, 'start');
    const checkpointed = ofType(all.slice(0, all.indexOf(starts[1])), 'checkpoint').map((e) => e.iter);
    t.diagnostic(
      `started at ${starts.map((e) => e.iter).join(', ')}; checkpoints before the restart: ${checkpointed.join(', ')}`,
    );
    assert.ok(
      starts[1].iter > 0 && checkpointed.includes(starts[1].iter),
      'the requeued job did not start at a checkpoint of the first run',
    );
    assert.deepEqual([done.reason, done.iter], ['finished', 40]);
    const resumed = all.slice(all.indexOf(starts[1]));
    assert.equal(ofType(resumed, 'train')[0].iter, starts[1].iter + 1);
    assert.match(
      fs.readFileSync(runPaths(runDir).log, 'utf8'),
      /restart 1 of this run: resuming from its last checkpoint/,
    );
    await waitFor(() => ended(job), 60_000, 'the job to leave the queue');
  },
);

test(
  '--wait ends when a killed job leaves the queue without a done event, and says so',
  { skip, timeout: 180_000 },
  async () => {
    const runDir = path.join(dir, 'killed');
    tinyConfig(dir);
    const waiting = submitAndWait([
      '--config',
      configFile,
      '--nodes',
      '2',
      '--run-dir',
      runDir,
      ...[...twoNodes, 'train.max_iters=1000000', 'train.eval_interval=1000000'].flatMap((s) => ['--set', s]),
    ]);
    await waitFor(() => ofType(readEvents(runPaths(runDir).events), 'train')[0], 120_000, 'the job to train');
    const job = readJobRecord(runDir);
    assert.ok(job);
    // rank 0, which writes the events, killed: no checkpoint, no done event; torchrun then ends the
    // step, and the job ends with it (a job cancelled through SLURM stops gracefully, SIGTERM first)
    const rank0 = await waitFor(() => ranksOf(job.jobId).get(0), 30_000, 'rank 0');
    process.kill(rank0.pid, 'SIGKILL');
    const run = await waiting;
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`job ${job.jobId} left the queue without a done event; see .*train\\.log`));
    assert.deepEqual(ofType(readEvents(runPaths(runDir).events), 'done'), []);
  },
);
