// One rank of a 2-process gloo run (torchrun on the CPU) is SIGKILLed mid-training: every
// process of the run must end (torchrun, the other rank), the failure must be reported (a
// non-zero exit and an error event from rank 0), and nothing may be left. With
// distributed.max_restarts, torchrun's elastic agent starts the group again instead, and the
// new workers resume from the run's last checkpoint and train to the end.
// The runs are started as the extension starts them (startTrainer, which picks torchrun).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunEvent } from '../../src/core/run/events';
import { groupAlive, processAlive } from '../../src/core/common/processes';
import { startTrainer } from '../../src/core/train/trainerProcess';
import { tempDir } from '../unit/helpers';
import { configFor, killIfRunning, shakespeareDataset, skipWithoutTorch, trainerEnv, waitFor } from './faultHelpers';

const tiny = {
  model: { n_layer: 1, n_head: 2, n_embd: 16, block_size: 16, dropout: 0 },
  train: {
    batch_size: 4,
    gradient_accumulation_steps: 2,
    max_iters: 1_000_000,
    eval_interval: 1_000_000,
    log_interval: 1,
    sample_tokens: 0,
    device: 'cpu',
    compile: 'false',
  },
  distributed: { nproc_per_node: 2 },
};

/** The worker processes torchrun started, by rank (from their environment). */
function workers(torchrun: number): Map<number, number> {
  const ranks = new Map<number, number>();
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== torchrun) continue;
      const rank = /(?:^|\0)RANK=(\d+)/.exec(fs.readFileSync(`/proc/${name}/environ`, 'utf8'));
      if (rank) ranks.set(Number(rank[1]), Number(name));
    } catch {
      // the process ended while being looked at
    }
  }
  return ranks;
}

const skip = process.platform !== 'linux' ? 'finds the workers through /proc (Linux)' : skipWithoutTorch;

test(
  'a killed rank of a 2-process gloo run: every rank exits, the failure is reported, nothing is left',
  { skip, timeout: 300_000 },
  async (t) => {
    const dir = tempDir('wordplay-rank-');
    const config = configFor(dir, await shakespeareDataset(dir), tiny);
    const seen: RunEvent[] = [];
    const output: string[] = [];
    const trainer = startTrainer({
      config,
      runDir: path.join(dir, 'run'),
      env: trainerEnv,
      onEvent: (e) => seen.push(e),
      onStderr: (line) => output.push(line),
      pollMs: 20,
    });
    const torchrun = trainer.pid!;
    try {
      await waitFor(() => seen.some((e) => e.type === 'train' && e.iter >= 2), 180_000, 'training on 2 processes');
      const ranks = workers(torchrun);
      assert.deepEqual([...ranks.keys()].sort(), [0, 1]);
      process.kill(ranks.get(1)!, 'SIGKILL');

      const result = await trainer.done;
      t.diagnostic(`exit ${result.exitCode}; error event: ${result.error?.message}`);
      assert.notEqual(result.exitCode, 0);
      // rank 0, which writes the events, outlived rank 1: it says what happened
      assert.match(
        result.error?.message ?? `no error event; the output was:\n${output.join('\n')}`,
        /another process of this 2-process run ended/,
      );
      assert.equal(result.done?.reason, 'error');
      for (const [rank, pid] of ranks)
        assert.equal(processAlive(pid), false, `rank ${rank} (pid ${pid}) is still there`);
      assert.equal(processAlive(torchrun), false);
      assert.equal(groupAlive(torchrun), false, 'a process of the run is still there');
    } finally {
      killIfRunning(trainer);
    }
  },
);

test(
  'a killed rank with distributed.max_restarts 1: torchrun restarts the group, which resumes from the checkpoint and finishes',
  { skip, timeout: 300_000 },
  async (t) => {
    const dir = tempDir('wordplay-elastic-');
    const config = configFor(dir, await shakespeareDataset(dir), {
      ...tiny,
      train: { ...tiny.train, max_iters: 300, eval_interval: 10, eval_iters: 2, always_save_checkpoint: true },
      distributed: { nproc_per_node: 2, max_restarts: 1 },
    });
    const seen: RunEvent[] = [];
    const output: string[] = [];
    const trainer = startTrainer({
      config,
      runDir: path.join(dir, 'run'),
      env: trainerEnv,
      onEvent: (e) => seen.push(e),
      onStderr: (line) => output.push(line),
      pollMs: 20,
    });
    try {
      await waitFor(() => seen.some((e) => e.type === 'checkpoint'), 180_000, 'a first checkpoint');
      const ranks = workers(trainer.pid!);
      assert.deepEqual([...ranks.keys()].sort(), [0, 1]);
      process.kill(ranks.get(1)!, 'SIGKILL');

      const result = await trainer.done;
      const starts = seen.filter((e) => e.type === 'start');
      const errors = seen.flatMap((e) => (e.type === 'error' ? [e.message] : []));
      t.diagnostic(
        `exit ${result.exitCode}; starts at ${starts.map((e) => e.iter).join(', ')}; done ${result.done?.reason}; errors: ${errors.join(' | ')}`,
      );
      assert.equal(result.exitCode, 0, `torchrun failed; the output was:\n${output.slice(-200).join('\n')}`);
      assert.equal(starts.length, 2, 'the group was not started again');
      // the restarted group began at a checkpoint the first one wrote, not from scratch
      const checkpointed = seen
        .filter((e) => e.type === 'checkpoint' && seen.indexOf(e) < seen.indexOf(starts[1]))
        .map((e) => e.iter);
      assert.ok(
        checkpointed.includes(starts[1].iter) && starts[1].iter > 0,
        `restarted at ${starts[1].iter}, checkpoints ${checkpointed.join(', ')}`,
      );
      assert.ok(output.some((line) => /restart 1 of this run: resuming from its last checkpoint/.test(line)));
      assert.equal(result.done?.reason, 'finished');
      assert.equal(result.done?.iter, 300);
      assert.equal(groupAlive(trainer.pid!), false, 'a process of the run is still there');
    } finally {
      killIfRunning(trainer);
    }
  },
);
