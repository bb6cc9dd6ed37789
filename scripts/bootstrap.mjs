// Makes a fresh clone ready to run: npm packages, the bundles in dist/, and (unless
// --no-python) the Python environment. Each step is skipped when it is already up to date,
// so `npm run demo` and `npm test` can call this every time.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cmd, args, extraEnv = {}) =>
  execFileSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...extraEnv },
    shell: process.platform === 'win32',
  });

const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);
function newest(dir) {
  let t = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : mtime(p));
  }
  return t;
}

// npm packages: when node_modules is missing or older than the lock file
const installed = path.join(root, 'node_modules', '.package-lock.json');
if (mtime(installed) < mtime(path.join(root, 'package-lock.json')) || !fs.existsSync(installed)) {
  console.error('[wordplay] installing npm packages');
  // onnxruntime-node's install script would download CUDA binaries; the CPU ones ship inside
  run(npm, [fs.existsSync(path.join(root, 'package-lock.json')) ? 'ci' : 'install', '--no-audit', '--no-fund'], {
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  });
}

// bundles: when a source (src/, and bench/ for `wordplay bench`) is newer than them
const built = Math.min(mtime(path.join(root, 'dist', 'cli.js')), mtime(path.join(root, 'dist', 'extension.js')));
if (
  built <
  Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'bench')), mtime(path.join(root, 'esbuild.mjs')))
) {
  console.error('[wordplay] building dist/');
  run(process.execPath, ['esbuild.mjs']);
}

if (!process.argv.includes('--no-python')) run(process.execPath, ['dist/cli.js', 'setup']);
