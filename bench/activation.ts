// `wordplay bench activation`: what activating the extension costs, as VS Code counts it (the
// extension's code loading plus its activate() call), measured in fresh Node processes: each
// requires dist/extension.js with a stand-in `vscode` module and calls activate() once, on a
// workspace with one empty folder. The goal (#7) is under 50 ms: the extension activates on its
// commands, so this is time a person waits on the first one. VS Code's own figure (Developer:
// Show Running Extensions) adds its extension host's work around the call.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/core/common/errors';
import { packageRoot } from '../src/core/common/paths';
import { numberOption, parseOptions } from '../src/core/common/options';
import { fixed, int, type Benchmark } from './benchmark';
import { runCommand } from './spawn';

export const benchActivationUsage = `Usage: wordplay bench activation [--runs 15] [--extension dist/extension.js]

Requires the bundled extension and calls activate() in --runs fresh Node processes, with a
stand-in for the vscode module; the last line is JSON: medians of require_ms (code loading),
activate_ms (the activate() call, awaited) and total_ms, and the slowest total.`;

/**
 * Runs in each fresh process (node -e): argv[1] is the extension's main file, argv[2] an empty
 * workspace folder. The stand-in gives real values where the extension reads data at activation
 * (workspace folders, settings, state, URIs) and, for everything else, a callable object whose
 * every property is another such object and whose dispose() does nothing: registering a
 * command, a view or a watcher then costs what a call costs, as it does in the editor, where the
 * work happens in the editor's own processes.
 */
