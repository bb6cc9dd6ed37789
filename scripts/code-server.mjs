// The code-server the end-to-end tests drive: `node scripts/code-server.mjs start|stop <dir>`.
//
// start packages the linux-x64 VSIX (scripts/package.mjs), installs it into <dir>/extensions,
// starts code-server on a free port with <dir>/user-data in its own process group, waits until it
// answers, and writes <dir>/server.json (pid, url, user-data and logs folders, the VSIX). It returns
// with code-server still running. stop ends that process group and removes all of <dir> but
// <dir>/logs (code-server.log, vscode/), which stays for a failed test to be read.
//
// `npm test` starts one before the end-to-end step and stops it after, and names <dir> to every
// e2e file (WORDPLAY_E2E_SHARED): each opens its own workspace folder in it, in a browser of its
// own, so the server, the VSIX and the installed extension are made once. The harness starts a
// server of a file's own with the same functions (a file run alone, or one that cannot share).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ensureCodeServer } from './ensure-code-server.mjs';
import { packageVsix } from './package.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Whether any process of the group `pgid` is left. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The user settings every window starts from (a file's own are added by the harness). */
export const baseSettings = { 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off' };

/**
 * Starts code-server with `vsix` installed, in `dir`; `trusted: false` leaves workspace trust on
 * (every folder then opens in Restricted Mode). Its extension hosts get `env`. Returns what
 * server.json holds.
 */
export async function startCodeServer({ dir, vsix, trusted = true, env = process.env }) {
  const codeServer = ensureCodeServer();
  const userData = path.join(dir, 'user-data');
  const extensions = path.join(dir, 'extensions');
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(logs, { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(baseSettings));
  const install = spawnSync(
    codeServer,
    ['--extensions-dir', extensions, '--user-data-dir', userData, '--install-extension', vsix],
    { encoding: 'utf8', env },
  );
  if (install.status !== 0) throw new Error(`installing ${vsix} failed: ${install.stderr || install.stdout}`);

  const port = await freePort();
  const args = [
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--user-data-dir',
    userData,
    '--extensions-dir',
    extensions,
  ];
  if (trusted) args.push('--disable-workspace-trust');
  const log = fs.openSync(path.join(logs, 'code-server.log'), 'a');
  // its own process group, writing to a file: it outlives `start`, and stop ends all of it
  const server = spawn(codeServer, args, { stdio: ['ignore', log, log], detached: true, env });
  fs.closeSync(log);
  server.unref();
  const info = { pid: server.pid, url: `http://127.0.0.1:${port}`, userData, logs, vsix };
  fs.writeFileSync(path.join(dir, 'server.json'), `${JSON.stringify(info, null, 2)}\n`);
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (server.exitCode !== null || !groupAlive(server.pid))
        throw new Error(`code-server exited; see ${path.join(logs, 'code-server.log')}`);
      const ok = await fetch(`${info.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return info;
      if (Date.now() > deadline)
        throw new Error(
          `code-server did not answer at ${info.url} within 60 s; see ${path.join(logs, 'code-server.log')}`,
        );
      await sleep(200);
    }
  } catch (err) {
    // nothing may outlive a start that failed half-way
    await stopCodeServer(dir);
    throw err;
  }
}

/** Reads <dir>/server.json: what startCodeServer wrote. */
export function readServer(dir) {
  const file = path.join(dir, 'server.json');
  if (!fs.existsSync(file))
    throw new Error(`${file} is missing: \`node scripts/code-server.mjs start ${dir}\` did not run or failed`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Ends the code-server in `dir` (its extension hosts with it) and removes all but the logs:
 *  the user data, the extensions, and what the tests made there (test/e2e/setup.ts's fixtures). */
export async function stopCodeServer(dir) {
  if (!fs.existsSync(path.join(dir, 'server.json'))) return;
  const { pid, userData, logs } = readServer(dir);
  // SIGTERM lets code-server close its extension hosts; SIGKILL whatever is left after 10 s
  if (groupAlive(pid)) process.kill(-pid, 'SIGTERM');
  for (const deadline = Date.now() + 10_000; groupAlive(pid) && Date.now() < deadline;) await sleep(100);
  if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
  const hostLogs = path.join(userData, 'logs');
  if (fs.existsSync(hostLogs)) fs.cpSync(hostLogs, path.join(logs, 'vscode'), { recursive: true });
  for (const name of fs.readdirSync(dir))
    if (name !== 'logs') fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

async function main() {
  const [command, dir] = process.argv.slice(2);
  if (!['start', 'stop'].includes(command) || !dir) {
    console.error('Usage: node scripts/code-server.mjs start|stop <dir>');
    return 2;
  }
  if (command === 'stop') {
    await stopCodeServer(dir);
    console.log(`code-server: stopped; logs in ${path.join(dir, 'logs')}`);
    return 0;
  }
  await stopCodeServer(dir);
  const [vsix] = packageVsix(['linux-x64'], { quiet: true });
  const info = await startCodeServer({ dir, vsix });
  console.log(`code-server: ${info.url} (user data ${info.userData}, logs ${info.logs})`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(err.message);
      process.exitCode = 1;
    },
  );
}
