// Training in a real VS Code, through its UI only: Train GPT shows its notification while the
// Python check still runs, and the notification, the status bar, the Runs tree and the Metrics
// view show one iteration and ETA (read while the trainer is paused); completion with only a
// training run says so; a tiny config's run charts in the Metrics view (read inside the
// webview) and shows finished in the Runs tree; a run stopped midway shows as stopped with its
// checkpoint and no process left, and right after the stop every command that asks something
// keeps its prompt when a webview takes the focus, then Resume Training trains on and
// completion uses the model its stop exported; the config editor's form edits the file on disk
// and shows an invalid value's error; in an untrusted workspace Train GPT is refused with the
// reason and starts no run.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { Locator } from 'playwright-core';
import { readEvents } from '../../src/core/run/events';
import { packageRoot } from '../../src/core/common/paths';
import { groupAlive, processAlive } from '../../src/core/common/processes';
import { positionText, TrainProgress } from '../../src/core/run/progress';
import { runPaths } from '../../src/core/run/runDir';
import { summarizeRun } from '../../src/core/run/runs';
import { currentWatcher, readProcessRecord } from '../../src/core/run/supervision';
import { launchVsCode, waitUntil, webviewFrame, type VsCode } from './harness';
import { e2eSetup, type E2eSetup } from './setup';

// evaluated inside the webviews' pages, which the Node types do not describe
declare const window: {
  wordplayCharts?: Record<
    string,
    { data: { datasets: { data: unknown[] }[] }; options: { scales: { x: { ticks: { color: unknown } } } } }
  >;
};
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  activeElement: { tagName: string } | null;
};

let setup: E2eSetup;
let vscode: VsCode;
/** How often each command that asks something is tried with the focus taken from its prompt:
 *  10, or WORDPLAY_E2E_FOCUS_ROUNDS (`npm test` runs 2, alternating the two webviews once). */
const ROUNDS = Number(process.env.WORDPLAY_E2E_FOCUS_ROUNDS ?? 10);

/** Configs beside a char dataset prepared from the shipped tiny Shakespeare: tiny (150 iterations, to
 *  finish), first, long, crash and keep (100,000 iterations: to be stopped or cut off), unprepared
 *  (its dataset folder does not exist) and broken (its dataset lost train.bin). */
async function workspaceFixture(workspace: string): Promise<void> {
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
  const config = (maxIters: number) => ({
    data: { dataset: 'data/shakespeare-char' },
    model: { n_layer: 2, n_head: 2, n_embd: 64, block_size: 64 },
    train: {
      batch_size: 8,
      max_iters: maxIters,
      eval_interval: 50,
      eval_iters: 5,
      log_interval: 5,
      device: 'cpu',
      compile: 'false',
      sample_tokens: 0,
    },
    optimizer: { learning_rate: 0.003, min_lr: 0.0003, warmup_iters: 10, lr_decay_iters: maxIters },
  });
  fs.writeFileSync(path.join(workspace, 'tiny.wordplay.json'), `${JSON.stringify(config(150), null, 2)}\n`);
  for (const name of ['first', 'long', 'crash', 'keep'])
    fs.writeFileSync(path.join(workspace, `${name}.wordplay.json`), `${JSON.stringify(config(100_000), null, 2)}\n`);
  fs.writeFileSync(
    path.join(workspace, 'unprepared.wordplay.json'),
    `${JSON.stringify({ ...config(150), data: { dataset: 'data/not-prepared' } }, null, 2)}\n`,
  );
  // a dataset whose train.bin went missing: only the trainer finds out
  const broken = path.join(workspace, 'data', 'broken');
  fs.cpSync(path.join(workspace, 'data', 'shakespeare-char'), broken, { recursive: true });
  fs.rmSync(path.join(broken, 'train.bin'));
  fs.writeFileSync(
    path.join(workspace, 'broken.wordplay.json'),
    `${JSON.stringify({ ...config(150), data: { dataset: 'data/broken' } }, null, 2)}\n`,
  );
  // a text file to complete in
  fs.writeFileSync(path.join(workspace, 'notes.txt'), 'ROMEO:\n');
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
  await waitUntil(
    () => Boolean((dir = runDirs().find((d) => d.endsWith(`-${configName}`)))),
    `a run folder for ${configName}`,
    60_000,
  );
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
  return vscode.page
    .locator('.pane', { has: vscode.page.locator('.pane-header', { hasText: 'Runs' }) })
    .locator('.monaco-list-row', { hasText: path.basename(runDir) })
    .filter({ hasText: state });
}

