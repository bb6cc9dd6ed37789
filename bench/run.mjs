// `npm run bench [-- --only name,...]`: runs every benchmark, keeps the raw results in
// bench/results.json and regenerates the table of BENCHMARKS.md from them (the part between its
// two "generated" markers; the hand-written sections around it are kept), and its GPU check
// section from bench/gpu-check.json (`npm run gpu-check`, bench/gpuCheck.mjs).
// `npm run bench -- --render` runs nothing: it regenerates both from the files as they are
// (after copying in a gpu-check.json from a GPU machine, say).
//
// Each benchmark is declared by its module in bench/ (bench/benchmark.ts): the command a person
// would type (`wordplay bench …` printing JSON on its last line, `wordplay train` for the time to
// a loss, `npm run package` for the VSIX sizes) and its rows in the table. This file collects
// them, in the order of MODULES, with the ones that need a GPU last, and runs them. Each result
// records the machine, the date and the load average while it ran, because these figures come
// from shared machines: `--only` reruns some benchmarks and keeps the others' results (and their
// machines and dates) as they were. A benchmark that needs a GPU keeps its earlier result on a
// machine without one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { describeMachine, watchLoad, writeBenchmarks } from './report.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsPath = path.join(root, 'bench', 'results.json');

const say = (line) => console.error(`[bench] ${line}`);
const fixed = (x, digits = 1) => Number(x).toFixed(digits);

/** The modules of bench/ that declare benchmarks (TypeScript, loaded through tsx), in the table's order. */
const MODULES = [
  'prepare',
  'training',
  'timeToLoss',
  'recipe',
  'budget',
  'finetune',
  'tokenizerRows',
  'generation',
  'activation',
  'surprise',
  'firstCompletion',
  'dashboard',
  'stop',
  'vsix',
];

const importModule = (module) => tsImport(`./${module}.ts`, import.meta.url);
const declared = [];
for (const module of MODULES) declared.push(...(await importModule(module)).benchmarks);
const benchmarks = [...declared.filter((b) => !b.gpu), ...declared.filter((b) => b.gpu)];
for (const b of benchmarks) b.command ??= `wordplay ${b.args.join(' ')}`;
const { wordplayJson } = await importModule('spawn');

// --- main ----------------------------------------------------------------------------------

function parseOnly(argv) {
  if (argv.includes('--render')) return [];
  const i = argv.indexOf('--only');
  if (i < 0) return benchmarks.map((b) => b.name);
  const names = (argv[i + 1] ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
  if (!names.length || unknown.length) {
    console.error(
      `usage: node bench/run.mjs [--only <name,...> | --render]; names: ${benchmarks.map((b) => b.name).join(', ')}`,
    );
    process.exit(2);
  }
  return names;
}

const only = parseOnly(process.argv.slice(2));
const results = fs.existsSync(resultsPath) ? JSON.parse(fs.readFileSync(resultsPath, 'utf8')) : {};
const machine = only.length ? describeMachine() : null;
const failed = [];
const startedAll = Date.now();
for (const b of benchmarks.filter((x) => only.includes(x.name))) {
  const date = new Date().toISOString();
  const reason = b.gpu && !machine.gpus.length ? 'no GPU on this machine' : undefined;
  if (reason) {
    say(`${b.name}: not measured here (${reason})${results[b.name]?.result ? '; keeping the earlier result' : ''}`);
    if (!results[b.name]?.result) results[b.name] = { notMeasured: reason, machine, date };
  } else {
    say(`${b.name}: ${b.command}`);
    const started = Date.now();
    const load = watchLoad();
    try {
      await b.before?.();
      const result = await (b.measure ? b.measure() : wordplayJson(b.args));
      results[b.name] = {
        result,
        command: b.command,
        machine,
        date,
        seconds: (Date.now() - started) / 1000,
        load: load(),
      };
      say(`${b.name}: done in ${fixed((Date.now() - started) / 1000)} s`);
    } catch (err) {
      load();
      failed.push(b.name);
      say(`${b.name}: FAILED (${err.message})${results[b.name]?.result ? '; keeping the earlier result' : ''}`);
      if (!results[b.name]?.result)
        results[b.name] = { notMeasured: `the benchmark failed (${err.message})`, machine, date };
    }
  }
  // after each benchmark, so that an interrupted run keeps what it measured
  fs.mkdirSync(path.dirname(resultsPath), { recursive: true });
  fs.writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  writeBenchmarks(results, benchmarks);
}
if (!only.length) writeBenchmarks(results, benchmarks);
say(
  `BENCHMARKS.md regenerated in ${fixed((Date.now() - startedAll) / 60000)} min${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
);
process.exitCode = failed.length ? 1 : 0;
