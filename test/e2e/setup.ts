// What every end-to-end test needs, made once: code-server and Chromium installed, the VSIX
// packaged, and a workspace fixture holding the project's own tiny Shakespeare.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/core/common/paths';
import { shakespeareText } from '../../src/core/prepare/shakespeare';

export interface E2eSetup {
  codeServer: string;
  vsix: string;
  workspace: string;
}

export async function e2eSetup(): Promise<E2eSetup> {
  const { ensureCodeServer } = await import(path.join(packageRoot, 'scripts', 'ensure-code-server.mjs'));
  const codeServer: string = ensureCodeServer();
  const version = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version;
  const vsix = path.join(packageRoot, 'out', `wordplay-linux-x64-${version}.vsix`);
  execFileSync(process.execPath, [path.join(packageRoot, 'scripts', 'package.mjs'), 'linux-x64'], { cwd: packageRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-workspace-'));
  // after() closes code-server first; the folder goes when the test file's process ends
  process.on('exit', () => fs.rmSync(workspace, { recursive: true, force: true }));
  fs.writeFileSync(path.join(workspace, 'shakespeare.txt'), shakespeareText());
  return { codeServer, vsix, workspace };
}

let trained: Promise<string> | undefined;

/**
 * A real model, trained and exported by the CLI the VSIX was just built with (prepare, then
 * train, which exports model.onnx at the end) on tiny Shakespeare, copied into
 * <workspace>/runs/<name> as a finished run: where the extension looks for a model by default.
 * It is tiny (one layer, 64 wide, 200 iterations: seconds on a CPU), so its Shakespeare is
 * rough, but it went through the same trainer and exporter as any model. It is trained once
 * per test process, outside the workspace, so the editor only ever sees the finished run.
 * Returns the run folder in the workspace.
 */
export async function trainedModel(workspace: string, name = 'tiny'): Promise<string> {
  trained ??= trainTinyModel();
  const runDir = path.join(workspace, 'runs', name);
  fs.cpSync(await trained, runDir, { recursive: true });
  return runDir;
}

async function trainTinyModel(): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-model-'));
  process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
  const cli = (...args: string[]) => promisify(execFile)(process.execPath, [path.join(packageRoot, 'dist', 'cli.js'), ...args], { cwd: work });
  const dataset = path.join(work, 'shakespeare-char');
  const runDir = path.join(work, 'run');
  await cli('prepare', '--input', 'shakespeare', '--tokenizer', 'char', '--out', dataset);
  const set = {
    'data.dataset': dataset,
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
  await cli('train', '--config', 'shakespeare-char-cpu', '--run-dir', runDir, ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]));
  return runDir;
}