/** How many webviews chart loss points (the sidebar view, the panel). */
async function chartFrames(): Promise<number> {
  let count = 0;
  for (const frame of vscode.page.frames()) {
    const points = await frame
      .evaluate(() => window.wordplayCharts?.loss?.data.datasets[0]?.data.length ?? 0)
      .catch(() => 0);
    if (points > 0) count += 1;
  }
  return count;
}

/** Where a surface's text says a run is: "28/400 · ETA 3m53s", or "28/400" without an ETA. */
function positionIn(text: string | undefined): string | undefined {
  return text?.match(/\d+\/(?:\d+|\?)(?: · ETA \S+)?/)?.[0];
}

/** Where the run's events.jsonl says it is, worded as src/core/run/progress.ts words it. */
function positionFromEvents(runDir: string): string {
  const progress = new TrainProgress();
  for (const event of readEvents(runPaths(runDir).events)) progress.update(event);
  return positionText(progress.position);
}

/** The text of the first element `locator` finds, or undefined when there is none (it may go
 *  between the count and the read: the status bar item leaves when its run stops). */
async function textOf(locator: Locator): Promise<string | undefined> {
  return (await locator.count())
    ? locator
        .first()
        .innerText({ timeout: 1_000 })
        .catch(() => undefined)
    : undefined;
}

/** Where the progress notification, the status bar, the Runs tree and the Metrics view say the
 *  run is, read one after the other. */
async function surfaces(runDir: string): Promise<Record<string, string | undefined>> {
  const name = path.basename(runDir);
  const metrics = await webviewFrame(vscode.page, '[data-chart="loss"]');
  return {
    notification: positionIn((await vscode.notifications()).find((n) => n.includes(`training ${name}`))),
    'status bar': positionIn(await textOf(vscode.page.locator('.statusbar-item[id$="wordplay.training"]'))),
    'Runs tree': positionIn(await textOf(runRow(runDir, name))),
    'Metrics view': positionIn(await textOf(metrics.locator('.runs li', { hasText: name }).locator('.status'))),
  };
}

/** Waits until every surface in `which` shows `expected`, then reads them all again at once and
 *  checks they still do. */
