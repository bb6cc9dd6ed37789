// A real VS Code for end-to-end tests: code-server with the packaged VSIX installed, in its own
// user-data and extensions folders on a free port, driven through its UI in headless Chromium.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../../src/core/paths';

export const screenshotsDir = path.join(packageRoot, 'test', 'e2e', 'screenshots');

export interface VsCode {
  page: Page;
  workspace: string;
  logsDir: string;
  /** Runs a command from the palette by its title, as a person would (F1, type, Enter). */
  runCommand(title: string): Promise<void>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
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

export async function launchVsCode(options: { codeServer: string; vsix: string; workspace: string; trusted?: boolean }): Promise<VsCode> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-'));
  const userData = path.join(home, 'user-data');
  const extensions = path.join(home, 'extensions');
  const logsDir = path.join(home, 'logs');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(logsDir);
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off' }),
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
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, server, 60_000);

  const browser: Browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  fs.mkdirSync(screenshotsDir, { recursive: true });

  return {
    page,
    workspace: options.workspace,
    logsDir,
    async runCommand(title) {
      // The palette lists an extension's commands once its host has read the manifest, which
      // can be after the workbench shows: reopen it until the command is there.
      const deadline = Date.now() + 60_000;
      for (;;) {
        await page.keyboard.press('Escape');
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget input');
        await input.waitFor({ state: 'visible' });
        await input.fill(`>${title}`);
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
        try {
          await row.waitFor({ timeout: 3_000 });
          await page.keyboard.press('Enter');
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
        }
      }
    },
    async screenshot(name) {
      const file = path.join(screenshotsDir, `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    async close() {
      await browser.close();
      // code-server and its extension host run in the group we started it in
      try {
        process.kill(-server.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      // keep the logs of the extension host next to code-server's for a failing test
      const hostLogs = path.join(userData, 'logs');
      if (fs.existsSync(hostLogs)) fs.cpSync(hostLogs, path.join(logsDir, 'vscode'), { recursive: true });
    },
  };
}
