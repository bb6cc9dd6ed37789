// Script injected into a webview (a message that smuggled markup in, say) does not run: both
// apps' pages, with their real Content-Security-Policy, in headless Chromium. The same
// injection into the same page with the policy bypassed does run, so the test can fail.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { CHROMIUM, startHarness, type App, type Harness } from './webviewPages';

// in-page callbacks use browser globals (the root tsconfig has no DOM lib)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`${CHROMIUM} is missing: run node scripts/ensure-chromium.mjs`);
const skip = haveBrowser ? false : `no Chromium at ${CHROMIUM} (node scripts/ensure-chromium.mjs installs it)`;

/** An inline <script>, an onclick attribute (clicked) and an onerror attribute; what ran at once.
 *  (page.evaluate itself runs outside the page's policy, so what it injects is what is tested.) */
function inject(page: Page) {
  return page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.__inlineRan = true;';
    document.body.append(script);
    const button = document.createElement('button');
    button.setAttribute('onclick', 'window.__onclickRan = true;');
    document.body.append(button);
    button.click();
    const markup = document.createElement('div');
    markup.innerHTML = '<img src="data:," onerror="window.__onerrorRan = true">';
    document.body.append(markup);
    return { inline: window.__inlineRan === true, onclick: window.__onclickRan === true };
  });
}

describe('webview Content-Security-Policy', { skip }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h?.close());

  for (const app of ['metrics', 'configEditor', 'compare', 'runCard'] as App[]) {
    test(`${app}: inline script and event-handler attributes do not run; the violations are reported`, async () => {
      const p = await h.open(app);
      assert.deepEqual(await inject(p.page), { inline: false, onclick: false });
      await p.page.waitForFunction(() => {
        const v: string[] = window.__violations;
        return (
          v.some((s) => s.startsWith('script-src-elem')) && v.filter((s) => s.startsWith('script-src-attr')).length >= 2
        );
      });
      assert.equal(await p.page.evaluate(() => window.__onerrorRan === true), false);
      await p.page.close();
    });
  }

  test('control: with the policy bypassed the same injection runs', async () => {
    const page = await h.browser.newPage({ bypassCSP: true });
    await page.goto(`${h.origin}/page/metrics.html`);
    assert.deepEqual(await inject(page), { inline: true, onclick: true });
    await page.waitForFunction(() => window.__onerrorRan === true);
    await page.close();
  });
});
