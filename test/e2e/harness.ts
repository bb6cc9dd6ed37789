// A real VS Code for end-to-end tests: code-server with the packaged VSIX installed, driven
// through its UI in headless Chromium. Under `npm test` every file opens its workspace in the one
// code-server scripts/code-server.mjs started (WORDPLAY_E2E_SHARED names its folder), each in a
// browser of its own; a file run alone, or one that needs a server of its own, starts one in its
// own user-data and extensions folders on a free port.
import * as fs from 'node:fs';
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
  vsix: string;
  workspace: string;
  trusted?: boolean;
  /** User settings added to the ones every test gets. */
  settings?: Record<string, unknown>;
  /** A code-server of this file's own even under `npm test`: its extension host then sees this
   *  process's environment as it is at launch (the shared server's was fixed when it started). */
  ownServer?: boolean;
}

/** What scripts/code-server.mjs writes to server.json. */
interface ServerInfo {
  pid: number;
  url: string;
  userData: string;
  logs: string;
  vsix: string;
}

interface CodeServerScript {
  baseSettings: Record<string, unknown>;
  startCodeServer(options: { dir: string; vsix: string; trusted: boolean }): Promise<ServerInfo>;
  stopCodeServer(dir: string): Promise<void>;
  readServer(dir: string): ServerInfo;
}

export const codeServerScript = (): Promise<CodeServerScript> =>
  import(path.join(packageRoot, 'scripts', 'code-server.mjs'));

/** The folder of the code-server `npm test` shares among the e2e files, when there is one. */
export const sharedDir = process.env.WORDPLAY_E2E_SHARED || undefined;

/** Waits until condition() holds, checking every 100 ms, for at most timeoutMs. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Files under dir (recursively) named name. */
function findFiles(dir: string, name: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name === name)
    .map((e) => path.join(e.parentPath, e.name));
}

/** The log folders of the extension hosts a code-server started (<logs>/<session>/exthost<n>),
 *  one per window and reload, oldest first. */
function hostLogDirs(userData: string): string[] {
  const logs = path.join(userData, 'logs');
  if (!fs.existsSync(logs)) return [];
  const number = (dir: string) => Number(path.basename(dir).slice('exthost'.length));
  return fs
    .readdirSync(logs)
    .sort()
    .flatMap((session) => {
      const dir = path.join(logs, session);
      const hosts = fs.statSync(dir).isDirectory() ? fs.readdirSync(dir).filter((n) => /^exthost\d+$/.test(n)) : [];
      return hosts.map((n) => path.join(dir, n)).sort((a, b) => number(a) - number(b));
    });
}

/** The extension host processes of the code-server whose process group is pgid. */
function extensionHosts(pgid: number): number[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      // the group is the 5th field of stat, the 3rd after the command name's closing parenthesis
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      return group === pgid && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('--type=extensionHost')
        ? [Number(entry)]
        : [];
    } catch {
      // gone since the listing
      return [];
    }
  });
}

/** A running code-server for one window: the shared one, or one of this file's own. */
async function serverFor(options: LaunchOptions): Promise<{ info: ServerInfo; own: boolean; stop(): Promise<void> }> {
  const script = await codeServerScript();
  // trust is the server's (--disable-workspace-trust), so an untrusted window needs its own
  if (sharedDir && !options.ownServer && options.trusted !== false)
    return { info: script.readServer(sharedDir), own: false, stop: async () => undefined };
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-'));
  const info = await script.startCodeServer({ dir: home, vsix: options.vsix, trusted: options.trusted ?? true });
  return { info, own: true, stop: () => script.stopCodeServer(home) };
}

export async function launchVsCode(options: LaunchOptions): Promise<VsCode> {
  const server = await serverFor(options);
  const { userData } = server.info;
  // the shared server's logs hold every file's windows: this window's are copied here on close
  const logsDir = server.own ? server.info.logs : fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-logs-'));
  const serverLog = path.join(server.info.logs, 'code-server.log');
  // every window reads the user settings when it opens: this file's replace the last file's
  // (and whatever its window changed, a colour theme say)
  const { baseSettings } = await codeServerScript();
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ ...baseSettings, ...options.settings }),
  );
  const earlierHosts = new Set(extensionHosts(server.info.pid));
  const earlierLogs = new Set(hostLogDirs(userData));
  /** This window's extension hosts' log folders (a reload starts another). */
  const ownLogDirs = () => hostLogDirs(userData).filter((dir) => !earlierLogs.has(dir));

  let browser: Browser | undefined;
  let page: Page;
  try {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${server.info.url}/?folder=${encodeURIComponent(options.workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  } catch (err) {
    // nothing may outlive a launch that failed half-way
    await browser?.close();
    await server.stop();
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
    ownLogDirs()
      .flatMap((dir) => findFiles(dir, 'Wordplay.log'))
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('');
  const notifications = () =>
    page
      .locator('.notifications-toasts .notification-toast, .notifications-center .notification-list-item')
      .allInnerTexts();
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
        await waitUntil(
          async () => !(await palette.isVisible()) || (await palette.inputValue()) !== `>${title}`,
          `the palette to run "${title}"`,
        );
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
          `step "${name}" failed: ${(err as Error).message}\n  notifications: ${JSON.stringify(shown)}\n  Wordplay log: ${JSON.stringify(extensionLog().slice(-2000))}\n  screenshot: ${shot}\n  logs: ${logsDir} (vscode/ once closed), ${serverLog}`,
          { cause: err },
        );
      }
    },
    extensionLog,
    notifications,
    async close() {
      await browser.close();
      // no extension host of this window outlives it (code-server may keep one a while for a
      // reconnection), nor anything it watches or started
      for (const pid of extensionHosts(server.info.pid).filter((pid) => !earlierHosts.has(pid))) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone already
        }
      }
      // an own server copies all its logs beside code-server's; from the shared one, this window's
      if (server.own) await server.stop();
      else
        for (const dir of ownLogDirs())
          fs.cpSync(dir, path.join(logsDir, 'vscode', path.basename(dir)), { recursive: true });
    },
  };
}

/** The frame of the webview whose page has `selector` (code-server nests each in two iframes). */
export async function webviewFrame(page: Page, selector: string): Promise<Frame> {
  let found: Frame | undefined;
  await waitUntil(
    async () => {
      for (const frame of page.frames()) {
        if (
          await frame
            .locator(selector)
            .count()
            .catch(() => 0)
        )
          found = frame;
      }
      return found !== undefined;
    },
    `a webview showing ${selector}`,
    60_000,
  );
  return found!;
}