async function allShow(runDir: string, expected: string, which: string[]): Promise<void> {
  let seen: Record<string, string | undefined> = {};
  const agree = async () => {
    seen = await surfaces(runDir);
    return which.every((surface) => seen[surface] === expected);
  };
  await waitUntil(agree, `every surface to show ${expected}`, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}; they show ${JSON.stringify(seen)}`);
  });
  const now = await surfaces(runDir);
  assert.deepEqual(
    Object.fromEntries(which.map((surface) => [surface, now[surface]])),
    Object.fromEntries(which.map((surface) => [surface, expected])),
  );
}

test(
  'Train GPT shows its notification while Python is checked; notification, status bar, Runs tree and Metrics view show one iteration and ETA; completion says the only run has no model yet',
  { timeout: 240_000 },
  async () => {
    await vscode.step(
      'Train GPT with first.wordplay.json: the notification comes while the Python check runs',
      async () => {
        await vscode.runCommand('Wordplay: Train GPT');
        const row = vscode.page
          .locator('.quick-input-list .monaco-list-row', { hasText: 'first.wordplay.json' })
          .first();
        await row.waitFor();
        await row.click();
        let shown: string | undefined;
        await waitUntil(
          async () =>
            Boolean((shown = (await vscode.notifications()).find((n) => /Wordplay: training \S+-first/.test(n)))),
          'the training notification',
          60_000,
        );
        // the run folder is made once the check let the trainer start: the first check of a window
        // imports PyTorch, seconds, so a notification seen before the folder came before the check's end
        assert.deepEqual(
          runDirs().filter((d) => d.endsWith('-first')),
          [],
          'the notification came before the run could start',
        );
        assert.match(shown!, /checking the Python environment/);
        await vscode.screenshot('10-checking-python');
      },
    );
    const runDir = await newRun('first');
    const name = path.basename(runDir);
    await vscode.step('the run trains until it has an ETA', async () => {
      await vscode.runCommand('Wordplay: Focus on Metrics View');
      await waitUntil(
        () => positionFromEvents(runDir).includes('ETA') && readProcessRecord(runDir) !== undefined,
        'two train events',
        90_000,
      );
    });
    // the trainer paused: no event comes while the surfaces are read
    const group = readProcessRecord(runDir)!.pid;
    process.kill(-group, 'SIGSTOP');
    try {
      await vscode.step(
        'the notification, the status bar, the Runs tree and the Metrics view show the same iteration and ETA',
        async () => {
          const expected = positionFromEvents(runDir);
          await allShow(runDir, expected, ['notification', 'status bar', 'Runs tree', 'Metrics view']);
          await vscode.screenshot('10-one-position');
        },
      );
      await vscode.step('Complete with wordplay says the only run is still training and has no model yet', async () => {
        await vscode.quickOpen('notes.txt', 'notes.txt');
        await vscode.runCommand('Wordplay: Complete with wordplay');
        const toast = vscode.page.locator('.notifications-toasts .notification-toast', {
          hasText: 'has no exported model yet',
        });
        await toast.waitFor({ timeout: 30_000 });
        const text = await toast.innerText();
        assert.ok(
          text.includes(
            `the only run, ${name}, is still training and has no exported model yet; Stop Training exports one.`,
          ),
          text,
        );
        assert.doesNotMatch(text, /no trained model/);
      });
    } finally {
      process.kill(-group, 'SIGCONT');
    }
    await vscode.step(
      'Stop Training: the Runs tree and the Metrics view show where the stop left the run',
      async () => {
        await vscode.runCommand('Wordplay: Stop Training');
        await runRow(runDir, 'stopped').waitFor({ timeout: 90_000 });
        const expected = positionFromEvents(runDir);
        assert.doesNotMatch(expected, /ETA/, 'a stopped run has no ETA');
        await allShow(runDir, expected, ['Runs tree', 'Metrics view']);
      },
    );
  },
);

test('Train GPT: progress notification, chart points, finished in the Runs tree', { timeout: 240_000 }, async () => {
  const runDir = await vscode.step('Train GPT with tiny.wordplay.json', () => train('tiny.wordplay.json'));
  await vscode.step('the progress notification appears', async () => {
    await waitUntil(
      async () => (await vscode.notifications()).some((n) => n.includes(`training ${path.basename(runDir)}`)),
      'the training notification',
      60_000,
    );
    await vscode.screenshot('10-training-progress');
  });
  await vscode.step('the Metrics view charts the run', async () => {
    await vscode.runCommand('Wordplay: Focus on Metrics View');
    const frame = await webviewFrame(vscode.page, '[data-chart="loss"]');
    await frame.waitForFunction(
      () => (window.wordplayCharts?.loss?.data.datasets[0]?.data.length ?? 0) > 0,
      undefined,
      { timeout: 90_000 },
    );
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
    const frame = await webviewFrame(vscode.page, '[data-chart="loss"]');
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

let stoppedRun: string;

test('Stop Training midway: stopped, checkpoint saved, no trainer process left', { timeout: 240_000 }, async () => {
  const runDir = await vscode.step('Train GPT with long.wordplay.json', () => train('long.wordplay.json'));
  await vscode.step('a config form open beside the Metrics view, which has the focus', async () => {
    await vscode.quickOpen('tiny.wordplay.json', 'tiny.wordplay.json');
    await webviewFrame(vscode.page, '[data-field="model.n_layer"]');
    await vscode.runCommand('Wordplay: Focus on Metrics View');
    await focusWebview('Metrics view');
  });
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
  stoppedRun = runDir;
});

type Webview = 'config form' | 'Metrics view';

/** Clicks into a webview, as VS Code moves the focus back into one a moment after the palette
 *  closes when it had the focus before: the config form (its page's corner, clear of any quick
 *  input) or the Metrics view's heading. */
async function focusWebview(which: Webview): Promise<void> {
  if (which === 'config form')
    await (
      await webviewFrame(vscode.page, '[data-field="model.n_layer"]')
    )
      .locator('body')
      .click({ position: { x: 4, y: 4 } });
  else await (await webviewFrame(vscode.page, '[data-chart="loss"]')).locator('h1').click();
  await waitUntil(
    () => vscode.page.evaluate(() => document.activeElement?.tagName === 'IFRAME'),
    `the focus in the ${which}`,
  );
}

/** The command's prompt: the quick input (pick or input box) with this title. */
const prompt = (title: string) =>
  vscode.page.locator('.quick-input-widget', { has: vscode.page.locator('.quick-input-title', { hasText: title }) });

/** Runs `command` from the palette with the focus in `from`, waits for its prompt, moves the
 *  focus into `to`, and checks the prompt is still open. */
async function askThenLoseFocus(command: string, title: string, from: Webview, to: Webview): Promise<Locator> {
  await focusWebview(from);
  await vscode.runCommand(`Wordplay: ${command}`);
  const asked = prompt(title);
  await asked.waitFor();
  await focusWebview(to);
  assert.ok(await asked.isVisible(), `the prompt of ${command} stays open when the focus moves into the ${to}`);
  return asked;
}

/** Dismisses the prompt with Escape: the command says it did nothing. */
async function dismiss(command: string, asked: Locator): Promise<void> {
  await vscode.page.locator('.quick-input-box input').click();
  await vscode.page.keyboard.press('Escape');
  await asked.waitFor({ state: 'hidden' });
  await vscode.page
    .locator('.statusbar-item', { hasText: `Wordplay: ${command} cancelled: ` })
    .first()
    .waitFor();
}

test(
  "right after a stop, every command that asks keeps its prompt when a webview takes the focus; Resume Training trains on; completion uses the stopped run's model",
  { timeout: 300_000 },
  async () => {
    const runDir = stoppedRun;
    const name = path.basename(runDir);
    const asking: [command: string, title: string][] = [
      ['Resume Training', 'Resume which run?'],
      ['Train GPT', 'Train GPT with which config?'],
      ['Prepare Dataset', 'text to prepare'],
      ['Select Completion Model', 'model for completion'],
      ['Export Model', 'Export which run?'],
    ];
    for (const [command, title] of asking) {
      for (let round = 1; round <= ROUNDS; round++) {
        const [from, to]: Webview[] = round % 2 ? ['config form', 'Metrics view'] : ['Metrics view', 'config form'];
        await vscode.step(
          `${command}, round ${round}: the prompt stays when the focus moves from the ${from} into the ${to}`,
          async () => {
            await dismiss(command, await askThenLoseFocus(command, title, from, to));
          },
        );
      }
    }
    await vscode.step(
      'Resume Training through both its prompts, each losing the focus: the run trains on',
      async () => {
        const asked = await askThenLoseFocus('Resume Training', 'Resume which run?', 'Metrics view', 'config form');
        await asked.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click();
        const until = prompt(`resume ${name} from iteration`);
        await until.waitFor();
        await focusWebview('Metrics view');
        assert.ok(await until.isVisible(), 'the input box stays open');
        await vscode.page.locator('.quick-input-box input').click();
        await vscode.page.keyboard.press('Enter');
        await runRow(runDir, 'running').waitFor({ timeout: 90_000 });
      },
    );
    await vscode.step(
      'Complete with wordplay completes with the model the stop exported while the run trains on',
      async () => {
        await vscode.quickOpen('notes.txt', 'notes.txt');
        await vscode.page.keyboard.press('Control+End');
        const completed = () => vscode.extensionLog().includes(`model ${runDir}`);
        await vscode.runCommand('Wordplay: Complete with wordplay');
        await waitUntil(completed, `a completion with ${name}'s model in the Wordplay log`, 60_000);
        assert.equal(summarizeRun(runDir)!.state, 'running', 'the run still trains');
        await vscode.page.keyboard.press('Control+S');
        await vscode.page.locator('.part.editor .tab.active:not(.dirty)', { hasText: 'notes.txt' }).waitFor();
      },
    );
    await vscode.step('Stop Training again', async () => {
      await vscode.runCommand('Wordplay: Stop Training');
      await runRow(runDir, 'stopped').waitFor({ timeout: 90_000 });
    });
  },
);

