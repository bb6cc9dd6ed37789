// `npm run gpu-check [-- --dry-run]`: the GPU check (trainer/wordplay_trainer/check/gpu_check.py) with
// the Python wordplay trains with (WORDPLAY_PYTHON, else the environment `wordplay setup` made),
// its report written to bench/gpu-check.json, which `npm run bench` renders into BENCHMARKS.md.
// A dry run writes bench/gpu-check.dry-run.json instead, so it never replaces a real report.
// Without Node.js the same is `python -m wordplay_trainer gpu-check --out bench/gpu-check.json`.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const python =
  process.env.WORDPLAY_PYTHON ||
  spawnSync(process.execPath, ['dist/cli.js', 'setup'], { cwd: root, encoding: 'utf8' }).stdout.trim();
const out = path.join('bench', args.includes('--dry-run') ? 'gpu-check.dry-run.json' : 'gpu-check.json');
const child = spawnSync(python, ['-m', 'wordplay_trainer', 'gpu-check', '--out', out, ...args], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    PYTHONPATH: [path.join(root, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  },
});
if (child.error)
  console.error(`[gpu-check] could not run ${python}: ${child.error.message}. Run "npx wordplay setup".`);
process.exitCode = child.status ?? 1;
