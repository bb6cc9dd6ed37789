// A real VS Code for end-to-end tests: code-server with the packaged VSIX installed, in its own
// user-data and extensions folders on a free port, driven through its UI in headless Chromium.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { packageRoot } from '../../src/core/common/paths';

export const screenshotsDir = path.join(packageRoot, 'test', 'e2e', 'screenshots');

export interface VsCode {
  page: Page;
  workspace: string;
  logsDir: string;
  /** Opens the command palette (F1) and types `text`, again if a keypress was lost or the palette closed. */
  openPalette(text: string): Promise<void>;
  /** Runs a command from the palette by its title, as a person would (F1, type, Enter). */
  runCommand(title: string): Promise<void>;
  /** Types into the palette without the ">" (a file name; ":N" goes to line N) and presses
   *  Enter once the row that holds `row` is listed. */
  quickOpen(text: string, row: string): Promise<void>;
  screenshot(name: string): Promise<string>;
  /** Runs one step of a scenario; when it fails, saves a screenshot named after it and says
   *  which step failed, what the notifications said, and where the logs are. */
  step<T>(name: string, action: () => Promise<T>): Promise<T>;
  /** What the extension wrote to its "Wordplay" output channel ('' before it activates). */
  extensionLog(): string;
  /** The texts of the notifications on screen. */
  notifications(): Promise<string[]>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  codeServer: string;
  vsix: string;
  workspace: string;
  trusted?: boolean;
  /** User settings added to the ones every test gets. */
  settings?: Record<string, unknown>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not answer at ${url} within ${timeoutMs} ms`);
}

/** Waits until condition() holds, checking every 100 ms, for at most timeoutMs. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Files under dir (recursively) named name. */
function findFiles(dir: string, name: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && e.name === name).map((e) => path.join(e.parentPath, e.name));
}

export async function launchVsCode(options: LaunchOptions): Promise<VsCode> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-'));
  const userData = path.join(home, 'user-data');
  const extensions = path.join(home, 'extensions');
  const logsDir = path.join(home, 'logs');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(logsDir);
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', ...options.settings }),
  );
  const install = spawnSync(options.codeServer, ['--extensions-dir', extensions, '--user-data-dir', userData, '--install-extension', options.vsix], { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`installing ${options.vsix} failed: ${install.stderr || install.stdout}`);

  const port = await freePort();
  const args = ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--user-data-dir', userData, '--extensions-dir', extensions];
  if (options.trusted ?? true) args.push('--disable-workspace-trust');
  const server = spawn(options.codeServer, [...args, options.workspace], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const serverLog = fs.createWriteStream(path.join(logsDir, 'code-server.log'));
  server.stdout!.pipe(serverLog);
  server.stderr!.pipe(serverLog);
  const stopServer = async () => {
    // code-server and its extension host run in the group we started it in
    try {
      process.kill(-server.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((resolve) => (server.exitCode === null && server.signalCode === null ? server.once('exit', resolve) : resolve(undefined)));
  };

  let browser: Browser | undefined;
  let page: Page;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, server, 60_000);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  } catch (err) {
    // nothing may outlive a launch that failed half-way
    await browser?.close();
    await stopServer();
    throw err;
  }
  fs.mkdirSync(screenshotsDir, { recursive: true });

  const palette = page.locator('.quick-input-widget input');
  /** Opens the palette and types `text` into it. Something can take the focus back just as the
   *  palette opens (an output channel revealing itself), which closes it before the text is
   *  typed: then open it again. */
  const openPalette = async (text: string) => {
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('F1');
      try {
        await palette.waitFor({ state: 'visible', timeout: 5_000 });
        await palette.fill(text, { timeout: 5_000 });
        return;
      } catch (err) {
        if (attempt === 3) throw err;
        // the focus may be inside a webview's frame (a restored panel), which does not always
        // pass F1 on: a click on the empty middle of the status bar gives it back to the workbench
        const bar = await page.locator('.part.statusbar').boundingBox({ timeout: 5_000 });
        if (bar) await page.mouse.click(bar.x + bar.width / 2, bar.y + bar.height / 2);
      }
    }
  };
  const extensionLog = () =>
    findFiles(path.join(userData, 'logs'), 'Wordplay.log')
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('');
  const notifications = () => page.locator('.notifications-toasts .notification-toast, .notifications-center .notification-list-item').allInnerTexts();
  const screenshot = async (name: string) => {
    const file = path.join(screenshotsDir, `${name}.png`);
    await page.screenshot({ path: file });
    return file;
  };

  return {
    page,
    workspace: options.workspace,
    logsDir,
    openPalette,
    async runCommand(title) {
      // The palette lists an extension's commands once its host has read the manifest, which
      // can be after the workbench shows: reopen it until the command is there. No Escape
      // before F1: in an editor Escape clears the selection, which the command may need.
      const deadline = Date.now() + 60_000;
      for (;;) {
        await openPalette(`>${title}`);
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
        try {
          await row.waitFor({ timeout: 3_000 });
        } catch (err) {
          if (Date.now() > deadline) throw err;
          // closes the palette; focus goes back to where it was
          await page.keyboard.press('Escape');
          continue;
        }
        await page.keyboard.press('Enter');
        // the palette closes, or the command shows a quick pick of its own in the same widget
        await waitUntil(async () => !(await palette.isVisible()) || (await palette.inputValue()) !== `>${title}`, `the palette to run "${title}"`);
        return;
      }
    },
    async quickOpen(text, row) {
      await openPalette(text);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: row }).first().waitFor();
      await page.keyboard.press('Enter');
      await palette.waitFor({ state: 'hidden' });
    },
    screenshot,
    async step(name, action) {
      try {
        return await action();
      } catch (err) {
        const shot = await screenshot(`failed-${name.replace(/\W+/g, '-')}`).catch(() => 'none');
        const shown = await notifications().catch(() => []);
        throw new Error(
          `step "${name}" failed: ${(err as Error).message}\n  notifications: ${JSON.stringify(shown)}\n  Wordplay log: ${JSON.stringify(extensionLog().slice(-2000))}\n  screenshot: ${shot}\n  logs: ${logsDir} (code-server.log; vscode/ once closed)`,
          { cause: err },
        );
      }
    },
    extensionLog,
    notifications,
    async close() {
      await browser.close();
      await stopServer();
      // keep the logs (next to code-server's) for a failing test; the rest is ~50 MB a run
      const hostLogs = path.join(userData, 'logs');
      if (fs.existsSync(hostLogs)) fs.cpSync(hostLogs, path.join(logsDir, 'vscode'), { recursive: true });
      fs.rmSync(userData, { recursive: true, force: true });
      fs.rmSync(extensions, { recursive: true, force: true });
    },
  };
}

/** The frame of the webview whose page has `selector` (code-server nests each in two iframes). */
export async function webviewFrame(page: Page, selector: string): Promise<Frame> {
  let found: Frame | undefined;
  await waitUntil(
    async () => {
      for (const frame of page.frames()) {
        if (await frame.locator(selector).count().catch(() => 0)) found = frame;
      }
      return found !== undefined;
    },
    `a webview showing ${selector}`,
    60_000,
  );
  return found!;
}