test(
  'Train GPT on a dataset not prepared yet says so, offers to prepare it, and starts nothing',
  { timeout: 60_000 },
  async () => {
    const before = runDirs().length;
    await vscode.step('Train GPT with unprepared.wordplay.json', async () => {
      await vscode.runCommand('Wordplay: Train GPT');
      const row = vscode.page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'unprepared.wordplay.json' })
        .first();
      await row.waitFor();
      await row.click();
      const toast = vscode.page.locator('.notifications-toasts .notification-toast', {
        hasText: 'not a prepared dataset yet',
      });
      await toast.waitFor({ timeout: 60_000 });
      assert.match(await toast.innerText(), /Prepare Dataset/);
    });
    assert.equal(runDirs().length, before, 'no run folder was made');
  },
);

test(
  "a trainer's error event becomes an error notification, and the run shows failed",
  { timeout: 120_000 },
  async () => {
    const runDir = await vscode.step('Train GPT with broken.wordplay.json', () => train('broken.wordplay.json'));
    await vscode.step('the error notification names the key and offers the logs and the config', async () => {
      const toast = vscode.page.locator('.notifications-toasts .notification-toast', {
        hasText: `training ${path.basename(runDir)} failed`,
      });
      await toast.waitFor({ timeout: 60_000 });
      const text = await toast.innerText();
      assert.match(text, /train\.bin/);
      assert.match(text, /Show Logs/);
      assert.match(text, /Open Config/);
      await runRow(runDir, 'failed').waitFor({ timeout: 30_000 });
      await vscode.screenshot('13-run-failed');
    });
  },
);

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

