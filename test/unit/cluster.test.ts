// The cluster module without a cluster: the batch scripts' directives, the trainer's arguments
// carried through bash's quoting (each script is run by bash with stand-ins for srun, scontrol,
// pbsdsh and torchrun that record what they were given), the PBS rerun logic, the checks that
// name a bad option, and the parsers of squeue's and qstat's output. The real SLURM cluster is
// test/cluster/'s.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { batchScript } from '../../src/core/cluster/batchScript';
import { parseQstat, parseSqueue, readJobRecord, writeJobRecord } from '../../src/core/cluster/jobs';
import { submitProblems, submitRun } from '../../src/core/cluster/submit';
import { UserError } from '../../src/core/common/errors';
import { packageRoot, trainerDir } from '../../src/core/common/paths';
import { runPaths } from '../../src/core/run/runDir';
import { ConfigError, type RunConfig } from '../../src/core/train/config';
import { tempDir } from './helpers';
import { tinyConfig, tinyDataset } from './trainerFixtures';

/** A folder with spaces and a quote in its name, a dataset and a stand-in Python whose torchrun
 *  writes its arguments (NUL-separated) to a file named by $ARGS_OUT, plus its rank's variables. */
async function fixture(sets: string[] = []) {
  const root = path.join(tempDir(), "it's a folder");
  await tinyDataset(path.join(root, 'data'));
  const bin = path.join(root, 'py env', 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'python'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(
    path.join(bin, 'torchrun'),
    '#!/bin/bash\nout="$ARGS_OUT.$(date +%s%N)"\nprintf "%s\\0" "$@" > "$out"\nprintf "NODE=%s\\0PYTHONPATH=%s\\0" "${SLURM_NODEID:-}" "$PYTHONPATH" >> "$out"\n',
    { mode: 0o755 },
  );
  const config = tinyConfig(root, sets);
  return {
    root,
    config,
    runDir: path.join(root, 'run 1'),
    env: { ...process.env, WORDPLAY_PYTHON: path.join(bin, 'python'), PYTHONPATH: '' },
  };
}

/** Each torchrun call the script made: its arguments, then NODE= (its SLURM_NODEID) and
 *  PYTHONPATH=. */
function calls(prefix: string): string[][] {
  const dir = path.dirname(prefix);
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`${path.basename(prefix)}.`))
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\0').slice(0, -1));
}

