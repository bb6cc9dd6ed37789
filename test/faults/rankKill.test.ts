// One rank of a 2-process gloo run (torchrun on the CPU) is SIGKILLed mid-training: every
// process of the run must end (torchrun, the other rank), the failure must be reported (a
// non-zero exit and an error event from rank 0), and nothing may be left.
// The run is started as the extension starts it (startTrainer, which picks torchrun).
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
  train: { batch_size: 4, gradient_accumulation_steps: 2, max_iters: 1_000_000, eval_interval: 1_000_000, log_interval: 1, sample_tokens: 0, device: 'cpu', compile: 'false' },
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

test('a killed rank of a 2-process gloo run: every rank exits, the failure is reported, nothing is left', { skip, timeout: 300_000 }, async (t) => {
  const dir = tempDir('wordplay-rank-');
  const config = configFor(dir, await shakespeareDataset(dir), tiny);
  const seen: RunEvent[] = [];
  const output: string[] = [];
  const trainer = startTrainer({ config, runDir: path.join(dir, 'run'), env: trainerEnv, onEvent: (e) => seen.push(e), onStderr: (line) => output.push(line), pollMs: 20 });
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
    assert.match(result.error?.message ?? `no error event; the output was:\n${output.join('\n')}`, /another process of this 2-process run ended/);
    assert.equal(result.done?.reason, 'error');
    for (const [rank, pid] of ranks) assert.equal(processAlive(pid), false, `rank ${rank} (pid ${pid}) is still there`);
    assert.equal(processAlive(torchrun), false);
    assert.equal(groupAlive(torchrun), false, 'a process of the run is still there');
  } finally {
    killIfRunning(trainer);
  }
});
