// Training on a cluster from a real VS Code, through its UI only: Submit Training to Cluster…
// from the palette sends a 2-node CPU run to the real two-node SLURM cluster `npm test` starts
// (scripts/slurm-cluster.mjs), and the Runs tree shows it queued with squeue's reason while
// another job holds both nodes (until the test has seen that, then cancels it), then running,
// with the Metrics view charting it from the run folder as it trains (its processes paused while
// the two are read, so it cannot finish first), then finished. Under CI a missing cluster fails
// the test; elsewhere it is skipped.
import * as assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { readJobRecord } from '../../src/core/cluster';
import { readEvents } from '../../src/core/run/events';
import { runPaths } from '../../src/core/run/runDir';
import { launchVsCode, waitUntil, webviewFrame, type VsCode } from './harness';
import { e2eSetup, type E2eSetup } from './setup';

declare const window: { wordplayCharts?: Record<string, { data: { datasets: { data: unknown[] }[] } }> };

const run = promisify(execFile);
const MAX_ITERS = 60;
const clusterUp = spawnSync('sinfo', ['-h', '-o', '%D'], { encoding: 'utf8' }).stdout?.trim() === '2';
const missing =
  'no two-node SLURM cluster here (sinfo does not report 2 nodes): `node scripts/slurm-cluster.mjs start` installs slurm-wlm and munge (apt-get) and starts one, as `npm test` does';
if (!clusterUp && process.env.CI) throw new Error(missing);
const skip = clusterUp ? false : missing;

let setup: E2eSetup;
let vscode: VsCode;
let blocker: string | undefined;

before(async () => {
  if (skip) return;
  setup = await e2eSetup();
  const workspace = setup.workspace;
  const cli = path.join(packageRoot, 'dist', 'cli.js');
  await run(process.execPath, [
    cli,
    'prepare',
    '--input',
    path.join(workspace, 'shakespeare.txt'),
    '--tokenizer',
    'char',
    '--out',
    path.join(workspace, 'data', 'shakespeare-char'),
  ]);
  const config = {
    data: { dataset: 'data/shakespeare-char' },
    model: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 32 },
    train: {
      batch_size: 8,
      gradient_accumulation_steps: 2,
      max_iters: MAX_ITERS,
      eval_interval: 20,
      eval_iters: 4,
      log_interval: 2,
      device: 'cpu',
      compile: 'false',
      sample_tokens: 0,
    },
    distributed: { nnodes: 2, nproc_per_node: 1 },
    cluster: { scheduler: 'slurm', time: '00:10:00', stop_before_s: 60 },
  };
  fs.writeFileSync(path.join(workspace, 'cluster.wordplay.json'), `${JSON.stringify(config, null, 2)}\n`);
  vscode = await launchVsCode(setup);
});

after(async () => {
  await vscode?.close();
  if (blocker) spawnSync('scancel', [blocker]);
  // the submitted job, if the test ended before it did
  const runs = setup ? path.join(setup.workspace, 'runs') : undefined;
  for (const name of runs && fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
    const job = readJobRecord(path.join(runs!, name));
    if (job) spawnSync('scancel', [job.jobId]);
  }
});

/** The processes of a SLURM job on this host (the batch script, srun, the torchrun agents and
 *  the trainers): those whose environment names the job. */
function jobProcesses(jobId: string): number[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return [];
    try {
      return fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`SLURM_JOB_ID=${jobId}`)
        ? [Number(entry)]
        : [];
    } catch {
      // gone since the listing, or not ours to read
      return [];
    }
  });
}

/** Sends `signal` to each of `pids` still there. */
function signalEach(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // ended meanwhile
    }
  }
}

function runRow(runDir: string, state: string | RegExp) {
  return vscode.page
    .locator('.pane', { has: vscode.page.locator('.pane-header', { hasText: 'Runs' }) })
    .locator('.monaco-list-row', { hasText: path.basename(runDir) })
    .filter({ hasText: state });
}

test(
  'Submit Training to Cluster: the Runs tree shows the job queued (with its reason), running with chart points, then finished',
  { skip, timeout: 300_000 },
  async () => {
    await vscode.step('another job holds both nodes', async () => {
      // until the test cancels it, once the tree has shown why the run waits
      blocker = (await run('sbatch', ['--parsable', '-N', '2', '--output=/dev/null', '--wrap', 'sleep 600'])).stdout
        .trim()
        .split(';')[0];
      await waitUntil(
        () => spawnSync('squeue', ['-h', '-j', blocker!, '-o', '%T'], { encoding: 'utf8' }).stdout.trim() === 'RUNNING',
        'the blocking job to run',
        60_000,
      );
    });
    const runDir = await vscode.step('Submit Training to Cluster… with cluster.wordplay.json', async () => {
      await vscode.runCommand('Wordplay: Submit Training to Cluster…');
      const row = vscode.page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'cluster.wordplay.json' })
        .first();
      await row.waitFor();
      await row.click();
      const runs = path.join(setup.workspace, 'runs');
      let dir: string | undefined;
      await waitUntil(
        () =>
          Boolean(
            (dir = fs.existsSync(runs)
              ? fs
                  .readdirSync(runs)
                  .map((n) => path.join(runs, n))
                  .find((d) => readJobRecord(d))
              : undefined),
          ),
        'a submitted run folder',
        60_000,
      );
      await waitUntil(
        async () => (await vscode.notifications()).some((n) => /submitted .* to slurm as job \d+/.test(n)),
        'the notification naming the job',
        30_000,
      );
      return dir!;
    });
    await vscode.step('the Runs tree shows it queued, waiting for resources', async () => {
      await vscode.runCommand('Wordplay: Focus on Runs View');
      await runRow(runDir, 'queued (Resources)').waitFor({ timeout: 120_000 });
      await vscode.screenshot('40-cluster-queued');
      spawnSync('scancel', [blocker!]);
    });
    await vscode.step('then running, with the Metrics view charting it from the run folder', async () => {
      await waitUntil(
        () => readEvents(runPaths(runDir).events).some((e) => e.type === 'train'),
        'the first train event',
        120_000,
      );
      // the job paused from its first train event until the tree and the chart have been read
      const paused = jobProcesses(readJobRecord(runDir)!.jobId);
      signalEach(paused, 'SIGSTOP');
      try {
        assert.ok(
          !readEvents(runPaths(runDir).events).some((e) => e.type === 'done'),
          'the job was paused before it ended',
        );
        await runRow(runDir, new RegExp(`running · \\d+/${MAX_ITERS}`)).waitFor({ timeout: 60_000 });
        await vscode.runCommand('Wordplay: Focus on Metrics View');
        const frame = await webviewFrame(vscode.page, '[data-chart="loss"]');
        await frame.waitForFunction(
          () => (window.wordplayCharts?.loss?.data.datasets[0]?.data.length ?? 0) > 0,
          undefined,
          { timeout: 60_000 },
        );
        await vscode.screenshot('41-cluster-running');
      } finally {
        signalEach(paused, 'SIGCONT');
      }
    });
    await vscode.step('then finished, trained on both nodes', async () => {
      await vscode.runCommand('Wordplay: Focus on Runs View');
      await runRow(runDir, 'finished').waitFor({ timeout: 120_000 });
      const start = readEvents(runPaths(runDir).events).find((e) => e.type === 'start');
      assert.equal(start?.type === 'start' && start.world_size, 2);
      await vscode.screenshot('42-cluster-finished');
    });
  },
);
