// A run belongs to its run dir, not to the window that started it: the trainer outlives a
// killed extension host, a new one finds it by process.json (or a CLI run in a terminal) and
// stops it gracefully, or the trainer stops by itself when told to stop with its window. Each
// test checks by process id that nothing is left.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { groupAlive, processAlive } from '../../src/core/common/processes';
import { readEvents } from '../../src/core/run/events';
import { runPaths } from '../../src/core/run/runDir';
import { summarizeRun, type RunSummary } from '../../src/core/run/runs';
import {
  AttachedTrainer,
  liveTrainer,
  readProcessRecord,
  takeOverRun,
  writeProcessRecord,
} from '../../src/core/run/supervision';
import { startTrainer } from '../../src/core/train/trainerProcess';
import { tempDir } from './helpers';
import { skipWithoutTorch as skip, tinyConfig, tinyDataset } from './trainerFixtures';

const env = { ...process.env, WORDPLAY_SKIP_EXPORT: '1', OMP_NUM_THREADS: '1' };
const tsx = ['--import', 'tsx'];

async function workspace(): Promise<{ dir: string; configFile: string; runDir: string }> {
  const dir = tempDir('wordplay-supervision-');
  await tinyDataset(path.join(dir, 'data'));
  tinyConfig(dir);
  return { dir, configFile: path.join(dir, 'tiny.wordplay.json'), runDir: path.join(dir, 'runs', 'r1') };
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const runningPast = (runDir: string, iter: number) => () => {
  const s = summarizeRun(runDir);
  return s?.state === 'running' && s.iter >= iter ? s : undefined;
};

/** A stand-in window that starts the trainer; with graceSeconds, the run stops with it after that grace. */
function startHost(configFile: string, runDir: string, stopWithHost?: { graceSeconds: number }): ChildProcess {
  const args = [
    ...tsx,
    path.join(packageRoot, 'test/unit/hostStandIn.ts'),
    configFile,
    runDir,
    ...(stopWithHost ? ['stop-with-host'] : []),
  ];
  const hostEnv = stopWithHost ? { ...env, WORDPLAY_STOP_GRACE_S: String(stopWithHost.graceSeconds) } : env;
  return spawn(process.execPath, args, { env: hostEnv, stdio: 'ignore' });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

function assertStoppedWithCheckpoint(runDir: string, leader: number, rank0: number): RunSummary {
  const summary = summarizeRun(runDir);
  assert.equal(summary?.state, 'stopped');
  const state = JSON.parse(fs.readFileSync(runPaths(runDir).checkpointState, 'utf8'));
  assert.equal(state.iteration, summary?.iter);
  assert.equal(processAlive(rank0), false);
  assert.equal(groupAlive(leader), false);
  return summary!;
}

test(
  'a run outlives a killed window; the next one finds it by process.json and stops it',
  { skip, timeout: 180_000 },
  async () => {
    const { configFile, runDir } = await workspace();
    const host = startHost(configFile, runDir);
    try {
      const before = await until('the run to train', runningPast(runDir, 3));
      host.kill('SIGKILL');
      await exited(host);
      // still training with its window gone
      await until('progress after the window died', runningPast(runDir, before.iter + 3));
      const found = liveTrainer(runDir, before.pid);
      assert.ok(found?.group, 'found by its recorded process group');
      const attached = new AttachedTrainer(found);
      attached.stop(60_000);
      await attached.done;
      await until('the done event', () => summarizeRun(runDir)?.state !== 'running');
      assertStoppedWithCheckpoint(runDir, found.pid, before.pid!);
    } finally {
      host.kill('SIGKILL');
      const record = JSON.parse(fs.readFileSync(runPaths(runDir).process, 'utf8'));
      if (groupAlive(record.pid)) process.kill(-record.pid, 'SIGKILL');
    }
  },
);

test(
  'told to stop with its window, the trainer checkpoints and stops when the window dies',
  { skip, timeout: 180_000 },
  async () => {
    const { configFile, runDir } = await workspace();
    const host = startHost(configFile, runDir, { graceSeconds: 0 });
    try {
      const running = await until('the run to train', runningPast(runDir, 3));
      const leader = JSON.parse(fs.readFileSync(runPaths(runDir).process, 'utf8')).pid;
      host.kill('SIGKILL');
      await until('the trainer to stop by itself', () => summarizeRun(runDir)?.state === 'stopped', 60_000);
      await until('no process left', () => !groupAlive(leader), 30_000);
      assertStoppedWithCheckpoint(runDir, leader, running.pid!);
      assert.match(fs.readFileSync(runPaths(runDir).log, 'utf8'), /which started this run, is gone/);
    } finally {
      host.kill('SIGKILL');
    }
  },
);

test(
  'a window that takes over a run whose window died keeps it training past the grace period',
  { skip, timeout: 180_000 },
  async () => {
    const { configFile, runDir } = await workspace();
    // long enough that the takeover, a file written as soon as the notice is read, always comes
    // within it
    const graceSeconds = 10;
    const host = startHost(configFile, runDir, { graceSeconds });
    try {
      const running = await until('the run to train', runningPast(runDir, 3));
      assert.equal(takeOverRun(runDir, process.pid), false, 'its window is alive: nothing to take over');
      host.kill('SIGKILL');
      await exited(host);
      const log = () => fs.readFileSync(runPaths(runDir).log, 'utf8');
      await until('the trainer to notice', () => /which started this run, is gone/.test(log()));
      const noticed = Date.now() / 1000;
      assert.equal(takeOverRun(runDir, process.pid), true);
      await until('the trainer to see the new window', () =>
        new RegExp(`process ${process.pid} took the run over`).test(log()),
      );
      // an orphaned run stops at its first check (once a second) past the grace period: a step
      // 2 s after that shows the takeover held
      const past = noticed + graceSeconds + 2;
      await until(
        'training past the grace period',
        () =>
          readEvents(runPaths(runDir).events).some((e) => e.type === 'train' && e.time > past) ||
          summarizeRun(runDir)?.state !== 'running',
        60_000,
      );
      assert.equal(summarizeRun(runDir)?.state, 'running');
      assert.doesNotMatch(log(), /no window took the run over/);
      const found = liveTrainer(runDir, running.pid)!;
      const attached = new AttachedTrainer(found);
      attached.stop(60_000);
      await attached.done;
      await until('the done event', () => summarizeRun(runDir)?.state !== 'running');
      assertStoppedWithCheckpoint(runDir, found.pid, running.pid!);
    } finally {
      host.kill('SIGKILL');
      const record = readProcessRecord(runDir);
      if (record && groupAlive(record.pid)) process.kill(-record.pid, 'SIGKILL');
    }
  },
);

test(
  'a run started with the CLI in a terminal is found and stopped gracefully',
  { skip, timeout: 180_000 },
  async () => {
    const { configFile, runDir } = await workspace();
    const cli = spawn(
      process.execPath,
      [...tsx, path.join(packageRoot, 'src/cli.ts'), 'train', '--config', configFile, '--run-dir', runDir],
      { cwd: packageRoot, env, stdio: 'ignore' },
    );
    try {
      const running = await until('the run to train', runningPast(runDir, 3));
      const found = liveTrainer(runDir, running.pid);
      assert.ok(found);
      const attached = new AttachedTrainer(found);
      attached.stop(60_000);
      const [code] = await Promise.all([exited(cli), attached.done]);
      assert.equal(code, 0, 'the CLI reports a graceful stop');
      assertStoppedWithCheckpoint(runDir, found.pid, running.pid!);
    } finally {
      cli.kill('SIGKILL');
    }
  },
);

test(
  'a trainer still there after the grace period is killed, its whole group with it',
  { skip, timeout: 120_000 },
  async () => {
    const { dir, runDir } = await workspace();
    const config = tinyConfig(dir);
    let iter = 0;
    const trainer = startTrainer({
      config,
      runDir,
      env,
      pollMs: 50,
      onEvent: (e) => void (e.type === 'train' && (iter = e.iter)),
    });
    try {
      await until('the run to train', () => iter >= 3);
      // a trainer that does not stop: paused (SIGSTOP), the SIGINT waits, and the grace runs out
      process.kill(-trainer.pid!, 'SIGSTOP');
      trainer.stop(1000);
      const result = await trainer.done;
      assert.equal(result.signal, 'SIGKILL');
      assert.equal(result.done, undefined);
      assert.equal(groupAlive(trainer.pid!), false);
      assert.equal(summarizeRun(runDir)?.state, 'failed');
    } finally {
      if (groupAlive(trainer.pid!)) process.kill(-trainer.pid!, 'SIGKILL');
    }
  },
);

test('a recorded pid that now belongs to another program is never taken for the trainer', async () => {
  const runDir = tempDir('wordplay-supervision-');
  const stranger = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  try {
    writeProcessRecord(runDir, stranger.pid!);
    assert.equal(liveTrainer(runDir, null), undefined);
    assert.equal(liveTrainer(runDir, stranger.pid!), undefined);
  } finally {
    stranger.kill('SIGKILL');
  }
});