const CHILD = String.raw`
const Module = require('node:module');
const path = require('node:path');
const [main, folder] = process.argv.slice(1);
const anything = (name) => {
  const assigned = new Map();
  return new Proxy(function () { return anything(name + '()'); }, {
    get(target, key) {
      if (assigned.has(key)) return assigned.get(key);
      if (key === 'dispose') return () => undefined;
      if (key === 'then') return undefined;
      if (key === Symbol.toPrimitive) return () => name;
      if (key === 'call' || key === 'apply' || key === 'bind') return target[key];
      return anything(name + '.' + String(key));
    },
    set: (target, key, value) => (assigned.set(key, value), true),
  });
};
// a namespace with some real members; any other member is anything() (through the prototype,
// which also serves the copy a bundler's __toESM makes of the module)
const namespace = (name, members) => Object.assign(Object.create(new Proxy({}, {
  get: (target, key) => (key === 'then' || typeof key === 'symbol' ? undefined : anything(name + String(key))),
})), members);
const uri = (fsPath) => ({ scheme: 'file', fsPath, path: fsPath, toString: () => 'file://' + fsPath, with: () => uri(fsPath) });
const memento = () => { const m = new Map(); return { get: (k, d) => (m.has(k) ? m.get(k) : d), update: async (k, v) => void m.set(k, v), keys: () => [...m.keys()] }; };
const configuration = { get: (key, fallback) => fallback, has: () => false, inspect: () => undefined, update: async () => undefined };
const stub = namespace('vscode.', {
  Uri: { file: uri, parse: (s) => uri(s.replace(/^file:\/\//, '')), joinPath: (base, ...parts) => uri(path.join(base.fsPath, ...parts)) },
  workspace: namespace('workspace.', {
    workspaceFolders: [{ uri: uri(folder), name: path.basename(folder), index: 0 }],
    isTrusted: true,
    textDocuments: [],
    getConfiguration: () => configuration,
    asRelativePath: (p) => path.relative(folder, typeof p === 'string' ? p : p.fsPath),
  }),
  window: namespace('window.', { activeTextEditor: undefined, visibleTextEditors: [] }),
});
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) { return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest); };
require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: stub };
const storage = path.join(folder, '.storage');
const context = {
  subscriptions: [],
  workspaceState: memento(),
  globalState: Object.assign(memento(), { setKeysForSync: () => undefined }),
  extensionPath: path.dirname(path.dirname(main)),
  extensionUri: uri(path.dirname(path.dirname(main))),
  asAbsolutePath: (p) => path.join(path.dirname(path.dirname(main)), p),
  storageUri: uri(storage), globalStorageUri: uri(storage), logUri: uri(storage),
  storagePath: storage, globalStoragePath: storage, logPath: storage,
  extensionMode: 1,
  environmentVariableCollection: anything('environmentVariableCollection'),
  secrets: anything('secrets'),
};
// the editor's extension host has Node's built-in modules loaded before any extension
for (const builtin of new Set(require('node:fs').readFileSync(main, 'utf8').match(/(?<=require\(")node:[a-z_/]+(?="\))/g))) require(builtin);
(async () => {
  const t0 = performance.now();
  const extension = require(main);
  const t1 = performance.now();
  await extension.activate(context);
  const t2 = performance.now();
  console.log(JSON.stringify({ require_ms: t1 - t0, activate_ms: t2 - t1 }));
  process.exit(0);
})().catch((err) => { console.error(err && err.stack || String(err)); process.exit(1); });
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Number(x.toFixed(1));

export async function benchActivation(args: string[]): Promise<number> {
  const opts = parseOptions(args, { runs: { type: 'string' }, extension: { type: 'string' } }, benchActivationUsage);
  const runs = numberOption(opts.runs, 'runs', 15);
  if (!Number.isInteger(runs) || runs < 1) throw new UserError('--runs must be a whole number of at least 1.');
  const main = path.resolve(opts.extension ?? path.join(packageRoot, 'dist', 'extension.js'));
  if (!fs.existsSync(main)) throw new UserError(`${main} does not exist: build it first with "npm run build".`);
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-activation-'));
  try {
    const samples: { require_ms: number; activate_ms: number }[] = [];
    for (let r = 0; r < runs; r++) {
      const child = spawnSync(process.execPath, ['-e', CHILD, main, folder], { encoding: 'utf8' });
      if (child.status !== 0) throw new UserError(`activating ${main} failed:\n${child.stderr.trim()}`);
      const sample = JSON.parse(child.stdout.trim().split('\n').pop()!);
      samples.push(sample);
      console.error(
        `run ${r + 1}/${runs}: require ${sample.require_ms.toFixed(1)} ms, activate ${sample.activate_ms.toFixed(1)} ms`,
      );
    }
    const totals = samples.map((s) => s.require_ms + s.activate_ms);
    console.log(
      JSON.stringify({
        extension: path.relative(process.cwd(), main) || main,
        bytes: fs.statSync(main).size,
        runs,
        require_ms: round(median(samples.map((s) => s.require_ms))),
        activate_ms: round(median(samples.map((s) => s.activate_ms))),
        total_ms: round(median(totals)),
        max_total_ms: round(Math.max(...totals)),
        node: process.version,
      }),
    );
    return 0;
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

// ---- in BENCHMARKS.md (bench/benchmark.ts)

export const benchmarks: Benchmark[] = [
  {
    name: 'activation',
    // the bundle the VSIX ships (minified); `npm run build` leaves an unminified one
    async before() {
      const { code } = await runCommand(process.execPath, ['esbuild.mjs', '--production']);
      if (code !== 0) throw new Error(`esbuild.mjs --production exited with ${code}`);
    },
    args: ['bench', 'activation', '--runs', '15'],
    rows: [
      {
        figure: 'activation: require `dist/extension.js` (production) + `activate()`, fresh process',
        goal: '< 50 ms (#7)',
        value: (r) =>
          `${fixed(r.total_ms)} ms (median of ${r.runs}: require ${fixed(r.require_ms)}, activate ${fixed(r.activate_ms)}; slowest ${fixed(r.max_total_ms)}; ${int(r.bytes / 1000)} kB bundle)`,
        met: (r) => r.total_ms < 50,
      },
    ],
  },
];