test(
  'the extension host ends mid-run: a reloaded window takes the run over; with no window it stops cleanly; with keepTrainingOnClose it trains on and a new window follows it',
  { timeout: 300_000 },
  async () => {
    const crashed = await vscode.step('Train GPT with crash.wordplay.json', () => train('crash.wordplay.json'));
    await vscode.step('it trains', () => runRow(crashed, /running · [1-9]\d+\//).waitFor({ timeout: 90_000 }));
    const crashedGroup = readProcessRecord(crashed)!.pid;
    const trainLog = () => fs.readFileSync(runPaths(crashed).log, 'utf8');
    await vscode.step('kill the extension host and reload: the new window takes the run over', async () => {
      process.kill(extensionHostOf(crashed), 'SIGKILL');
      await reloadWindow();
      await waitUntil(
        () => /took the run over; training on/.test(trainLog()),
        'the trainer to see the new window',
        60_000,
      );
      await runRow(crashed, 'running').waitFor({ timeout: 30_000 });
    });
    await vscode.step(
      'no window left: the trainer stops by itself after its grace period, checkpoint first',
      async () => {
        const host = currentWatcher(crashed)!;
        await vscode.page.goto('about:blank');
        // code-server keeps a window's extension host a while for a reconnection: end it
        if (processAlive(host)) process.kill(host, 'SIGKILL');
        await waitUntil(() => summarizeRun(crashed)?.state === 'stopped', 'the run to stop', 90_000);
        await waitUntil(() => !groupAlive(crashedGroup), 'no trainer process left', 30_000);
        assert.ok(fs.existsSync(runPaths(crashed).checkpointState));
        assert.match(trainLog(), /no window took the run over/);
      },
    );
    await vscode.step('a new window shows it stopped', async () => {
      await vscode.page.goBack();
      await vscode.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
      await vscode.runCommand('Wordplay: Focus on Runs View');
      await runRow(crashed, 'stopped').waitFor({ timeout: 60_000 });
    });

    fs.mkdirSync(path.join(setup.workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(
      path.join(setup.workspace, '.vscode', 'settings.json'),
      JSON.stringify({ 'wordplay.keepTrainingOnClose': true }),
    );
    const kept = await vscode.step('Train GPT with keep.wordplay.json (keepTrainingOnClose on)', () =>
      train('keep.wordplay.json'),
    );
    await vscode.step('it trains', () => runRow(kept, /running · [1-9]\d+\//).waitFor({ timeout: 90_000 }));
    const keptGroup = readProcessRecord(kept)!.pid;
    assert.equal(
      fs.readFileSync(`/proc/${keptGroup}/environ`, 'utf8').includes('WORDPLAY_STOP_WITH_PID='),
      false,
      'not tied to the window',
    );
    await vscode.step('the window goes: the run trains on, and a new window follows and stops it', async () => {
      await vscode.page.goto('about:blank');
      const before = summarizeRun(kept)!.iter;
      await waitUntil(() => summarizeRun(kept)!.iter >= before + 10, 'progress with no window open', 60_000);
      await vscode.page.goBack();
      await vscode.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
      await vscode.runCommand('Wordplay: Focus on Runs View');
      await runRow(kept, 'running').waitFor({ timeout: 60_000 });
      await waitUntil(
        async () => (await vscode.notifications()).some((n) => n.includes(`training ${path.basename(kept)}`)),
        'the reattached progress notification',
        30_000,
      );
      await vscode.screenshot('17-reattached');
      await vscode.runCommand('Wordplay: Stop Training');
      await runRow(kept, 'stopped').waitFor({ timeout: 90_000 });
    });
    await waitUntil(() => !groupAlive(keptGroup), 'no trainer process left', 30_000);
  },
);

test('the config editor edits the file and shows an invalid value', { timeout: 120_000 }, async () => {
  const file = path.join(setup.workspace, 'tiny.wordplay.json');
  await vscode.step('Open Config Editor on tiny.wordplay.json', async () => {
    await vscode.quickOpen('tiny.wordplay.json', 'tiny.wordplay.json');
  });
  const frame = await vscode.step('the form renders', () => webviewFrame(vscode.page, '[data-field="model.n_layer"]'));
  await vscode.step('change n_layer and save', async () => {
    await frame.locator('#f-model-n_layer input').fill('3');
    await vscode.page.locator('.part.editor .tab.active.dirty').waitFor();
    await vscode.page.keyboard.press('Control+S');
    await waitUntil(() => JSON.parse(fs.readFileSync(file, 'utf8')).model.n_layer === 3, 'n_layer 3 on disk');
    await vscode.screenshot('14-config-editor');
  });
  await vscode.step('an invalid value shows its error', async () => {
    await frame.locator('#f-train-batch_size input').fill('0');
    await frame.waitForFunction(() =>
      document.querySelector('#f-train-batch_size-error')?.textContent?.includes('at least 1'),
    );
    await vscode.screenshot('15-config-editor-error');
  });
});

test(
  'in an untrusted workspace Train GPT is refused with the reason and starts no run',
  { timeout: 120_000 },
  async () => {
    const untrusted = await launchVsCode({
      ...setup,
      trusted: false,
      settings: { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'never' },
    });
    try {
      const before = runDirs().length;
      await untrusted.step('Train GPT in Restricted Mode', async () => {
        await untrusted.runCommand('Wordplay: Train GPT');
        const refused = async () =>
          (await untrusted.notifications()).some((n) => n.includes('needs a trusted workspace'));
        const configRow = untrusted.page
          .locator('.quick-input-list .monaco-list-row', { hasText: 'tiny.wordplay.json' })
          .first();
        await waitUntil(
          async () => (await refused()) || (await configRow.isVisible()),
          'the refusal or a config pick',
          30_000,
        );
        // a command that went on to ask for a config is driven on, so a run it started is counted
        if (await configRow.isVisible()) await configRow.click();
        await waitUntil(
          async () => (await refused()) || runDirs().length > before,
          'the refusal or a new run folder',
          60_000,
        );
        await untrusted.screenshot('16-untrusted-refused');
        assert.equal(runDirs().length, before, 'no run folder was made in Restricted Mode');
        assert.ok(await refused(), 'the refusal names the reason');
      });
    } finally {
      await untrusted.close();
    }
  },
);
