// The packaged VSIX in a real VS Code: it installs, activates on its command, and its
// commands are in the palette under "Wordplay".
import { after, before, test } from 'node:test';
import { launchVsCode, type VsCode } from './harness';
import { e2eSetup } from './setup';

let vscode: VsCode;

before(async () => {
  vscode = await launchVsCode(await e2eSetup());
});

after(async () => vscode?.close());

test('the extension activates from the palette and opens its log', async (t) => {
  try {
    await vscode.runCommand('Wordplay: Show Logs');
    // the Output panel shows the extension's own channel
    await vscode.page
      .locator('.part.panel .monaco-select-box[title="Wordplay"], .part.panel [aria-label*="Wordplay"]')
      .first()
      .waitFor({ timeout: 30_000 });
    await vscode.screenshot('01-show-logs');
  } catch (err) {
    await vscode.screenshot(`failed-${t.name.replace(/\W+/g, '-')}`);
    throw new Error(`step "${t.name}" failed; logs in ${vscode.logsDir}: ${(err as Error).message}`);
  }
});

test('the palette lists the Wordplay commands', async () => {
  // one title at a time: the palette draws only the rows that fit, and Wordplay has more commands
  for (const title of [
    'Prepare Dataset',
    'Set Up Python Environment',
    'Show Logs',
    'Export for Hugging Face',
    'Use a Pretrained Model for Completion',
  ]) {
    await vscode.openPalette(`>Wordplay: ${title}`);
    const row = vscode.page.locator('.quick-input-list .monaco-list-row', { hasText: `Wordplay: ${title}` }).first();
    await row.waitFor({ timeout: 30_000 });
    if (title === 'Prepare Dataset') await vscode.screenshot('02-palette');
    await vscode.page.keyboard.press('Escape');
  }
});
