// What every end-to-end test needs: the packaged VSIX and a workspace folder of its own holding
// the project's own tiny Shakespeare, and for some a tiny trained model. Under `npm test` the VSIX
// is the one scripts/code-server.mjs packaged for the shared code-server, and the model is
// trained once into the shared folder for every file that asks; a file run alone packages and
// trains its own.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/core/common/paths';
import { shakespeareText } from '../../src/core/prepare/shakespeare';
import { codeServerScript, sharedDir } from './harness';

export interface E2eSetup {
  vsix: string;
  workspace: string;
}

export async function e2eSetup(): Promise<E2eSetup> {
  // loaded before any test changes the environment: as it loads, it finds the cache folder that
  // holds code-server
  const script = await codeServerScript();
  const vsix = sharedDir ? script.readServer(sharedDir).vsix : await packageVsix();
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-workspace-'));
  // after() closes the window first; the folder goes when the test file's process ends
  process.on('exit', () => fs.rmSync(workspace, { recursive: true, force: true }));
  fs.writeFileSync(path.join(workspace, 'shakespeare.txt'), shakespeareText());
  return { vsix, workspace };
}

async function packageVsix(): Promise<string> {
  const { packageVsix } = await import(path.join(packageRoot, 'scripts', 'package.mjs'));
  return (packageVsix as (targets: string[], options: { quiet: boolean }) => string[])(['linux-x64'], {
    quiet: true,
  })[0];
}

/** The tiny model's config: one layer, 64 wide, 200 iterations (seconds on a CPU). */
const TINY = {
  'model.n_layer': 1,
  'model.n_head': 2,
  'model.n_embd': 64,
  'model.block_size': 32,
  'train.batch_size': 16,
  'train.max_iters': 200,
  'train.eval_interval': 100,
  'train.eval_iters': 2,
  // a model from each evaluation too (exports/iter-000100, iter-000200): two checkpoints of
  // one run for Compare Completions
  'train.keep_exports': 2,
  'optimizer.learning_rate': 0.01,
  'optimizer.warmup_iters': 10,
  'optimizer.lr_decay_iters': 200,
};

let trained: Promise<string> | undefined;

/**
 * A real model, trained and exported by the CLI (prepare, then train, which exports model.onnx
 * at the end) on tiny Shakespeare, copied into <workspace>/runs/<name> as a finished run: where
 * the extension looks for a model by default. It is tiny (TINY), so its Shakespeare is rough, but
 * it went through the same trainer and exporter as any model. It is trained outside the
 * workspace, so the editor only ever sees the finished run: once per `npm test` into the shared
 * folder (named by a hash of its config), or once per test process when run alone. Returns the
 * run folder in the workspace.
 */
export async function trainedModel(workspace: string, name = 'tiny'): Promise<string> {
  trained ??= tinyModel();
  const runDir = path.join(workspace, 'runs', name);
  fs.cpSync(await trained, runDir, { recursive: true });
  return runDir;
}

async function tinyModel(): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify(TINY)).digest('hex').slice(0, 12);
  const fixtures = sharedDir
    ? path.join(sharedDir, 'fixtures')
    : fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-model-'));
  if (!sharedDir) process.on('exit', () => fs.rmSync(fixtures, { recursive: true, force: true }));
  const made = path.join(fixtures, `tiny-${key}`);
  if (fs.existsSync(made)) return made;
  fs.mkdirSync(fixtures, { recursive: true });
  const cli = (...args: string[]) =>
    promisify(execFile)(process.execPath, [path.join(packageRoot, 'dist', 'cli.js'), ...args], { cwd: fixtures });
  // beside the runs for as long as they are used: their config names it (prepare is atomic)
  const dataset = path.join(fixtures, 'shakespeare-char');
  if (!fs.existsSync(dataset)) await cli('prepare', '--input', 'shakespeare', '--tokenizer', 'char', '--out', dataset);
  const work = fs.mkdtempSync(path.join(fixtures, 'training-'));
  const set = { 'data.dataset': dataset, ...TINY };
  await cli(
    'train',
    '--config',
    'shakespeare-char-cpu',
    '--run-dir',
    path.join(work, 'run'),
    ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  );
  // whole or not at all: a later file finds the finished run or none
  fs.renameSync(path.join(work, 'run'), made);
  fs.rmSync(work, { recursive: true, force: true });
  return made;
}
