// Webview options and HTML for wordplay's webview apps (bundled into dist/webview by esbuild.mjs).
import * as vscode from 'vscode';
import { newNonce, renderWebviewPage } from '../core/webview/page';

export type WebviewApp = 'configEditor' | 'metrics' | 'compare' | 'runCard';

/** Scripts on, and local resources limited to the bundles and media/. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [
      vscode.Uri.joinPath(extensionUri, 'dist', 'webview'),
      vscode.Uri.joinPath(extensionUri, 'media'),
    ],
  };
}

/** The app's page, with a fresh nonce on every call (every load). */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, app: WebviewApp, title: string): string {
  const asset = (file: string) =>
    webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', file)).toString();
  return renderWebviewPage({
    cspSource: webview.cspSource,
    scriptUri: asset(`${app}.js`),
    styleUri: asset(`${app}.css`),
    title,
    nonce: newNonce(),
  });
}
