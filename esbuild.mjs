// Bundles the extension host and the CLI into dist/. onnxruntime-node stays external: its
// native binaries ship in the VSIX's node_modules; vscode is provided by the editor.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';

const production = process.argv.includes('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external: ['vscode', 'onnxruntime-node'],
  // ESM builds first: jsonc-parser's UMD main loads its parts with a require() esbuild cannot follow
  mainFields: ['module', 'main'],
  logLevel: 'warning',
};

// The webview apps (webview/<app>/main.ts): browser bundles, each with its CSS beside it.
const webviewApps = ['configEditor', 'metrics', 'compare', 'runCard'];
const webviewBuild = {
  bundle: true,
  platform: 'browser',
  target: 'chrome120',
  format: 'iife',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  entryPoints: Object.fromEntries(webviewApps.map((app) => [app, `webview/${app}/main.ts`])),
  outdir: 'dist/webview',
};

if (process.argv.includes('--webviews')) {
  // only the webview bundles (the browser tests rebuild them when stale)
  await esbuild.build(webviewBuild);
} else {
  await Promise.all([
    esbuild.build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' }),
    esbuild.build({
      ...common,
      entryPoints: ['src/cli.ts'],
      outfile: 'dist/cli.js',
      banner: { js: '#!/usr/bin/env node' },
    }),
    esbuild.build(webviewBuild),
  ]);
  // `npx wordplay` runs the bin directly: it must be executable
  fs.chmodSync('dist/cli.js', 0o755);
}
