// Training in a real VS Code, through its UI only: Train GPT with a tiny config shows its
// progress notification, the Metrics view's chart gets points (read inside the webview), the
// Runs tree shows the run finished; a second run stopped midway shows as stopped with its
// checkpoint and no process left; the config editor's form edits the file on disk and shows an
// invalid value's error; in an untrusted workspace Train GPT is refused with the reason.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { Frame } from 'playwright-core';
import { packageRoot } from '../../src/core/paths';
import { groupAlive, processAlive } from '../../src/core/processes';
import { runPaths } from '../../src/core/runDir';
import { summarizeRun } from '../../src/core/runs';
import { currentWatcher, readProcessRecord } from '../../src/core/supervision';
import { launchVsCode, waitUntil, type VsCode } from './harness';
import { e2eSetup, type E2eSetup } from './setup';

// evaluated inside the webviews' pages, which the Node types do not describe
declare const window: {
  wordplayCharts?: Record<string, { data: { datasets: { data: unknown[] }[] }; options: { scales: { x: { ticks: { color: unknown } } } } }>;
};
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

let setup: E2eSetup;
let vscode: VsCode;

/** Configs beside a char dataset prepared from the shipped tiny Shakespeare: tiny (150 iterations, to
 *  finish), long, crash and keep (100,000 iterations: to be stopped or cut off), unprepared
 *  (its dataset folder does not exist) and broken (its dataset lost train.bin). */
async function workspaceFixture(workspace: string): Promise<void> {
  const cli = path.join(packageRoot, 'dist', 'cli.js');
  await promisify(execFile)(process.execPath, [cli, 'prepare', '--input', path.join(workspace, 'shakespeare.txt'), '--tokenizer', 'char', '--out', path.join(workspace, 'data', 'shakespeare-char')]);
  const config = (maxIters: number) => ({
    data: { dataset: 'data/shakespeare-char' },
    model: { n_layer: 2, n_head: 2, n_embd: 64, block_size: 64 },
    train: { batch_size: 8, max_iters: maxIters, eval_interval: 50, eval_iters: 5, log_interval: 5, device: 'cpu', compile: 'false', sample_tokens: 0 },
    optimizer: { learning_rate: 0.003, min_lr: 0.0003, warmup_iters: 10, lr_decay_iters: maxIters },
  });
  fs.writeFileSync(path.join(workspace, 'tiny.wordplay.json'), `${JSON.stringify(config(150), null, 2)}\n`);
  for (const name of ['long', 'crash', 'keep']) fs.writeFileSync(path.join(workspace, `${name}.wordplay.json`), `${JSON.stringify(config(100_000), null, 2)}\n`);
  fs.writeFileSync(path.join(workspace, 'unprepared.wordplay.json'), `${JSON.stringify({ ...config(150), data: { dataset: 'data/not-prepared' } }, null, 2)}\n`);
  // a dataset whose train.bin went missing: only the trainer finds out
  const broken = path.join(workspace, 'data', 'broken');
  fs.cpSync(path.join(workspace, 'data', 'shakespeare-char'), broken, { recursive: true });
  fs.rmSync(path.join(broken, 'train.bin'));
  fs.writeFileSync(path.join(workspace, 'broken.wordplay.json'), `${JSON.stringify({ ...config(150), data: { dataset: 'data/broken' } }, null, 2)}\n`);
}

before(async () => {
  setup = await e2eSetup();
  await workspaceFixture(setup.workspace);
  vscode = await launchVsCode({ ...setup, settings: { 'workbench.view.alwaysShowHeaderActions': true } });
});

after(async () => {
  await vscode?.close();
  // no run of this test may outlive it
  for (const dir of runDirs()) {
    const record = readProcessRecord(dir);
    if (record && groupAlive(record.pid)) process.kill(-record.pid, 'SIGKILL');
  }
});

function runDirs(): string[] {
  const runs = path.join(setup.workspace, 'runs');
  return fs.existsSync(runs) ? fs.readdirSync(runs).map((name) => path.join(runs, name)) : [];
}

async function newRun(configName: string): Promise<string> {
  let dir: string | undefined;
  await waitUntil(() => Boolean((dir = runDirs().find((d) => d.endsWith(`-${configName}`)))), `a run folder for ${configName}`, 60_000);
  return dir!;
}

