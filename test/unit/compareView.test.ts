// The Compare Completions panel (webview/compare/) as a page in headless Chromium, with its real
// bundle and Content-Security-Policy: the columns with their labels and texts, Insert reached and
// pressed from the keyboard (it posts compare/insert with that column), Insert off for a column
// still generating or failed, text shown as text (never parsed as markup), both themes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CompareStateMessage } from '../../src/core/webview/protocol';
import { CHROMIUM, screenshotsDir, startHarness, type Harness } from './webviewPages';

// in-page callbacks use browser globals (the root tsconfig has no DOM lib)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`${CHROMIUM} is missing: run node scripts/ensure-chromium.mjs`);
const skip = haveBrowser ? false : `no Chromium at ${CHROMIUM} (node scripts/ensure-chromium.mjs installs it)`;

const state: CompareStateMessage = {
  type: 'compare/state',
  prompt: 'ROMEO:',
  settings: 'seed 7 · temperature 0.8 · top-k 200 · top-p 1 · up to 40 tokens',
  document: 'shakespeare.txt',
  columns: [
    { label: 'tiny · iteration 200 · val loss 2.101', dir: '/w/runs/tiny', text: '\nWhat shall I say?', state: 'done' },
    {
      label: 'tiny · iteration 100 · val loss 2.430',
      dir: '/w/runs/tiny/exports/iter-000100',
      text: '<img src=x onerror="window.__ran=1">',
      state: 'done',
    },
    { label: 'other · iteration 50 · val loss 3.000', dir: '/w/runs/other', text: 'Th', state: 'generating' },
    {
      label: 'broken · iteration ? · no val loss',
      dir: '/w/runs/broken',
      text: '',
      state: 'failed',
      error: 'model.json is missing',
    },
  ],
};

describe('Compare Completions panel in Chromium', { skip }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h?.close());

  for (const theme of ['dark', 'light'] as const) {
    test(`${theme}: columns labelled with run, iteration and val loss; Insert from the keyboard posts its column`, async () => {
      const p = await h.open('compare', { theme, viewport: { width: 1200, height: 600 } });
      assert.deepEqual(
        (await p.posted()).map((m) => m.type),
        ['ready'],
      );
      await p.send(state);
      const columns = p.page.locator('section.column');
      await columns.nth(3).waitFor();
      assert.deepEqual(
        await columns.locator('h2').allInnerTexts(),
        state.columns.map((c) => c.label),
      );
      assert.deepEqual(
        await columns.locator('pre.text').allTextContents(),
        state.columns.map((c) => c.text),
      );
      assert.equal(await p.page.locator('img').count(), 0, 'a text is never markup');
      assert.deepEqual(
        await columns
          .locator('button.insert')
          .evaluateAll((bs) => bs.map((b) => (b as { disabled: boolean }).disabled)),
        [false, false, true, true],
      );
      assert.match(await columns.nth(3).innerText(), /failed: model\.json is missing/);
      // keyboard: Tab through the page until the second Insert has the focus, then Enter
      for (let i = 0; i < 20; i++) {
        await p.page.keyboard.press('Tab');
        const at = await p.page.evaluate(() =>
          [...document.querySelectorAll('button.insert')].indexOf(document.activeElement),
        );
        if (at === 1) break;
      }
      await p.page.keyboard.press('Enter');
      const posted = await p.posted();
      assert.deepEqual(posted[posted.length - 1], { type: 'compare/insert', column: 1 });
      // a later state (the third column finished) keeps the focus where it was
      await p.send({
        ...state,
        columns: state.columns.map((c, i) => (i === 2 ? { ...c, text: 'Thou', state: 'done' as const } : c)),
      });
      await p.page.locator('section.column[data-state="done"]').nth(2).waitFor();
      assert.equal(await p.page.evaluate(() => document.activeElement.textContent), 'Insert');
      assert.deepEqual(await p.violations(), []);
      assert.deepEqual(p.errors, []);
      await p.page.screenshot({ path: path.join(screenshotsDir, `compare-panel-${theme}.png`) });
      await p.page.close();
    });
  }
});