const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('the SLURM script asks for the nodes, one task each, requeue and the stop signal, and GPUs only for a GPU run', async () => {
  const { config, runDir, env } = await fixture([
    'distributed.nnodes=2',
    'train.gradient_accumulation_steps=2',
    'cluster.time=01:30:00',
    'cluster.partition=debug',
    'cluster.account=proj x',
  ]);
  const script = batchScript('slurm', config, runDir, env);
  const directives = script.split('\n').filter((l) => l.startsWith('#SBATCH '));
  for (const expected of [
    '#SBATCH --nodes=2',
    '#SBATCH --ntasks-per-node=1',
    '#SBATCH --time=01:30:00',
    '#SBATCH --partition=debug',
    '#SBATCH --account="proj x"',
    '#SBATCH --requeue',
    '#SBATCH --signal=INT@120',
    `#SBATCH --output="${runPaths(runDir).log}"`,
    '#SBATCH --open-mode=append',
  ]) {
    assert.ok(directives.includes(expected), `${expected} missing from:\n${directives.join('\n')}`);
  }
  assert.ok(!script.includes('--gres'), 'a CPU run asks for no GPUs');
  assert.ok(!script.includes('--cpus-per-task'));
  assert.ok(!script.includes('WORDPLAY_STOP_WITH_PID'));

  const gpu = {
    ...config,
    train: { ...config.train, device: 'auto' },
    distributed: { ...config.distributed, nproc_per_node: 4 },
    cluster: { ...config.cluster, cpus_per_node: 32 },
  };
  const gpuScript = batchScript('slurm', gpu, runDir, env);
  assert.match(gpuScript, /^#SBATCH --gres=gpu:4$/m);
  assert.match(gpuScript, /^#SBATCH --cpus-per-task=32$/m);
  assert.match(gpuScript, /^ {2}--nproc_per_node=4$/m);
  assert.equal(spawnSync('bash', ['-n'], { input: script }).status, 0, 'bash finds a syntax error');
});

test('the SLURM script hands the config and run folder to torchrun intact, through srun on each node', async () => {
  const { root, config, runDir, env } = await fixture([
    'distributed.nnodes=2',
    'train.gradient_accumulation_steps=2',
    'distributed.max_restarts=3',
  ]);
  const fake = path.join(root, 'fake bin');
  fs.mkdirSync(fake);
  // srun: the task of node 1 then node 0, one after the other; scontrol: a node list and address
  fs.writeFileSync(
    path.join(fake, 'srun'),
    '#!/bin/bash\nshift\nfor id in 1 0; do SLURM_NODEID=$id SLURMD_NODENAME=n$((id + 1)) SLURM_NNODES=2 "$@"; done\n',
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(fake, 'scontrol'),
    '#!/bin/bash\nif [ "$2" = hostnames ]; then printf "n1\\nn2\\n"; else echo "NodeName=n1 Arch=x NodeAddr=10.0.0.7 NodeHostName=h1"; fi\n',
    { mode: 0o755 },
  );
  const script = path.join(root, 'submit.sbatch');
  fs.writeFileSync(script, batchScript('slurm', config, runDir, env));
  const out = path.join(root, 'args');
  const run = spawnSync('bash', [script], {
    encoding: 'utf8',
    env: {
      ...env,
      PATH: `${fake}:${process.env.PATH}`,
      SLURM_JOB_ID: '4242',
      SLURM_JOB_NODELIST: 'n[1-2]',
      ARGS_OUT: out,
    },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /rendezvous at 10\.0\.0\.7:24242/);
  const agents = calls(out);
  assert.equal(agents.length, 2);
  for (const args of agents) {
    assert.deepEqual(JSON.parse(argAfter(args, '--config')), JSON.parse(JSON.stringify(config)));
    assert.equal(argAfter(args, '--run-dir'), runPaths(runDir).root);
    assert.equal(argAfter(args, '-m'), 'wordplay_trainer');
    for (const flag of [
      '--nnodes=2',
      '--nproc_per_node=1',
      '--rdzv_backend=c10d',
      '--rdzv_endpoint=10.0.0.7:24242',
      '--rdzv_id=4242',
      '--max-restarts=3',
    ]) {
      assert.ok(args.includes(flag), `${flag} missing: ${args.join(' ')}`);
    }
    assert.equal(args[args.length - 1], `PYTHONPATH=${trainerDir}`);
  }
  // exactly one agent hosts the rendezvous store: node 0's
  assert.deepEqual(agents.map((a) => `${a.at(-2)} ${argAfter(a, '--rdzv_conf')}`).sort(), [
    'NODE=0 is_host=1',
    'NODE=1 is_host=0',
  ]);
});

test('the PBS script asks for chunks, walltime, queue, account and rerun, starts one agent per host, and resumes when rerun', async () => {
  const { root, config, runDir, env } = await fixture([
    'distributed.nnodes=2',
    'train.gradient_accumulation_steps=2',
    'cluster.time=00:10:00',
    'cluster.stop_before_s=60',
    'cluster.queue=workq',
    'cluster.account=abc',
    'cluster.cpus_per_node=8',
  ]);
  const text = batchScript('pbs', config, runDir, env);
  const directives = text.split('\n').filter((l) => l.startsWith('#PBS '));
  for (const expected of [
    '#PBS -l select=2:ncpus=8:mpiprocs=1',
    '#PBS -l place=scatter',
    '#PBS -l walltime=00:10:00',
    '#PBS -q workq',
    '#PBS -A abc',
    '#PBS -r y',
    '#PBS -j oe',
  ]) {
    assert.ok(directives.includes(expected), `${expected} missing from:\n${directives.join('\n')}`);
  }
  // the stop signal goes 60 s before the 600 s walltime
  assert.match(text, /^timeout --signal=INT 540 "\$\{agent\[@\]\}" --rdzv_conf is_host=1/m);
  const gpu = {
    ...config,
    train: { ...config.train, device: 'cuda' },
    distributed: { ...config.distributed, nproc_per_node: 4 },
  };
  assert.match(batchScript('pbs', gpu, runDir, env), /^#PBS -l select=2:ncpus=8:ngpus=4:mpiprocs=1$/m);

  const fake = path.join(root, 'fake bin');
  fs.mkdirSync(fake);
  // pbsdsh -n <i> -- command...: runs the command here
  fs.writeFileSync(path.join(fake, 'pbsdsh'), '#!/bin/bash\nshift 3\nexec "$@"\n', { mode: 0o755 });
  const nodefile = path.join(root, 'nodefile');
  fs.writeFileSync(nodefile, 'hostA\nhostA\nhostB\n');
  const script = path.join(root, 'submit.pbs');
  fs.writeFileSync(script, text);
  fs.mkdirSync(runPaths(runDir).root, { recursive: true });
  const runScript = (out: string) =>
    spawnSync('bash', [script], {
      encoding: 'utf8',
      env: {
        ...env,
        PATH: `${fake}:${process.env.PATH}`,
        PBS_JOBID: '317.server',
        PBS_NODEFILE: nodefile,
        ARGS_OUT: out,
      },
    });

  const first = runScript(path.join(root, 'first'));
  assert.equal(first.status, 0, first.stderr);
  const agents = calls(path.join(root, 'first'));
  assert.equal(agents.length, 2, 'one agent per host, hostA listed twice');
  for (const args of agents) {
    assert.deepEqual(JSON.parse(argAfter(args, '--config')), JSON.parse(JSON.stringify(config)));
    assert.ok(args.includes('--rdzv_endpoint=hostA:20317'), args.join(' '));
    assert.ok(!args.includes('train.init_from=resume'));
  }
  assert.deepEqual(agents.map((a) => argAfter(a, '--rdzv_conf')).sort(), ['is_host=0', 'is_host=1']);
  assert.match(fs.readFileSync(runPaths(runDir).log, 'utf8'), /^wordplay: PBS job 317\.server starts$/m);

  // PBS reruns the same job: with a checkpoint in the run folder, it resumes from it
  fs.mkdirSync(runPaths(runDir).checkpoint);
  const again = runScript(path.join(root, 'again'));
  assert.equal(again.status, 0, again.stderr);
  for (const args of calls(path.join(root, 'again'))) assert.equal(argAfter(args, '--set'), 'train.init_from=resume');
});

test('submit checks name each bad option before anything is submitted', async () => {
  const { config, runDir } = await fixture();
  assert.deepEqual(submitProblems('slurm', config, runDir), []);
  const bad: RunConfig = {
    ...config,
    data: { dataset: path.join(runDir, 'no such dataset') },
    train: { ...config.train, init_from: 'resume' },
    cluster: { ...config.cluster, time: '00:01:00', stop_before_s: 60, queue: 'workq', partition: 'gpu' },
  };
  const keys = (scheduler: 'slurm' | 'pbs', dir = runDir) => submitProblems(scheduler, bad, dir).map((p) => p.key);
  assert.deepEqual(keys('slurm'), ['cluster.queue', 'cluster.stop_before_s', 'data.dataset', 'train.init_from']);
  assert.deepEqual(keys('pbs', path.join(runDir, 'say "hi"')), [
    '--run-dir',
    'cluster.partition',
    'cluster.stop_before_s',
    'data.dataset',
    'train.init_from',
  ]);
  // the schema: a time that is not HH:MM:SS, an unknown scheduler
  assert.throws(
    () => tinyConfig(path.dirname(runDir), ['cluster.time=90 minutes', 'cluster.scheduler=lsf']),
    (err: unknown) =>
      err instanceof ConfigError &&
      ['cluster.time', 'cluster.scheduler'].every((k) => err.problems.some((p) => p.key === k)),
  );
});

test('submitRun without sbatch says where to run it, and an invalid option stops it before any file is written', async () => {
  const { config, runDir, env } = await fixture();
  await assert.rejects(
    submitRun({ scheduler: 'slurm', config, runDir, env: { ...env, PATH: tempDir() } }),
    (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /sbatch was not found: run wordplay on a machine with the cluster's commands/);
      return true;
    },
  );
  // the script it would have submitted is there to read
  assert.match(fs.readFileSync(runPaths(runDir).slurmScript, 'utf8'), /^#SBATCH --requeue$/m);
  assert.equal(readJobRecord(runDir), undefined);

  const other = path.join(path.dirname(runDir), 'run 2');
  await assert.rejects(
    submitRun({
      scheduler: 'pbs',
      config: { ...config, cluster: { ...config.cluster, partition: 'gpu' } },
      runDir: other,
      env,
    }),
    (err: unknown) => err instanceof ConfigError && err.problems[0].key === 'cluster.partition',
  );
  assert.equal(fs.existsSync(other), false);
});

test('wordplay submit turns its flags into config keys, and names the key of a bad one', async () => {
  const { root, runDir, env } = await fixture();
  const cli = path.join(packageRoot, 'dist', 'cli.js');
  const submit = (args: string[]) =>
    spawnSync(
      process.execPath,
      [cli, 'submit', '--config', path.join(root, 'tiny.wordplay.json'), '--run-dir', runDir, ...args],
      {
        encoding: 'utf8',
        env: { ...env, PATH: tempDir() },
      },
    );
  const badTime = submit(['--time', '90min']);
  assert.equal(badTime.status, 1);
  assert.match(badTime.stderr, /cluster\.time: must match pattern/);
  // --nodes is distributed.nnodes: the config's cross-field rules apply to it
  const twoNodes = submit(['--nodes', '2']);
  assert.equal(twoNodes.status, 1);
  assert.match(twoNodes.stderr, /train\.gradient_accumulation_steps: 1 must be a multiple of the 2 processes/);

  const wrongPlace = submit(['--scheduler', 'pbs', '--partition', 'gpu']);
  assert.equal(wrongPlace.status, 1);
  assert.match(wrongPlace.stderr, /cluster\.partition: is a SLURM partition; PBS takes cluster\.queue/);

  const good = submit([
    '--nodes',
    '2',
    '--gpus-per-node',
    '3',
    '--set',
    'train.gradient_accumulation_steps=6',
    '--time',
    '00:30:00',
    '--account',
    'proj',
  ]);
  assert.equal(good.status, 1);
  assert.match(good.stderr, /sbatch was not found/);
  const script = fs.readFileSync(runPaths(runDir).slurmScript, 'utf8');
  for (const line of ['#SBATCH --nodes=2', '#SBATCH --time=00:30:00', '#SBATCH --account=proj', '  --nproc_per_node=3'])
    assert.ok(script.split('\n').includes(line), line);
});

test('job.json round-trips, and a damaged one reads as no job', () => {
  const dir = tempDir();
  const record = {
    scheduler: 'pbs' as const,
    jobId: '12.server',
    script: path.join(dir, 'submit.pbs'),
    submittedAt: new Date(0).toISOString(),
  };
  writeJobRecord(dir, record);
  assert.deepEqual(readJobRecord(dir), record);
  fs.writeFileSync(runPaths(dir).job, '{"scheduler": "lsf", "jobId": 3}');
  assert.equal(readJobRecord(dir), undefined);
  fs.writeFileSync(runPaths(dir).job, '{"scheduler": "slu');
  assert.equal(readJobRecord(dir), undefined);
});

test("squeue's and qstat's answers become queued, running or ended, with the pending reason", () => {
  const slurm = parseSqueue(
    '17|PENDING|Resources\n18|RUNNING|None\n19|COMPLETING|None\n20|REQUEUED|None\n21|COMPLETED|None\n22|PENDING|None\n',
  );
  assert.deepEqual(Object.fromEntries(slurm), {
    '17': { state: 'queued', reason: 'Resources' },
    '18': { state: 'running' },
    '19': { state: 'running' },
    '20': { state: 'queued' },
    '21': { state: 'ended' },
    '22': { state: 'queued' },
  });
  // qstat -f -F json, as PBS Pro prints it (trimmed to the attributes read)
  const pbs = parseQstat(
    JSON.stringify({
      timestamp: 1700000000,
      pbs_version: '2022.1.1',
      pbs_server: 'pbs01',
      Jobs: {
        '101.pbs01.cluster.org': {
          Job_Name: 'wordplay-a',
          job_state: 'Q',
          comment: 'Not Running: Insufficient amount of resource: ngpus',
        },
        '102.pbs01.cluster.org': { job_state: 'R', comment: 'Job run at Mon Jan 01 at 10:00 on (n1:ncpus=8)' },
        '103.pbs01.cluster.org': { job_state: 'F' },
      },
    }),
  );
  assert.deepEqual(Object.fromEntries(pbs), {
    '101': { state: 'queued', reason: 'Not Running: Insufficient amount of resource: ngpus' },
    '102': { state: 'running' },
    '103': { state: 'ended' },
  });
});
