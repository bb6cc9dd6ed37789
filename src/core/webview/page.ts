// The HTML page of a webview app, with its Content-Security-Policy: nothing but the app's own
// nonce-tagged script and its own stylesheet may load (no inline script, no eval, no inline
// style). Pure (no vscode import) so the browser tests render the very page the extension does.
import { randomBytes } from 'node:crypto';

export interface WebviewPageOptions {
  /** webview.cspSource: the origin the webview's own resources are served from. */
  cspSource: string;
  /** URIs (already converted with asWebviewUri) of the app's bundle and stylesheet. */
  scriptUri: string;
  styleUri: string;
  title: string;
  /** A fresh random value for every page load; see newNonce(). */
  nonce: string;
}

export function newNonce(): string {
  return randomBytes(18).toString('base64url');
}

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function renderWebviewPage(o: WebviewPageOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(o.styleUri)}">
<title>${escapeAttr(o.title)}</title>
</head>
<body>
<main id="app" aria-busy="true"><p class="loading">Loading…</p></main>
<script nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>`;
}