/** Train GPT from the palette, the config picked by name in its quick pick. */
async function train(configFile: string): Promise<string> {
  await vscode.runCommand('Wordplay: Train GPT');
  const row = vscode.page.locator('.quick-input-list .monaco-list-row', { hasText: configFile }).first();
  await row.waitFor();
  await row.click();
  return newRun(configFile.replace('.wordplay.json', ''));
}

/** The row of a run in the Runs view, once it shows `state` (e.g. "finished", or a pattern
 *  of its description "running · 12/100000"). */
function runRow(runDir: string, state: string | RegExp) {
  return vscode.page.locator('.pane', { has: vscode.page.locator('.pane-header', { hasText: 'Runs' }) }).locator('.monaco-list-row', { hasText: path.basename(runDir) }).filter({ hasText: state });
}

/** The frame of the webview whose page has `selector` (code-server nests each in two iframes). */
async function webviewFrame(selector: string): Promise<Frame> {
  let found: Frame | undefined;
  await waitUntil(
    async () => {
      for (const frame of vscode.page.frames()) {
        if (await frame.locator(selector).count().catch(() => 0)) found = frame;
      }
      return found !== undefined;
    },
    `a webview showing ${selector}`,
    60_000,
  );
  return found!;
}

/** How many webviews chart loss points (the sidebar view, the panel). */
async function chartFrames(): Promise<number> {
  let count = 0;
  for (const frame of vscode.page.frames()) {
    const points = await frame.evaluate(() => window.wordplayCharts?.loss?.data.datasets[0]?.data.length ?? 0).catch(() => 0);
    if (points > 0) count += 1;
  }
  return count;
}

test('Train GPT: progress notification, chart points, finished in the Runs tree', { timeout: 240_000 }, async () => {
  const runDir = await vscode.step('Train GPT with tiny.wordplay.json', () => train('tiny.wordplay.json'));
  await vscode.step('the progress notification appears', async () => {
    await waitUntil(async () => (await vscode.notifications()).some((n) => n.includes(`training ${path.basename(runDir)}`)), 'the training notification', 60_000);
    await vscode.screenshot('10-training-progress');
  });
  await vscode.step('the Metrics view charts the run', async () => {
    await vscode.runCommand('Wordplay: Focus on Metrics View');
    const frame = await webviewFrame('[data-chart="loss"]');
    await frame.waitForFunction(() => (window.wordplayCharts?.loss?.data.datasets[0]?.data.length ?? 0) > 0, undefined, { timeout: 90_000 });
    await vscode.screenshot('11-metrics-view');
  });
  await vscode.step('the Runs tree shows the run finished', async () => {
    await runRow(runDir, 'finished').waitFor({ timeout: 120_000 });
    await vscode.screenshot('12-runs-finished');
  });
  await vscode.step('Open Metrics shows the run in a panel', async () => {
    await vscode.runCommand('Wordplay: Open Metrics');
    // its quick pick has the runs shown now ticked: OK keeps them
    const ok = vscode.page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' });
    await ok.waitFor();
    await ok.click();
    await vscode.page.locator('.part.editor .tab', { hasText: 'Wordplay Metrics' }).waitFor();
    await waitUntil(async () => (await chartFrames()) >= 2, 'the panel to chart the run beside the view', 60_000);
    await vscode.screenshot('12-metrics-panel');
  });
  await vscode.step('a dark theme redraws the charts in its colours', async () => {
    const frame = await webviewFrame('[data-chart="loss"]');
    const tickColour = () => frame.evaluate(() => String(window.wordplayCharts?.loss?.options.scales.x.ticks.color));
    const light = await tickColour();
    // Ctrl+K Ctrl+T: the colour theme picker
    await vscode.page.keyboard.press('Control+K');
    await vscode.page.keyboard.press('Control+T');
    const input = vscode.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill('Dark Modern');
    await vscode.page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'Dark Modern' }).waitFor();
    await vscode.page.keyboard.press('Enter');
    await waitUntil(async () => (await tickColour()) !== light, 'the charts to take the dark theme', 30_000);
    await vscode.screenshot('12-metrics-panel-dark');
  });
  assert.ok(fs.existsSync(runPaths(runDir).onnx), 'the finished run exported model.onnx');
});

