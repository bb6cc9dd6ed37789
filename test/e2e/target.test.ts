// train.target_val_loss in a real VS Code, through its UI only: Train GPT with a tiny config whose
// target val loss (2.55, which a recorded run of this config first reached at iteration 180 of
// its 2,000) the run reaches early; while it trains (paused, so it cannot reach the target while
// the view is read) the Metrics view forecasts the iteration with its range under the loss chart;
// the run stops at the target with its checkpoint and exported model, the Runs tree says it
// reached the target, and the Metrics view draws the target line and says where it was reached,
// as the Metrics panel does. docs/target-forecast.png is a copy of its last screenshot
// (20-target-forecast.png in test/e2e/screenshots/).
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { groupAlive } from '../../src/core/common/processes';
import { readEvents } from '../../src/core/run/events';
import { MIN_EVALS } from '../../src/core/run/forecast';
import { runPaths } from '../../src/core/run/runDir';
import { readProcessRecord } from '../../src/core/run/supervision';
import { launchVsCode, waitUntil, webviewFrame, type VsCode } from './harness';
import { e2eSetup, type E2eSetup } from './setup';

// evaluated inside the webview's page, which the Node types do not describe
declare const window: {
  wordplayCharts?: Record<string, { data: { datasets: { label?: string; data: { x: number; y: number }[] }[] } }>;
};
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const TARGET = 2.55;
let setup: E2eSetup;
let vscode: VsCode;

before(async () => {
  setup = await e2eSetup();
  const { workspace } = setup;
  const cli = path.join(packageRoot, 'dist', 'cli.js');
  await promisify(execFile)(process.execPath, [
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
    model: { n_layer: 2, n_head: 2, n_embd: 64, block_size: 64 },
    train: {
      batch_size: 8,
      max_iters: 2000,
      target_val_loss: TARGET,
      eval_interval: 10,
      eval_iters: 5,
      log_interval: 5,
      device: 'cpu',
      compile: 'false',
      sample_tokens: 0,
    },
    optimizer: { learning_rate: 0.003, min_lr: 0.0003, warmup_iters: 10 },
  };
  fs.writeFileSync(path.join(workspace, 'target.wordplay.json'), `${JSON.stringify(config, null, 2)}\n`);
  vscode = await launchVsCode(setup);
});

after(async () => {
  await vscode?.close();
  const runs = path.join(setup.workspace, 'runs');
  for (const name of fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
    const record = readProcessRecord(path.join(runs, name));
    if (record && groupAlive(record.pid)) process.kill(-record.pid, 'SIGKILL');
  }
});

test(
  'a run with train.target_val_loss: forecast while it trains, stops at the target, the Runs tree and the Metrics view say so',
  { timeout: 300_000 },
  async () => {
    const runDir = await vscode.step('Train GPT with target.wordplay.json', async () => {
      await vscode.runCommand('Wordplay: Train GPT');
      const row = vscode.page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'target.wordplay.json' })
        .first();
      await row.waitFor();
      await row.click();
      const runs = path.join(setup.workspace, 'runs');
      let dir: string | undefined;
      await waitUntil(
        () =>
          Boolean((dir = fs.existsSync(runs) ? fs.readdirSync(runs).find((d) => d.endsWith('-target')) : undefined)),
        'the run folder',
        60_000,
      );
      return path.join(runs, dir!);
    });
    const forecast = async () => (await webviewFrame(vscode.page, '[data-chart="loss"]')).locator('#loss-forecast');
    await vscode.step(
      'while it trains the Metrics view forecasts the iteration that reaches the target, with a range',
      async () => {
        await vscode.runCommand('Wordplay: Focus on Metrics View');
        // the trainer paused once it has the evals a forecast needs: no eval can reach the target
        // while the view is read (the recorded run needs 18 evals, the forecast 4)
        const evals = () => readEvents(runPaths(runDir).events).filter((e) => e.type === 'eval' && e.iter > 0);
        await waitUntil(
          () => evals().length >= MIN_EVALS && readProcessRecord(runDir) !== undefined,
          `${MIN_EVALS} evals`,
          120_000,
        );
        const group = readProcessRecord(runDir)!.pid;
        process.kill(-group, 'SIGSTOP');
        try {
          const reached = evals().find((e) => e.type === 'eval' && e.val_loss <= TARGET);
          assert.equal(reached, undefined, 'the run was paused before an eval reached the target');
          await (
            await forecast()
          )
            .filter({ hasText: /^target 2\.55: forecast iteration ~[\d,]+ \([\d,]+–[\d,]+\)$/ })
            .waitFor({ timeout: 60_000 });
        } finally {
          process.kill(-group, 'SIGCONT');
        }
      },
    );
    const row = vscode.page
      .locator('.pane', { has: vscode.page.locator('.pane-header', { hasText: 'Runs' }) })
      .locator('.monaco-list-row', { hasText: path.basename(runDir) });
    await vscode.step('the run stops at the target and the Runs tree says why', async () => {
      await row.filter({ hasText: /reached target val loss 2\.55 at iteration \d+/ }).waitFor({ timeout: 180_000 });
      const events = readEvents(runPaths(runDir).events);
      const done = events.at(-1)!;
      assert.ok(
        done.type === 'done' && done.reason === 'finished' && done.target_val_loss === TARGET,
        JSON.stringify(done),
      );
      const lastEval = events.filter((e) => e.type === 'eval').at(-1)!;
      assert.ok(
        lastEval.type === 'eval' && lastEval.val_loss <= TARGET && lastEval.iter === done.iter && done.iter < 2000,
      );
      assert.ok(fs.existsSync(runPaths(runDir).onnx), 'the run exported model.onnx after stopping');
      assert.match(await row.innerText(), new RegExp(`reached target val loss 2\\.55 at iteration ${done.iter}`));
    });
    await vscode.step('the Metrics view draws the target line and says where it was reached', async () => {
      await (
        await forecast()
      )
        .filter({ hasText: /^target 2\.55: reached at iteration \d+ \(val loss 2\.\d{4}\)$/ })
        .waitFor({ timeout: 30_000 });
      const frame = await webviewFrame(vscode.page, '[data-chart="loss"]');
      const line = await frame.evaluate(
        () => window.wordplayCharts?.loss?.data.datasets.find((d) => d.label === 'target val')?.data,
      );
      assert.ok(
        line && line.length === 2 && line.every((p) => p.y === 2.55) && line[1].x > line[0].x,
        JSON.stringify(line),
      );
    });
    await vscode.step('Open Metrics shows the same in a panel', async () => {
      await vscode.runCommand('Wordplay: Open Metrics');
      // its quick pick has the runs shown now ticked: OK keeps them
      const ok = vscode.page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' });
      await ok.waitFor();
      await ok.click();
      await vscode.page.locator('.part.editor .tab', { hasText: 'Wordplay Metrics' }).waitFor();
      await waitUntil(
        async () => {
          let shown = 0;
          for (const frame of vscode.page.frames()) {
            const text = await frame
              .evaluate(() => document.querySelector('#loss-forecast')?.textContent ?? '')
              .catch(() => '');
            if (text.startsWith('target 2.55: reached at iteration')) shown += 1;
          }
          return shown >= 2;
        },
        'the panel to show where the target was reached beside the view',
        60_000,
      );
      await vscode.screenshot('20-target-forecast');
    });
  },
);
