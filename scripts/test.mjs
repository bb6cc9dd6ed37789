// `npm test`: every check, in order, each with its own tool's summary. Runs them all and
// fails at the end if any failed, so one red step does not hide the others.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const startedAll = Date.now();
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
// the Python environment `wordplay setup` made (bootstrap ran it just before), with DeepSpeed
// for the trainer's sharded-training tests
const python = spawnSync(process.execPath, ['dist/cli.js', 'setup', '--deepspeed'], {
  cwd: root,
  encoding: 'utf8',
}).stdout.trim();
const pythonEnv = { ...process.env, PYTHONPATH: path.join(root, 'trainer'), WORDPLAY_PYTHON: python };
const testFiles = (dir) =>
  fs
    .readdirSync(path.join(root, 'test', dir))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join('test', dir, f));
const slurmCluster = path.join(root, 'scripts', 'slurm-cluster.mjs');
const codeServer = path.join(root, 'scripts', 'code-server.mjs');
// the e2e files' shared code-server, its VSIX and their fixtures; its logs stay there
const e2eShared = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-shared-'));

const steps = [
  ['TypeScript type-check', bin('tsc'), ['-p', '.']],
  ['TypeScript type-check (webviews)', bin('tsc'), ['-p', 'webview']],
  ['eslint', bin('eslint'), ['.']],
  // the TypeScript side's formatter (.prettierrc.json); `npm run format` rewrites what it flags
  ['prettier', bin('prettier'), ['--check', '**/*.{ts,mjs}']],
  ['ruff', python, ['-m', 'ruff', 'check', 'trainer']],
  ['ruff format', python, ['-m', 'ruff', 'format', '--check', 'trainer']],
  // two unit files at a time: each is mostly a process waiting on Python or a child, so the two
  // cores fill up (~220 s instead of ~370 s); every file uses its own temporary folders
  [
    'unit tests (node --test)',
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', ...testFiles('unit')],
    pythonEnv,
  ],
  // CI-sized here, to keep CI short: the load test runs 15 s, the trainer is killed 6 times and
  // 300 MB are prepared; `npm run test:faults` runs the full sizes (60 s, 20 kills, 1 GB)
  [
    'fault injection and load (node --test)',
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', ...testFiles('faults')],
    { WORDPLAY_LOAD_SECONDS: '15', WORDPLAY_FAULT_KILLS: '6', WORDPLAY_LARGE_MB: '300', ...pythonEnv },
  ],
  // a real two-node SLURM cluster on this machine for the multi-node tests; stopped below, after every step
  ['SLURM cluster (two nodes): start', process.execPath, [slurmCluster, 'start']],
  [
    'cluster tests (SLURM)',
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', ...testFiles('cluster')],
    pythonEnv,
  ],
  // one packaged VSIX and one code-server for the e2e files (each opens its own workspace in it);
  // its extension hosts get pythonEnv; stopped below, after every step
  ['code-server for the end-to-end tests: start', process.execPath, [codeServer, 'start', e2eShared], pythonEnv],
  // CI-sized: each command that asks is tried twice with the focus taken from its prompt; alone,
  // test/e2e/training.test.ts tries it 10 times (WORDPLAY_E2E_FOCUS_ROUNDS)
  [
    'end-to-end tests (code-server in Chromium)',
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', ...testFiles('e2e')],
    { ...pythonEnv, WORDPLAY_E2E_SHARED: e2eShared, WORDPLAY_E2E_FOCUS_ROUNDS: '2' },
  ],
  ['trainer tests (pytest)', python, ['-m', 'pytest', 'trainer/tests', '-q', '-p', 'no:cacheprovider'], pythonEnv],
];

// the browser tests need Chromium (Debian's package); installed once when missing
spawnSync(process.execPath, [path.join(root, 'scripts', 'ensure-chromium.mjs')], { cwd: root, stdio: 'inherit' });

const failed = [];
for (const [name, command, args, env] of steps) {
  console.log(`\n=== ${name}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: env ?? process.env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) failed.push(name);
  console.log(
    `=== ${name}: ${result.status === 0 ? 'ok' : `FAILED (exit ${result.status ?? result.signal})`} in ${seconds} s`,
  );
}
// whether the steps passed or not: the cluster's daemons and jobs, and the e2e code-server, end here
spawnSync(process.execPath, [slurmCluster, 'stop'], { cwd: root, stdio: 'inherit' });
spawnSync(process.execPath, [codeServer, 'stop', e2eShared], { cwd: root, stdio: 'inherit' });
console.log(
  `\nchecks: ${steps.length - failed.length} passed, ${failed.length} failed${failed.length ? `: ${failed.join(', ')}` : ''}`,
);
const total = Math.round((Date.now() - startedAll) / 1000);
console.log(`total: ${Math.floor(total / 60)} min ${total % 60} s`);
process.exitCode = failed.length ? 1 : 0;