test('Stop Training midway: stopped, checkpoint saved, no trainer process left', { timeout: 240_000 }, async () => {
  const runDir = await vscode.step('Train GPT with long.wordplay.json', () => train('long.wordplay.json'));
  // midway: ten iterations or more
  await vscode.step('the run trains', () => runRow(runDir, /running · [1-9]\d+\//).waitFor({ timeout: 90_000 }));
  const record = readProcessRecord(runDir);
  assert.ok(record, 'process.json names the trainer');
  await vscode.step('Stop Training', async () => {
    await vscode.runCommand('Wordplay: Stop Training');
    await runRow(runDir, 'stopped').waitFor({ timeout: 90_000 });
    await vscode.screenshot('13-run-stopped');
  });
  assert.ok(fs.existsSync(runPaths(runDir).checkpointState), 'the stop saved a checkpoint');
  await waitUntil(() => !groupAlive(record.pid), 'the trainer group to be gone', 30_000);
  assert.equal(processAlive(record.pid), false);
});

test('Train GPT on a dataset not prepared yet says so, offers to prepare it, and starts nothing', { timeout: 60_000 }, async () => {
  const before = runDirs().length;
  await vscode.step('Train GPT with unprepared.wordplay.json', async () => {
    await vscode.runCommand('Wordplay: Train GPT');
    const row = vscode.page.locator('.quick-input-list .monaco-list-row', { hasText: 'unprepared.wordplay.json' }).first();
    await row.waitFor();
    await row.click();
    const toast = vscode.page.locator('.notifications-toasts .notification-toast', { hasText: 'not a prepared dataset yet' });
    await toast.waitFor({ timeout: 60_000 });
    assert.match(await toast.innerText(), /Prepare Dataset/);
  });
  assert.equal(runDirs().length, before, 'no run folder was made');
});

test("a trainer's error event becomes an error notification, and the run shows failed", { timeout: 120_000 }, async () => {
  const runDir = await vscode.step('Train GPT with broken.wordplay.json', () => train('broken.wordplay.json'));
  await vscode.step('the error notification names the key and offers the logs and the config', async () => {
    const toast = vscode.page.locator('.notifications-toasts .notification-toast', { hasText: `training ${path.basename(runDir)} failed` });
    await toast.waitFor({ timeout: 60_000 });
    const text = await toast.innerText();
    assert.match(text, /train\.bin/);
    assert.match(text, /Show Logs/);
    assert.match(text, /Open Config/);
    await runRow(runDir, 'failed').waitFor({ timeout: 30_000 });
    await vscode.screenshot('13-run-failed');
  });
});

/** The extension host that started a run: the trainer was told to stop when it is gone. */
function extensionHostOf(runDir: string): number {
  const trainer = readProcessRecord(runDir)!.pid;
  const environ = fs.readFileSync(`/proc/${trainer}/environ`, 'utf8').split('\0');
  return Number(environ.find((v) => v.startsWith('WORDPLAY_STOP_WITH_PID='))!.split('=')[1]);
}

/** A new window on the same workspace: the page reloaded, so a new extension host. */
async function reloadWindow(): Promise<void> {
  await vscode.page.reload();
  await vscode.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  await vscode.runCommand('Wordplay: Focus on Runs View');
}

test('the extension host ends mid-run: a reloaded window takes the run over; with no window it stops cleanly; with keepTrainingOnClose it trains on and a new window follows it', { timeout: 300_000 }, async () => {
  const crashed = await vscode.step('Train GPT with crash.wordplay.json', () => train('crash.wordplay.json'));
  await vscode.step('it trains', () => runRow(crashed, /running · [1-9]\d+\//).waitFor({ timeout: 90_000 }));
  const crashedGroup = readProcessRecord(crashed)!.pid;
  const trainLog = () => fs.readFileSync(runPaths(crashed).log, 'utf8');
  await vscode.step('kill the extension host and reload: the new window takes the run over', async () => {
    process.kill(extensionHostOf(crashed), 'SIGKILL');
    await reloadWindow();
    await waitUntil(() => /took the run over; training on/.test(trainLog()), 'the trainer to see the new window', 60_000);
    await runRow(crashed, 'running').waitFor({ timeout: 30_000 });
  });
  await vscode.step('no window left: the trainer stops by itself after its grace period, checkpoint first', async () => {
    const host = currentWatcher(crashed)!;
    await vscode.page.goto('about:blank');
    // code-server keeps a window's extension host a while for a reconnection: end it
    if (processAlive(host)) process.kill(host, 'SIGKILL');
    await waitUntil(() => summarizeRun(crashed)?.state === 'stopped', 'the run to stop', 90_000);
    await waitUntil(() => !groupAlive(crashedGroup), 'no trainer process left', 30_000);
    assert.ok(fs.existsSync(runPaths(crashed).checkpointState));
    assert.match(trainLog(), /no window took the run over/);
  });
  await vscode.step('a new window shows it stopped', async () => {
    await vscode.page.goBack();
    await vscode.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await vscode.runCommand('Wordplay: Focus on Runs View');
    await runRow(crashed, 'stopped').waitFor({ timeout: 60_000 });
  });

  fs.mkdirSync(path.join(setup.workspace, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(setup.workspace, '.vscode', 'settings.json'), JSON.stringify({ 'wordplay.keepTrainingOnClose': true }));
  const kept = await vscode.step('Train GPT with keep.wordplay.json (keepTrainingOnClose on)', () => train('keep.wordplay.json'));
  await vscode.step('it trains', () => runRow(kept, /running · [1-9]\d+\//).waitFor({ timeout: 90_000 }));
  const keptGroup = readProcessRecord(kept)!.pid;
  assert.equal(fs.readFileSync(`/proc/${keptGroup}/environ`, 'utf8').includes('WORDPLAY_STOP_WITH_PID='), false, 'not tied to the window');
  await vscode.step('the window goes: the run trains on, and a new window follows and stops it', async () => {
    await vscode.page.goto('about:blank');
    const before = summarizeRun(kept)!.iter;
    await waitUntil(() => summarizeRun(kept)!.iter >= before + 10, 'progress with no window open', 60_000);
    await vscode.page.goBack();
    await vscode.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await vscode.runCommand('Wordplay: Focus on Runs View');
    await runRow(kept, 'running').waitFor({ timeout: 60_000 });
    await waitUntil(async () => (await vscode.notifications()).some((n) => n.includes(`training ${path.basename(kept)}`)), 'the reattached progress notification', 30_000);
    await vscode.screenshot('17-reattached');
    await vscode.runCommand('Wordplay: Stop Training');
    await runRow(kept, 'stopped').waitFor({ timeout: 90_000 });
  });
  await waitUntil(() => !groupAlive(keptGroup), 'no trainer process left', 30_000);
});

test('the config editor edits the file and shows an invalid value', { timeout: 120_000 }, async () => {
  const file = path.join(setup.workspace, 'tiny.wordplay.json');
  await vscode.step('Open Config Editor on tiny.wordplay.json', async () => {
    await vscode.quickOpen('tiny.wordplay.json', 'tiny.wordplay.json');
  });
  const frame = await vscode.step('the form renders', () => webviewFrame('[data-field="model.n_layer"]'));
  await vscode.step('change n_layer and save', async () => {
    await frame.locator('#f-model-n_layer input').fill('3');
    await vscode.page.locator('.part.editor .tab.active.dirty').waitFor();
    await vscode.page.keyboard.press('Control+S');
    await waitUntil(() => JSON.parse(fs.readFileSync(file, 'utf8')).model.n_layer === 3, 'n_layer 3 on disk');
    await vscode.screenshot('14-config-editor');
  });
  await vscode.step('an invalid value shows its error', async () => {
    await frame.locator('#f-train-batch_size input').fill('0');
    await frame.waitForFunction(() => document.querySelector('#f-train-batch_size-error')?.textContent?.includes('at least 1'));
    await vscode.screenshot('15-config-editor-error');
  });
});

test('in an untrusted workspace Train GPT is refused with the reason', { timeout: 120_000 }, async () => {
  const untrusted = await launchVsCode({
    ...setup,
    trusted: false,
    settings: { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'never' },
  });
  try {
    await untrusted.step('Train GPT in Restricted Mode', async () => {
      await untrusted.runCommand('Wordplay: Train GPT');
      await waitUntil(async () => (await untrusted.notifications()).some((n) => n.includes('needs a trusted workspace')), 'the refusal', 30_000);
      await untrusted.screenshot('16-untrusted-refused');
    });
    assert.equal(runDirs().filter((d) => !fs.existsSync(runPaths(d).events)).length, 0, 'no new run was started');
  } finally {
    await untrusted.close();
  }
});
