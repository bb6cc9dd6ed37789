// "Show Model Surprise" in a real VS Code, through its UI only: a trained model (a finished run
// in the workspace's runs/ folder, found by default) scores a selection of shakespeare.txt run
// from the palette; the tokens get the surprise colours (decorations in the editor's DOM), the
// status bar shows bits per byte, hovering a coloured token shows its probability and the
// model's top 5, and Esc clears the colours. The hover's screenshot, surprise-hover.png in
// test/e2e/screenshots/, is what docs/model-surprise.png shows: copy it there to refresh the docs.
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchVsCode, waitUntil, type VsCode } from './harness';
import { e2eSetup, trainedModel } from './setup';

let vscode: VsCode;

before(async () => {
  const setup = await e2eSetup();
  const [run, started] = await Promise.allSettled([trainedModel(setup.workspace), launchVsCode(setup)]);
  if (started.status === 'fulfilled') vscode = started.value;
  if (run.status === 'rejected') throw run.reason;
  if (started.status === 'rejected') throw started.reason;
});

after(() => vscode?.close());

/** The surprise colours: VS Code draws an extension's background decorations in the view
 *  overlays with class names ced-<decoration type>-<n>; nothing else in this workspace has any. */
const coloured = () => vscode.page.locator('.part.editor .monaco-editor .view-overlays [class*="ced-"]');
const statusItem = () =>
  vscode.page.locator('.statusbar-item', { hasText: /Surprise: [\d.]+ bits\/byte \(\d+ tokens\)/ });

test(
  'Show Model Surprise colours a selection by loss, a hover shows the top 5, Esc clears',
  { timeout: 300_000 },
  async () => {
    const page = vscode.page;
    await vscode.step('select the first 8 lines of shakespeare.txt', async () => {
      await vscode.quickOpen('shakespeare.txt', 'shakespeare.txt');
      await vscode.quickOpen(':1', 'Go to line 1');
      for (let i = 0; i < 8; i++) await page.keyboard.press('Shift+ArrowDown');
      await page.locator('.statusbar-item[id="status.editor.selection"]', { hasText: /selected/ }).waitFor();
    });
    await vscode.step('run Show Model Surprise from the palette', async () => {
      await vscode.runCommand('Wordplay: Show Model Surprise');
      await waitUntil(
        () => /Model surprise of \d+ tokens/.test(vscode.extensionLog()),
        'the extension logs "Model surprise of ... tokens"',
        120_000,
      );
      await statusItem().waitFor();
    });
    await vscode.step('the selection is coloured', async () => {
      // clicking at the start of line 1 drops the selection, so the colours show undimmed
      await page.keyboard.press('Control+Home');
      await waitUntil(async () => (await coloured().count()) > 20, 'surprise decorations in the editor');
      // the progress notification stays up a moment after the scoring
      await waitUntil(async () => (await vscode.notifications()).length === 0, 'the progress notification to close');
    });
    await vscode.step('hovering a coloured token shows its probability and the top 5', async () => {
      const hover = page.locator('.monaco-hover', { hasText: 'top 5:' });
      // a token halfway down the selection, so the hover shows over the text, not the tabs
      const count = await coloured().count();
      for (let i = Math.floor(count / 2); i < count && !(await hover.isVisible()); i++) {
        const box = await coloured().nth(i).boundingBox();
        if (!box) continue;
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await hover.waitFor({ timeout: 3_000 }).catch(() => undefined);
      }
      await hover.waitFor({ timeout: 1_000 });
      // the hover renders spaces as no-break spaces
      const text = (await hover.innerText()).replace(/\s+/g, ' ');
      assert.match(text, /Model surprise/);
      assert.match(text, /p = [\d.]+ · loss [\d.]+ nats; top 5: (".*?" [\d.]+, ){4}".*?" [\d.]+/s);
      await vscode.screenshot('surprise-hover');
    });
    await vscode.step('Esc clears the colours and the status bar item', async () => {
      await page.mouse.move(5, 5);
      await page
        .locator('.part.editor .monaco-editor .view-lines')
        .first()
        .click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('Escape');
      await waitUntil(async () => (await coloured().count()) === 0, 'no surprise decorations left');
      assert.equal(await statusItem().count(), 0);
    });
  },
);
