// Serves the bundled webview apps as pages in headless Chromium, the way VS Code would show them:
// the production HTML and Content-Security-Policy (src/core/webview/page.ts), a stub of
// acquireVsCodeApi that records what the page posts, host messages sent with window.postMessage,
// and the theme's --vscode-* variables set on <html> with the body class, as VS Code does.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../../src/core/common/paths';
import { newNonce, renderWebviewPage } from '../../src/core/webview/page';
import { themes, type ThemeName } from './webviewThemes';

// Browser globals, for the callbacks run inside the page (the root tsconfig has no DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

export const CHROMIUM = process.env.WORDPLAY_CHROMIUM ?? '/usr/bin/chromium';
export const screenshotsDir = path.join(packageRoot, 'test', 'e2e', 'screenshots');
const bundleDir = path.join(packageRoot, 'dist', 'webview');
const apps = ['configEditor', 'metrics', 'compare', 'runCard'] as const;
export type App = (typeof apps)[number];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds dist/webview (node esbuild.mjs --webviews) when it is missing or older than its sources. */
export function ensureBundles(): void {
  const sources = Math.max(
    newestMtime(path.join(packageRoot, 'webview')),
    newestMtime(path.join(packageRoot, 'src', 'core')),
    fs.statSync(path.join(packageRoot, 'esbuild.mjs')).mtimeMs,
  );
  const built = apps.flatMap((app) => [`${app}.js`, `${app}.css`]).map((f) => path.join(bundleDir, f));
  const stale = built.some((f) => !fs.existsSync(f) || fs.statSync(f).mtimeMs < sources);
  if (!stale) return;
  const result = spawnSync(process.execPath, ['esbuild.mjs', '--webviews'], { cwd: packageRoot, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the webview bundles failed:\n${result.stderr}${result.stdout}`);
}

export interface Harness {
  browser: Browser;
  origin: string;
  open(
    app: App,
    options?: { theme?: ThemeName; state?: unknown; viewport?: { width: number; height: number } },
  ): Promise<WebviewPage>;
  close(): Promise<void>;
}

export interface WebviewPage {
  page: Page;
  /** Messages the page posted to the host, in order. */
  posted(): Promise<{ type: string; [key: string]: unknown }[]>;
  /** The state the page last saved with setState. */
  state(): Promise<unknown>;
  /** A host message, delivered as VS Code does (a message event on window). */
  send(message: unknown): Promise<void>;
  setTheme(theme: ThemeName): Promise<void>;
  /** Content-Security-Policy violations the page reported. */
  violations(): Promise<string[]>;
  errors: string[];
}

export async function startHarness(): Promise<Harness> {
  ensureBundles();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const page = /^\/page\/(\w+)\.html$/.exec(url.pathname);
    if (page && (apps as readonly string[]).includes(page[1])) {
      const app = page[1];
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        renderWebviewPage({
          cspSource: origin,
          scriptUri: `${origin}/dist/webview/${app}.js`,
          styleUri: `${origin}/dist/webview/${app}.css`,
          title: app,
          nonce: newNonce(),
        }),
      );
      return;
    }
    const file = /^\/dist\/webview\/([\w.-]+)$/.exec(url.pathname);
    if (file && fs.existsSync(path.join(bundleDir, file[1]))) {
      const type = file[1].endsWith('.js')
        ? 'text/javascript'
        : file[1].endsWith('.css')
          ? 'text/css'
          : 'application/json';
      res.writeHead(200, { 'content-type': type });
      res.end(fs.readFileSync(path.join(bundleDir, file[1])));
      return;
    }
    res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });

  async function open(
    app: App,
    options: { theme?: ThemeName; state?: unknown; viewport?: { width: number; height: number } } = {},
  ): Promise<WebviewPage> {
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    const theme = themes[options.theme ?? 'dark'];
    // a string, not a function: tsx's transform would put helpers into a function's source
    await page.addInitScript(`(() => {
      const state = ${JSON.stringify(options.state ?? null)};
      const vars = ${JSON.stringify(theme.vars)};
      const bodyClass = ${JSON.stringify(theme.bodyClass)};
      const posted = [];
      const violations = [];
      window.__posted = posted;
      window.__state = state === null ? undefined : state;
      window.__violations = violations;
      let acquired = false;
      window.acquireVsCodeApi = function () {
        if (acquired) throw new Error('acquireVsCodeApi called twice');
        acquired = true;
        return {
          postMessage: function (m) { posted.push(JSON.parse(JSON.stringify(m))); },
          getState: function () { return window.__state; },
          setState: function (s) { window.__state = JSON.parse(JSON.stringify(s)); },
        };
      };
      document.addEventListener('securitypolicyviolation', function (e) {
        violations.push(e.violatedDirective + ': ' + e.blockedURI + ' ' + e.sample);
      });
      function applyTheme() {
        if (!document.documentElement) return;
        for (const k of Object.keys(vars)) document.documentElement.style.setProperty(k, vars[k]);
        document.documentElement.style.setProperty('background-color', 'var(--vscode-editor-background)');
        if (document.body) document.body.className = bodyClass;
      }
      applyTheme();
      // the variables and body class as soon as <html> and <body> exist (before the app runs)
      const watcher = new MutationObserver(function () {
        applyTheme();
        if (document.body) watcher.disconnect();
      });
      watcher.observe(document, { childList: true, subtree: true });
    })();`);
    await page.goto(`${origin}/page/${app}.html`);
    await page.waitForFunction(() => window.__posted.some((m: { type: string }) => m.type === 'ready'));
    return {
      page,
      errors,
      posted: () => page.evaluate(() => window.__posted as { type: string; [key: string]: unknown }[]),
      state: () => page.evaluate(() => window.__state as unknown),
      violations: () => page.evaluate(() => window.__violations as string[]),
      send: (message) => page.evaluate((m) => window.postMessage(m, '*'), message),
      setTheme: (name) =>
        page.evaluate(
          ({ vars, bodyClass }) => {
            for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
            document.body.className = bodyClass;
          },
          { vars: themes[name].vars as Record<string, string>, bodyClass: themes[name].bodyClass },
        ),
    };
  }

  return {
    browser,
    origin,
    open,
    close: async () => {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
