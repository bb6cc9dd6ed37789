// Makes sure the browser the webview tests drive exists: /usr/bin/chromium (or $WORDPLAY_CHROMIUM).
// On Debian/Ubuntu without it, installs Debian's chromium package with apt-get (as root, or
// through sudo). `npx playwright install` cannot be used: it downloads from a CDN.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const browser = process.env.WORDPLAY_CHROMIUM ?? '/usr/bin/chromium';
if (fs.existsSync(browser)) {
  console.log(`chromium: ${browser}`);
  process.exit(0);
}
if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/apt-get')) {
  console.error(`chromium: ${browser} is missing; install Chromium and set WORDPLAY_CHROMIUM to its executable`);
  process.exit(1);
}
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const run = (args) => {
  const [cmd, ...rest] = root ? args : ['sudo', ...args];
  const r = spawnSync(cmd, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    console.error(`chromium: "${args.join(' ')}" failed`);
    process.exit(1);
  }
};
run(['apt-get', 'update']);
run(['apt-get', 'install', '-y', '--no-install-recommends', 'chromium']);
if (!fs.existsSync(browser)) {
  console.error(`chromium: installed, but ${browser} is still missing`);
  process.exit(1);
}
console.log(`chromium: installed ${browser}`);
