// Train for… in a real VS Code, through its UI only: the palette command asks for a prepared
// dataset of the workspace and a number of minutes (an invalid one is refused in the input box),
// measures this machine in a notification, shows the plan it sized (shape, parameters, tokens,
// expected val loss) to accept, saves it as <dataset>-<N>min.wordplay.json with
// train.time_budget_s set, and trains it: the run ends by its budget, finished, in the Runs tree.
// A quarter of a minute keeps it short.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { groupAlive } from '../../src/core/common/processes';
import { readEvents } from '../../src/core/run/events';
import { runPaths } from '../../src/core/run/runDir';
import { readProcessRecord } from '../../src/core/run/supervision';
import { launchVsCode, waitUntil, type VsCode } from './harness';
import { e2eSetup, type E2eSetup } from './setup';

const MINUTES = 0.25;
let setup: E2eSetup;
let vscode: VsCode;

before(async () => {
  setup = await e2eSetup();
  await promisify(execFile)(process.execPath, [
    path.join(packageRoot, 'dist', 'cli.js'),
    'prepare',
    '--input',
    path.join(setup.workspace, 'shakespeare.txt'),
    '--tokenizer',
    'char',
    '--out',
    path.join(setup.workspace, 'data', 'shakespeare-char'),
  ]);
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
  'Train for… sizes a run for the dataset and minutes, shows the plan, and trains it within the budget',
  {
    timeout: 300_000,
  },
  async () => {
    const { page, workspace } = vscode;
    const input = page.locator('.quick-input-widget input');
    const row = (text: string) => page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
    await vscode.step('Train for… on the prepared dataset', async () => {
      await vscode.runCommand('Wordplay: Train for…');
      await row('data/shakespeare-char').waitFor();
      await row('data/shakespeare-char').click();
    });
    await vscode.step('minutes: a non-number is refused, a quarter of a minute is taken', async () => {
      await page.locator('.quick-input-widget', { hasText: 'for how many minutes' }).waitFor();
      await input.fill('soon');
      await page.locator('.quick-input-message', { hasText: 'Minutes must be a positive number of minutes' }).waitFor();
      await input.fill(String(MINUTES));
      await page.keyboard.press('Enter');
    });
    const title = await vscode.step('the plan, once the machine is measured', async () => {
      const plan = page.locator('.quick-input-title', { hasText: `for ${MINUTES} min` });
      await plan.waitFor({ timeout: 120_000 });
      await vscode.screenshot('30-train-for-plan');
      return plan.innerText();
    });
    assert.match(
      title,
      /^Wordplay: Train \d+×\d+ \([\d.]+ [kM]? ?parameters\) for 0\.25 min, ≈[\d.]+ [kM]? ?tokens, expected val loss ≈\d\.\d\d$/,
    );
    const file = path.join(workspace, `shakespeare-char-${MINUTES}min.wordplay.json`);
    await vscode.step('Train', async () => {
      await row(`saved as ${path.basename(file)}`).click();
      await waitUntil(() => fs.existsSync(file), `${path.basename(file)} to be saved`);
    });
    const config = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(config.train.time_budget_s, MINUTES * 60);
    assert.equal(config.data.dataset, 'data/shakespeare-char');
    const [, layers, width] = /Train (\d+)×(\d+)/.exec(title)!;
    assert.deepEqual([config.model.n_layer, config.model.n_embd], [Number(layers), Number(width)]);
    const runs = path.join(workspace, 'runs');
    let runDir = '';
    await vscode.step('the run starts from the saved config', () =>
      waitUntil(
        () =>
          Boolean(
            (runDir = fs.existsSync(runs)
              ? (fs.readdirSync(runs).find((d) => d.endsWith(`-shakespeare-char-${MINUTES}min`)) ?? '')
              : ''),
          ),
        'the run folder',
        60_000,
      ),
    );
    runDir = path.join(runs, runDir);
    await vscode.step('it ends by its budget, finished, in the Runs tree', async () => {
      await vscode.runCommand('Wordplay: Focus on Runs View');
      await page
        .locator('.pane', { has: page.locator('.pane-header', { hasText: 'Runs' }) })
        .locator('.monaco-list-row', { hasText: path.basename(runDir) })
        .filter({ hasText: 'finished' })
        .waitFor({ timeout: 120_000 });
      await vscode.screenshot('31-train-for-finished');
    });
    const events = readEvents(runPaths(runDir).events);
    const start = events.find((e) => e.type === 'start');
    const done = events.find((e) => e.type === 'done');
    assert.equal(start?.time_budget_s, MINUTES * 60);
    assert.equal(done?.reason, 'finished');
    const iter = done.iter ?? Infinity;
    assert.ok(iter < config.train.max_iters, `the budget ended the run (iteration ${iter}), not max_iters`);
  },
);
