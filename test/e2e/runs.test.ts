// Comparing runs in a real VS Code, through its UI: two tiny runs that differ in one config key
// (the learning rate), trained by the CLI with samples at each evaluation before the editor
// opens. Selected together in the Runs tree, the Metrics panel's samples timeline shows both
// runs' samples and its run filter narrows it to one; Compare Runs opens the run card, whose
// config diff marks that key and only it.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { Frame } from 'playwright-core';
import { packageRoot } from '../../src/core/common/paths';
import { readEvents } from '../../src/core/run/events';
import { runPaths } from '../../src/core/run/runDir';
import { launchVsCode, waitUntil, webviewFrame, type VsCode } from './harness';
import { e2eSetup, type E2eSetup } from './setup';

// evaluated inside the webviews' pages, which the Node types do not describe
declare const document: { body: { clientWidth: number } };

let setup: E2eSetup;
let vscode: VsCode;
let runs: { high: string; low: string };

/** Two finished runs on the workspace's char dataset: 60 iterations, an evaluation and a
 *  60-token sample every 20, learning rates 0.01 and 0.002. */
async function trainRuns(workspace: string): Promise<{ high: string; low: string }> {
  const cli = (...args: string[]) =>
    promisify(execFile)(process.execPath, [path.join(packageRoot, 'dist', 'cli.js'), ...args], { cwd: workspace });
  const dataset = path.join(workspace, 'data', 'shakespeare-char');
  await cli('prepare', '--input', path.join(workspace, 'shakespeare.txt'), '--tokenizer', 'char', '--out', dataset);
  const trainOne = async (name: string, lr: number) => {
    const runDir = path.join(workspace, 'runs', name);
    const set = {
      'data.dataset': dataset,
      'model.n_layer': 1,
      'model.n_head': 2,
      'model.n_embd': 64,
      'model.block_size': 32,
      'train.batch_size': 16,
      'train.max_iters': 60,
      'train.eval_interval': 20,
      'train.eval_iters': 2,
      'train.sample_tokens': 60,
      'optimizer.learning_rate': lr,
      'optimizer.warmup_iters': 5,
      'optimizer.lr_decay_iters': 60,
    };
    await cli(
      'train',
      '--config',
      'shakespeare-char-cpu',
      '--run-dir',
      runDir,
      ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    );
    return runDir;
  };
  const [high, low] = await Promise.all([trainOne('lr-high', 0.01), trainOne('lr-low', 0.002)]);
  return { high, low };
}

before(async () => {
  setup = await e2eSetup();
  runs = await trainRuns(setup.workspace);
  vscode = await launchVsCode({ ...setup, settings: { 'workbench.view.alwaysShowHeaderActions': true } });
});

after(async () => {
  await vscode?.close();
});

function runRow(runDir: string) {
  return vscode.page
    .locator('.pane', { has: vscode.page.locator('.pane-header', { hasText: 'Runs' }) })
    .locator('.monaco-list-row', { hasText: path.basename(runDir) });
}

/** The webview pages that have `selector`, widest first (the panel before the sidebar's view). */
async function framesWith(selector: string): Promise<Frame[]> {
  const found: { frame: Frame; width: number }[] = [];
  for (const frame of vscode.page.frames()) {
    if (
      !(await frame
        .locator(selector)
        .count()
        .catch(() => 0))
    )
      continue;
    found.push({ frame, width: await frame.evaluate(() => document.body.clientWidth) });
  }
  return found.sort((a, b) => b.width - a.width).map((f) => f.frame);
}

/** The Metrics panel's page, once it and the sidebar's view both list samples. */
async function metricsPanel(): Promise<Frame> {
  await waitUntil(
    async () => (await framesWith('.timeline .sample')).length >= 2,
    'the panel and the view to list samples',
    60_000,
  );
  return (await framesWith('.timeline .sample'))[0];
}

