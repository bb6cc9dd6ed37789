// Ghost text in a real VS Code, through its UI only: with wordplay.inlineCompletions.enabled on and
// a trained model (a finished run in the workspace's runs/ folder, found by default), text typed
// into a file is continued by the model as ghost text (Monaco's ghost-text elements, outside the
// document), and Tab accepts it: the document read from disk after Ctrl+S is then the typed text
// followed by the model's continuation of it, the text the engine gives for that prompt and seed.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { complete } from '../../src/core/complete/generate';
import { launchVsCode, waitUntil, type VsCode } from './harness';
import { e2eSetup, trainedModel } from './setup';

const TYPED = 'ROMEO:';
/** The sampling settings of the window, given to the engine here too. */
const SAMPLING = { temperature: 0.8, topK: 40, topP: 0.95, seed: 11, stop: [] as string[] };
const MAX_TOKENS = 16;

let vscode: VsCode;
let file: string;
let runDir: string;

before(async () => {
  const setup = await e2eSetup();
  file = path.join(setup.workspace, 'ghost.txt');
  fs.writeFileSync(file, '');
  const [run, started] = await Promise.allSettled([
    trainedModel(setup.workspace),
    launchVsCode({
      ...setup,
      settings: {
        'wordplay.inlineCompletions.enabled': true,
        'wordplay.inlineCompletions.maxTokens': MAX_TOKENS,
        'wordplay.completion.temperature': SAMPLING.temperature,
        'wordplay.completion.topK': SAMPLING.topK,
        'wordplay.completion.topP': SAMPLING.topP,
        'wordplay.completion.seed': SAMPLING.seed,
        'files.autoSave': 'off',
        // the suggest widget would take Tab from the ghost text: it is not what is tested here
        'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
        'editor.wordBasedSuggestions': 'off',
        'editor.suggestOnTriggerCharacters': false,
      },
    }),
  ]);
  // a code-server window that opened is closed by after(), whatever else failed
  if (started.status === 'fulfilled') vscode = started.value;
  if (run.status === 'rejected') throw run.reason;
  if (started.status === 'rejected') throw started.reason;
  runDir = run.value;
});

after(() => vscode?.close());

/** Text without its blanks: the editor draws ghost text's spaces and line breaks its own way. */
const ink = (text: string) => text.replace(/[\s\u00a0]+/g, '');

test(
  'with wordplay.inlineCompletions.enabled, typed text is continued as ghost text; Tab accepts it into the document',
  { timeout: 180_000 },
  async () => {
    // the prompt is the whole file before the cursor: just what is typed
    const expected = (await complete(runDir, { ...SAMPLING, prompt: TYPED, maxTokens: MAX_TOKENS })).text;
    assert.ok(
      ink(expected).length > 0,
      `the model continues ${TYPED} with more than blanks: ${JSON.stringify(expected)}`,
    );
    const page = vscode.page;
    const tab = (state = '') => page.locator(`.part.editor .tab.active${state}`, { hasText: 'ghost.txt' });
    await vscode.step('the extension is active (the workspace has a run, so it starts with the window)', async () => {
      // text typed before it registered its provider asks no one for ghost text
      await vscode.runCommand('Developer: Show Running Extensions');
      await page
        .locator('.runtime-extensions-editor .monaco-list-row', { hasText: 'wordplay' })
        .filter({ hasText: /Activation: \d+ms/ })
        .waitFor({ timeout: 60_000 });
    });
    await vscode.step('open ghost.txt and type into it', async () => {
      await vscode.quickOpen('ghost.txt', 'ghost.txt');
      await tab().waitFor();
      // into its first line, as a person would: the focus may have stayed on Running Extensions
      await page.locator('.part.editor .monaco-editor .view-lines').click();
      await page.locator('.part.editor .monaco-editor.focused').waitFor();
      // one input event, as a paste or an input method gives: one request for the whole text
      await page.keyboard.insertText(TYPED);
      await tab('.dirty').waitFor();
    });
    const ghost = page.locator(
      '.part.editor .monaco-editor .ghost-text-decoration, .part.editor .monaco-editor .ghost-text',
    );
    await vscode.step("the ghost text shows the model's continuation", async () => {
      // its first line and the lines below it may be drawn one after the other
      let shown = '';
      await waitUntil(
        async () => ink((shown = (await ghost.allInnerTexts()).join(''))) === ink(expected),
        `ghost text reading ${JSON.stringify(expected)}`,
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; it reads ${JSON.stringify(shown)}`);
      });
      await vscode.screenshot('ghost-text-1-shown');
    });
    await vscode.step('Tab accepts it', async () => {
      await page.keyboard.press('Tab');
      await page.keyboard.press('Control+S');
      await tab(':not(.dirty)').waitFor();
      await vscode.screenshot('ghost-text-2-accepted');
    });
    assert.equal(
      fs.readFileSync(file, 'utf8'),
      TYPED + expected,
      'the document holds the typed text and the ghost text after it',
    );
  },
);
