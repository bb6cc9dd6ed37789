// "Compare Completions…" in a real VS Code, through its UI only: a finished run that kept a
// model from each of its two evaluations (train.keep_exports, see setup.ts), "ROMEO:" selected
// in shakespeare.txt, the command from the palette, two models picked — the run's own model and
// the export it kept at iteration 100 — their texts side by side in the panel, labelled with
// run, iteration and val loss; Insert on one puts its text right after the selection, and one
// Ctrl+Z takes it all back. The document is read from disk after Ctrl+S.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { launchVsCode, waitUntil, webviewFrame, type VsCode } from './harness';
import { e2eSetup, trainedModel } from './setup';

const PROMPT = 'ROMEO:';
const MAX_TOKENS = 40;

let vscode: VsCode;
let file: string;
let original: string;
let runDir: string;

before(async () => {
  const setup = await e2eSetup();
  file = path.join(setup.workspace, 'shakespeare.txt');
  original = fs.readFileSync(file, 'utf8');
  const [run, started] = await Promise.allSettled([
    trainedModel(setup.workspace),
    launchVsCode({
      ...setup,
      settings: { 'wordplay.completion.maxTokens': MAX_TOKENS, 'wordplay.completion.seed': 7, 'files.autoSave': 'off' },
    }),
  ]);
  if (started.status === 'fulfilled') vscode = started.value;
  if (run.status === 'rejected') throw run.reason;
  if (started.status === 'rejected') throw started.reason;
  runDir = run.value;
});

after(() => vscode?.close());

/** shakespeare.txt's tab while it is its group's active one (the panel opens in a group beside). */
const activeTab = (state = '') =>
  vscode.page.locator(`.part.editor .tab.active${state}`, { hasText: 'shakespeare.txt' });

async function save(): Promise<string> {
  await activeTab('.dirty').waitFor();
  await vscode.page.keyboard.press('Control+S');
  await activeTab(':not(.dirty)').waitFor();
  return fs.readFileSync(file, 'utf8');
}

test(
  'Compare Completions shows two models side by side; Insert puts one after the selection; one undo removes it',
  { timeout: 240_000 },
  async () => {
    assert.deepEqual(
      fs.readdirSync(path.join(runDir, 'exports')).sort(),
      ['iter-000100', 'iter-000200'],
      'the run kept a model from each evaluation',
    );
    const line = original.split('\n').indexOf(PROMPT) + 1;
    const end = original.split('\n').slice(0, line).join('\n').length;
    await vscode.step(`select ROMEO: on line ${line}`, async () => {
      await vscode.quickOpen('shakespeare.txt', 'shakespeare.txt');
      await activeTab().waitFor();
      await vscode.quickOpen(`:${line}`, `Go to line ${line}`);
      await vscode.page
        .locator('.statusbar-item[id="status.editor.selection"]', { hasText: new RegExp(`Ln ${line}, Col 1\\b`) })
        .waitFor();
      await vscode.page.keyboard.press('Shift+End');
      await vscode.page
        .locator('.statusbar-item[id="status.editor.selection"]', { hasText: `(${PROMPT.length} selected)` })
        .waitFor();
    });
    await vscode.step("Compare Completions: pick the run's model and the export kept at iteration 100", async () => {
      await vscode.runCommand('Wordplay: Compare Completions…');
      await vscode.page.locator('.quick-input-widget .quick-input-title', { hasText: 'Compare Completions' }).waitFor();
      const rows = vscode.page.locator('.quick-input-widget .monaco-list-row');
      for (const text of ["the run's model", 'iteration 100']) {
        await rows
          .filter({ hasText: text })
          .first()
          .locator('input[type=checkbox], .monaco-checkbox, .quick-input-list-checkbox')
          .first()
          .click();
      }
      await vscode.screenshot('compare-1-pick');
      await vscode.page.keyboard.press('Enter');
    });
    const frame = await vscode.step('both texts in the panel', async () => {
      const f = await webviewFrame(vscode.page, 'section.column');
      await waitUntil(
        async () => (await f.locator('section.column[data-state="done"]').count()) === 2,
        'both columns to finish',
        60_000,
      );
      return f;
    });
    const columns = frame.locator('section.column');
    const labels = await columns.locator('h2').allInnerTexts();
    const texts = await columns.locator('pre.text').allTextContents();
    const val100 = JSON.parse(
      fs.readFileSync(path.join(runDir, 'exports', 'iter-000100', 'model.json'), 'utf8'),
    ).val_loss;
    assert.equal(labels.length, 2);
    assert.match(labels[0], /^tiny · iteration 200 · val loss \d\.\d{3}$/);
    assert.equal(labels[1], `tiny · iteration 100 · val loss ${val100.toFixed(3)}`);
    assert.ok(
      texts.every((t) => [...t].length === MAX_TOKENS),
      `${MAX_TOKENS} characters each: ${JSON.stringify(texts)}`,
    );
    assert.notEqual(texts[0], texts[1], 'two checkpoints, one seed: two different texts');
    assert.equal(await frame.locator('pre.prompt').textContent(), PROMPT);
    assert.match(await frame.locator('header').innerText(), /seed 7/);
    await vscode.screenshot('compare-2-panel');

    await vscode.step('Insert the iteration 100 text (keyboard: focus its button, Enter)', async () => {
      const insert = columns.nth(1).locator('button.insert');
      await insert.focus();
      await vscode.page.keyboard.press('Enter');
      await waitUntil(() => /Compare: inserted/.test(vscode.extensionLog()), 'the extension logs the insert');
    });
    const saved = await vscode.step('save', save);
    assert.equal(
      saved,
      original.slice(0, end) + texts[1] + original.slice(end),
      'the text goes right after the selection',
    );
    await vscode.screenshot('compare-3-inserted');
    await vscode.step('one undo', async () => {
      await vscode.page.keyboard.press('Control+Z');
      assert.equal(await save(), original, 'one undo removes the whole insert');
    });
  },
);
