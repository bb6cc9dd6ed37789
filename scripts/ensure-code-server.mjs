// Installs what the end-to-end tests need on a clean Debian machine, once: Chromium and the
// native build dependencies from Debian, and code-server (a real VS Code from npm) into the
// wordplay cache folder outside the clone, reused by later runs. Prints code-server's path.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';
// the @vscode/ripgrep that code-server 4.100.3 depends on, and the asset its postinstall wants
const RIPGREP_VERSION = '1.15.11';
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

const cacheRoot =
  process.env.WORDPLAY_CACHE_DIR ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'wordplay');
export const codeServerDir = path.join(cacheRoot, `code-server-${CODE_SERVER_VERSION}`);
export const codeServerBin = path.join(codeServerDir, 'node_modules', '.bin', 'code-server');
export const chromiumPath = '/usr/bin/chromium';

const log = (line) => console.error(`[e2e setup] ${line}`);
const run = (cmd, args, env = {}, cwd = undefined) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });

export function ensureDebianPackages() {
  const missing = [
    ['chromium', chromiumPath],
    ['ripgrep', '/usr/bin/rg'],
    ['libkrb5-dev', '/usr/include/krb5.h'],
  ].filter(([, file]) => !fs.existsSync(file));
  if (missing.length === 0) return;
  log(`installing Debian packages: ${missing.map(([p]) => p).join(', ')}`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const apt = (args) => (sudo.length ? run('sudo', ['apt-get', ...args]) : run('apt-get', args));
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', ...missing.map(([p]) => p)]);
}

export function ensureCodeServer() {
  ensureDebianPackages();
  if (fs.existsSync(path.join(codeServerDir, '.installed'))) return codeServerBin;
  log(`installing code-server ${CODE_SERVER_VERSION} into ${codeServerDir} (a minute or two, once)`);
  // @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache holds the asset:
  // give it Debian's rg, packed as the asset it looks for
  const rgCache = path.join(os.tmpdir(), `vscode-ripgrep-cache-${RIPGREP_VERSION}`);
  fs.mkdirSync(rgCache, { recursive: true });
  if (!fs.existsSync(path.join(rgCache, RIPGREP_ASSET))) {
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-'));
    fs.copyFileSync('/usr/bin/rg', path.join(staging, 'rg'));
    run('tar', ['-czf', path.join(rgCache, RIPGREP_ASSET), '-C', staging, 'rg']);
    fs.rmSync(staging, { recursive: true, force: true });
  }
  fs.rmSync(codeServerDir, { recursive: true, force: true });
  fs.mkdirSync(codeServerDir, { recursive: true });
  fs.writeFileSync(path.join(codeServerDir, 'package.json'), '{"private":true}\n');
  // npm_config_yes: a nested `npx node-gyp` otherwise refuses to run without a terminal
  run(
    'npm',
    ['install', '--unsafe-perm', '--no-audit', '--no-fund', `code-server@${CODE_SERVER_VERSION}`],
    { npm_config_yes: 'true', ONNXRUNTIME_NODE_INSTALL: 'skip' },
    codeServerDir,
  );
  fs.writeFileSync(path.join(codeServerDir, '.installed'), new Date().toISOString());
  return codeServerBin;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(ensureCodeServer());