test(
  'two runs selected in the Runs tree: the samples timeline shows both and filters to one; Compare Runs shows the config diff',
  { timeout: 240_000 },
  async () => {
    const sampleCount = (dir: string) => readEvents(runPaths(dir).events).filter((e) => e.type === 'sample').length;
    assert.ok(sampleCount(runs.high) >= 3 && sampleCount(runs.low) >= 3, 'each run wrote a sample at each evaluation');

    await vscode.step('select both runs in the Runs tree (click, then Ctrl+click)', async () => {
      await vscode.runCommand('Wordplay: Focus on Runs View');
      await runRow(runs.high).filter({ hasText: 'finished' }).waitFor({ timeout: 60_000 });
      await runRow(runs.high).click();
      await runRow(runs.low).click({ modifiers: ['Control'] });
      await waitUntil(
        async () => (await vscode.page.locator('.pane .monaco-list-row.selected').count()) === 2,
        'two selected rows',
      );
    });

    await vscode.step('Open Metrics: the samples timeline lists the samples of both runs', async () => {
      await vscode.runCommand('Wordplay: Open Metrics');
      // its quick pick has the runs shown now ticked: OK keeps them
      const ok = vscode.page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' });
      await ok.waitFor();
      await ok.click();
      await vscode.page.locator('.part.editor .tab', { hasText: 'Wordplay Metrics' }).waitFor();
      const frame = await metricsPanel();
      const expected = sampleCount(runs.high) + sampleCount(runs.low);
      await waitUntil(
        async () => (await frame.locator('.timeline .sample').count()) === expected,
        `${expected} samples in the timeline`,
        30_000,
      );
      const shownRuns = await frame
        .locator('.timeline .sample')
        .evaluateAll((items) => [...new Set(items.map((i) => i.getAttribute('data-run')))].sort());
      assert.deepEqual(shownRuns, [runs.high, runs.low].sort());
      const iters = await frame
        .locator('.timeline .sample')
        .evaluateAll((items) => items.map((i) => Number(i.getAttribute('data-iter'))));
      assert.ok(
        iters.every((it, k) => k === 0 || it <= iters[k - 1]),
        `newest first: ${iters}`,
      );
      assert.ok(
        (await frame.locator('.timeline .sample pre').first().innerText()).trim().length > 0,
        'a sample has text',
      );
      await frame.locator('#samples-heading').scrollIntoViewIfNeeded();
      await vscode.screenshot('runs-1-samples-timeline');
    });

    await vscode.step('the run filter shows one run, then both again', async () => {
      const frame = await metricsPanel();
      await frame.locator('#sample-run').selectOption(runs.low);
      await waitUntil(
        async () => (await frame.locator('.timeline .sample').count()) === sampleCount(runs.low),
        'only lr-low samples',
        10_000,
      );
      const shownRuns = await frame
        .locator('.timeline .sample')
        .evaluateAll((items) => [...new Set(items.map((i) => i.getAttribute('data-run')))]);
      assert.deepEqual(shownRuns, [runs.low]);
      // the filter is a native select: the keyboard reaches and changes it
      await frame.locator('#sample-run').focus();
      await frame.locator('#sample-run').press('Home');
      await waitUntil(
        async () => (await frame.locator('#sample-run').inputValue()) === '',
        'All runs chosen by keyboard',
        10_000,
      );
      await waitUntil(
        async () =>
          (await frame.locator('.timeline .sample').count()) === sampleCount(runs.high) + sampleCount(runs.low),
        'both runs again',
        10_000,
      );
    });

    await vscode.step('Compare Runs (the Runs view title action) opens the run card with the config diff', async () => {
      await vscode.runCommand('Wordplay: Focus on Runs View');
      await waitUntil(
        async () => (await vscode.page.locator('.pane .monaco-list-row.selected').count()) === 2,
        'both runs still selected',
      );
      await vscode.page.locator('.pane-header .action-label[aria-label^="Compare Runs"]').click();
      const frame = await webviewFrame(vscode.page, '#config tr.differs');
      const differing = await frame
        .locator('#config tr.differs')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
      assert.deepEqual(differing, ['optimizer.learning_rate'], 'the one key the runs differ in, and no other');
      const cells = await frame.locator('#config tr.differs td').allInnerTexts();
      assert.deepEqual([...cells].sort(), ['0.002', '0.01']);
      assert.match(await frame.locator('#dataset .verdict').innerText(), /Same dataset/);
      assert.match(await frame.locator('#environment tr[data-key="torch"] td').first().innerText(), /^\d+\.\d+/);
      assert.match(await frame.locator('#results tr[data-key="final val loss"] td').first().innerText(), /^\d\.\d{4}$/);
      // the keys both runs share are folded; the keyboard opens them
      const same = frame.locator('#config details.same-keys');
      assert.equal(await same.getAttribute('open'), null);
      await same.locator('summary').focus();
      await same.locator('summary').press('Enter');
      await waitUntil(async () => (await same.getAttribute('open')) !== null, 'the same keys unfolded', 10_000);
      await same.locator('summary').press('Enter');
      await vscode.page.locator('.part.editor .tab', { hasText: 'vs' }).waitFor();
      await vscode.screenshot('runs-2-run-card');
    });
  },
);
