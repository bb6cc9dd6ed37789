// Spawns the real trainer on a tiny config and dataset, stops it midway with SIGINT, and checks
// by process id that nothing is left. Skipped when no Python with PyTorch is found.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunConfig } from '../../src/core/train/config';
import type { RunEvent } from '../../src/core/run/events';
import { startTrainer, trainerCommand } from '../../src/core/train/trainerProcess';
import { skipWithoutTorch as skip, tinyConfig, tinyDataset } from './trainerFixtures';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopMidway(dir: string, config: RunConfig) {
  const events: RunEvent[] = [];
  const env = { ...process.env, WORDPLAY_SKIP_EXPORT: '1', OMP_NUM_THREADS: '1' };
  const trainer = startTrainer({
    config,
    runDir: path.join(dir, 'run'),
    env,
    onEvent: (e) => events.push(e),
    pollMs: 50,
  });
  const pid = trainer.pid;
  assert.ok(pid);
  const deadline = Date.now() + 90_000;
  while (!events.some((e) => e.type === 'train' && e.iter >= 3)) {
    assert.ok(Date.now() < deadline, 'no train events');
    await new Promise((r) => setTimeout(r, 50));
  }
  trainer.stop(20_000);
  const result = await trainer.done;
  const start = events.find((e) => e.type === 'start');
  assert.ok(start && start.type === 'start');
  return { result, pid, rank0: start.pid };
}

test(
  'config.json is written, the trainer stops on SIGINT with a checkpoint, nothing is left',
  { skip, timeout: 120_000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-trainer-'));
    await tinyDataset(path.join(dir, 'data'));
    const config = tinyConfig(dir);
    const { result, pid, rank0 } = await stopMidway(dir, config);
    assert.equal(result.exitCode, 0);
    assert.equal(result.done?.reason, 'stopped');
    assert.equal(rank0, pid); // one process: the trainer itself
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'run', 'checkpoint', 'state.json'), 'utf8'));
    assert.equal(state.iteration, result.done?.iter);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'run', 'config.json'), 'utf8')), config);
    assert.equal(alive(pid), false);
    assert.throws(() => process.kill(-pid, 0)); // the whole process group is gone
  },
);

test('torchrun for 2 processes: stopped as a group, no worker left', { skip, timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-trainer-'));
  await tinyDataset(path.join(dir, 'data'));
  const config = tinyConfig(dir, ['distributed.nproc_per_node=2', 'train.gradient_accumulation_steps=2']);
  const cmd = trainerCommand(config, path.join(dir, 'run'));
  assert.match(path.basename(cmd.command), /^torchrun/);
  assert.ok(cmd.args.includes('--standalone'));
  assert.equal(
    cmd.env.TORCH_DISABLE_SHARE_RDZV_TCP_STORE,
    '1',
    "each rendezvous round has its own store (a restart's workers must not read the old group's)",
  );
  const { result, pid, rank0 } = await stopMidway(dir, config);
  assert.equal(result.exitCode, 0);
  assert.equal(result.done?.reason, 'stopped');
  assert.notEqual(rank0, pid); // rank 0 is a worker under torchrun
  assert.equal(alive(rank0), false);
  assert.equal(alive(pid), false);
  assert.throws(() => process.kill(-pid, 0));
});

test('a bad dataset ends with an error event and a non-zero exit', { skip, timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-trainer-'));
  const config = tinyConfig(dir); // no data/ folder
  const trainer = startTrainer({ config, runDir: path.join(dir, 'run') });
  const result = await trainer.done;
  assert.equal(result.exitCode, 1);
  assert.equal(result.error?.key, 'data.dataset');
  assert.equal(result.done?.reason, 'error');
});
