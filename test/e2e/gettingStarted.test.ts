// The getting-started walkthrough and the Python commands in a real VS Code, without the Python
// extension (it is optional): the walkthrough lists its steps, its Prepare button writes tiny
// Shakespeare into the workspace, Check Python Environment reports the managed environment,
// and a wrong wordplay.pythonPath is named with its fix as soon as the setting changes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { isManagedEnvReady, managedEnv } from '../../src/core/common/pythonEnv';
import { shakespeareCachePath } from '../../src/core/prepare/shakespeare';
import { launchVsCode, waitUntil, type VsCode } from './harness';
import { e2eSetup } from './setup';

let vscode: VsCode;

before(async () => {
  const setup = await e2eSetup();
  // The extension host inherits this environment, so this file starts a code-server of its own:
  // an empty cache of its own, so tiny Shakespeare can only come from the corpus inside the
  // installed VSIX (there is no network), and the managed Python environment `npm test` set up,
  // so the interpreter comes from there.
  const python = managedEnv();
  assert.ok(
    isManagedEnvReady(),
    `the managed Python environment is not set up at ${python.dir}: run \`node dist/cli.js setup\``,
  );
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-cache-'));
  fs.symlinkSync(python.dir, path.join(cache, path.basename(python.dir)));
  process.env.WORDPLAY_CACHE_DIR = cache;
  delete process.env.WORDPLAY_PYTHON;
  vscode = await launchVsCode({ ...setup, ownServer: true });
});

after(async () => {
  await vscode?.close();
  if (vscode) fs.rmSync(vscode.workspace, { recursive: true, force: true });
  if (process.env.WORDPLAY_CACHE_DIR) fs.rmSync(process.env.WORDPLAY_CACHE_DIR, { recursive: true, force: true });
});

const notification = (text: RegExp) =>
  vscode.page.locator('.notifications-toasts .notification-toast').filter({ hasText: text });

test('the walkthrough lists its steps, and its Prepare button writes tiny Shakespeare into the workspace', async () => {
  const page = vscode.page;
  await vscode.step('open the walkthrough', async () => {
    await vscode.runCommand('Welcome: Open Walkthrough...');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'Train a small GPT with wordplay' })
      .first()
      .click();
    await page.locator('.getting-started-step').first().waitFor();
  });
  const titles = await page.locator('.getting-started-step .step-title').allInnerTexts();
  assert.deepEqual(titles, ['Set up Python', 'Prepare tiny Shakespeare', 'Train a GPT', 'Complete with your model']);
  await vscode.screenshot('getting-started-01-walkthrough');

  await vscode.step('press Prepare Tiny Shakespeare', async () => {
    await page.locator('.getting-started-step .step-title', { hasText: 'Prepare tiny Shakespeare' }).click();
    await page.getByRole('button', { name: 'Prepare Tiny Shakespeare', exact: true }).click();
    await notification(/prepared data\/shakespeare-char \(vocab 65, 1,003,854 train and 111,540 val tokens\)/).waitFor({
      timeout: 60_000,
    });
  });
  const meta = JSON.parse(
    fs.readFileSync(path.join(vscode.workspace, 'data', 'shakespeare-char', 'meta.json'), 'utf8'),
  );
  assert.equal(meta.tokenizer, 'char');
  assert.equal(meta.characters, 1_115_394);
  // from the compressed corpus inside the installed VSIX, into the empty cache: no network
  assert.match(
    vscode.extensionLog(),
    /Decompressing tiny Shakespeare from \S*\/extensions\/wordplay\.wordplay-[^/]+\/corpus\/tinyshakespeare\.txt\.gz into /,
  );
  assert.ok(fs.existsSync(shakespeareCachePath()), `no decompressed copy at ${shakespeareCachePath()}`);

  await vscode.step('press it again: the dataset is kept', async () => {
    await page.getByRole('button', { name: 'Prepare Tiny Shakespeare', exact: true }).click();
    await notification(/data\/shakespeare-char is already prepared/).waitFor();
  });
});

test('Check Python Environment reports the interpreter, its source, PyTorch and the device', async () => {
  await vscode.step('check', async () => {
    await vscode.runCommand('Wordplay: Check Python Environment');
    await notification(/Python 3\.\d+\.\d+ with PyTorch 2\.\S+, training on (the CPU|CUDA)/).waitFor({
      timeout: 120_000,
    });
  });
  const shown = (await vscode.notifications()).join('\n');
  assert.match(
    shown,
    new RegExp(`${managedEnv().python.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(from managed environment\\)`),
  );
  assert.match(vscode.extensionLog(), /Check Python Environment: .*\n[^]*PyTorch\s+2\./);
  await vscode.screenshot('getting-started-02-check-python');
});

test('a wrong wordplay.pythonPath is named, with the setting as the fix, once it changes', async () => {
  fs.mkdirSync(path.join(vscode.workspace, '.vscode'), { recursive: true });
  fs.writeFileSync(
    path.join(vscode.workspace, '.vscode', 'settings.json'),
    JSON.stringify({ 'wordplay.pythonPath': '/nonexistent/python3' }),
  );
  await vscode.step('check with the new setting', async () => {
    // the settings file is read asynchronously: check until the new interpreter is the one named
    await waitUntil(async () => {
      await vscode.runCommand('Wordplay: Check Python Environment');
      await vscode.page.waitForTimeout(1_000);
      return (await notification(/nonexistent/).count()) > 0;
    }, 'a notification names /nonexistent/python3');
  });
  const warning = notification(
    /cannot train with \/nonexistent\/python3 \(from wordplay\.pythonPath\): Python could not be run/,
  );
  await warning.waitFor();
  assert.equal(await warning.getByRole('button', { name: 'Open Setting' }).count(), 1);
  await vscode.screenshot('getting-started-03-wrong-python');
});
