// SIGKILL of the whole training process group at WORDPLAY_FAULT_KILLS (default 20; `npm test`
// runs 6) instants of a tiny run that checkpoints every other iteration: half at seeded random
// instants, half while a checkpoint is being written (the group is paused, SIGSTOP, once its
// checkpoint.tmp-* folder appears, and killed there if the write is still under way, else let go
// to the next write). After every kill: nothing of the group is left, the run dir holds a
// complete checkpoint, events.jsonl is whole lines but perhaps a torn last one, and
// init_from=resume starts from that checkpoint; the last resume finishes the run.
// The trainer is started as the extension starts it (startTrainer).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { groupAlive, signalProcess } from '../../src/core/common/processes';
import { runPaths } from '../../src/core/run/runDir';
import { startTrainer, type TrainerProcess } from '../../src/core/train/trainerProcess';
import type { RunEvent } from '../../src/core/run/events';
import { tempDir } from '../unit/helpers';
import {
  checkEventLines,
  configFor,
  FAULT_SEED,
  killIfRunning,
  loadableCheckpoint,
  partialCheckpoints,
  seededRandom,
  shakespeareDataset,
  skipWithoutTorch,
  sleep,
  trainerEnv,
  waitFor,
} from './faultHelpers';

const KILLS = Number(process.env.WORDPLAY_FAULT_KILLS ?? 20);
const tiny = {
  model: { n_layer: 1, n_head: 2, n_embd: 16, block_size: 16, dropout: 0 },
  train: {
    batch_size: 4,
    max_iters: 1_000_000,
    eval_interval: 2,
    eval_iters: 1,
    log_interval: 1,
    always_save_checkpoint: true,
    sample_tokens: 0,
    device: 'cpu',
    compile: 'false',
  },
  optimizer: { learning_rate: 0.003, min_lr: 0.0003, warmup_iters: 2 },
};

test(
  `SIGKILL at ${KILLS} instants, half of them during a checkpoint write: a loadable checkpoint, whole event lines, and resume finishes`,
  { skip: skipWithoutTorch, timeout: 600_000 },
  async (t) => {
    t.diagnostic(`seed ${FAULT_SEED} (WORDPLAY_FAULT_SEED replays another)`);
    const random = seededRandom();
    const dir = tempDir('wordplay-kill-');
    const dataset = await shakespeareDataset(dir);
    const runDir = path.join(dir, 'run');
    const events = runPaths(runDir).events;
    let running: TrainerProcess | undefined;
    const start = (sets: string[]) => {
      const seen: RunEvent[] = [];
      running = startTrainer({
        config: configFor(dir, dataset, tiny, sets),
        runDir,
        env: trainerEnv,
        onEvent: (e) => seen.push(e),
        pollMs: 5,
      });
      return { trainer: running, seen };
    };
    assert.ok(KILLS > 0 && KILLS % 2 === 0, `WORDPLAY_FAULT_KILLS must be a positive even number, not ${KILLS}`);
    const duringWrite = { aimed: 0, random: 0 };
    let missedWrites = 0; // writes that ended before the pause reached them
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const before = fs.existsSync(runDir) ? loadableCheckpoint(runDir) : undefined;
        const offset = fs.existsSync(events) ? fs.statSync(events).size : 0;
        const { trainer, seen } = start(before ? ['train.init_from=resume'] : []);
        // the first run is killed only once it has a checkpoint to resume from
        await waitFor(
          () => seen.some((e) => e.type === (before ? 'start' : 'checkpoint')),
          120_000,
          `run ${kill} to start`,
        );
        const startEvent = seen.find((e) => e.type === 'start');
        if (before) assert.equal(startEvent?.iter, before.iteration, `run ${kill} resumed from its checkpoint`);
        const aimed = kill % 2 === 1;
        // its own write: the folder of one killed before may still be there
        const writing = () => partialCheckpoints(runDir).includes(`checkpoint.tmp-${trainer.pid}`);
        if (aimed) {
          for (;;) {
            await waitFor(writing, 30_000, 'a checkpoint write');
            signalProcess(trainer.pid!, 'SIGSTOP', true);
            if (writing()) break;
            signalProcess(trainer.pid!, 'SIGCONT', true);
            assert.ok(++missedWrites < 100, 'the pause never caught a checkpoint write');
          }
        } else {
          await sleep(random() * 300);
        }
        trainer.kill();
        const result = await trainer.done;
        assert.equal(result.signal, 'SIGKILL', `run ${kill} was killed, not ended (exit ${result.exitCode})`);
        assert.equal(groupAlive(trainer.pid!), false, `run ${kill}: a process of the group outlived the kill`);
        if (writing()) duringWrite[aimed ? 'aimed' : 'random']++;
        const after = loadableCheckpoint(runDir);
        assert.ok(after, `run ${kill}: no loadable checkpoint`);
        assert.ok(
          after.iteration >= (before?.iteration ?? 1),
          `run ${kill}: the checkpoint went back from ${before?.iteration} to ${after.iteration}`,
        );
        assert.ok(checkEventLines(events, offset) > 0);
      }
      t.diagnostic(
        `kills that cut a checkpoint write: ${duringWrite.aimed} of ${KILLS / 2} aimed (${missedWrites} writes ended before the pause), ${duringWrite.random} of ${KILLS / 2} random`,
      );

      const last = loadableCheckpoint(runDir)!;
      const offset = fs.statSync(events).size;
      const { trainer, seen } = start(['train.init_from=resume', `train.max_iters=${last.iteration + 4}`]);
      const result = await trainer.done;
      assert.equal(result.exitCode, 0, JSON.stringify(result.error));
      assert.equal(seen.find((e) => e.type === 'start')?.iter, last.iteration);
      assert.equal(result.done?.reason, 'finished');
      assert.equal(loadableCheckpoint(runDir)?.iteration, last.iteration + 4);
      assert.deepEqual(partialCheckpoints(runDir), [], 'a finished run leaves no partial checkpoint');
      checkEventLines(events, offset);
    } finally {
      killIfRunning(running);
    }
  },
);
