// The extension's choice of Python (src/common/pythonCommands.ts feeds these from VS Code): the order of the
// sources, the check of a chosen interpreter, and the walkthrough's tiny Shakespeare dataset.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { doctor, formatDoctor, summarizeDoctor } from '../../src/core/train/doctor';
import { prepare } from '../../src/core/prepare/prepare';
import {
  managedEnv,
  resolveEditorPython,
  resolvePython,
  type EditorPythonSources,
} from '../../src/core/common/pythonEnv';
import { preparedShakespeareChar } from '../../src/core/prepare/shakespeare';
import { SHAKESPEARE, tempDir } from './helpers';

/** Sources that record which of them were consulted. */
function sources(
  setting: string,
  active: string | undefined,
  activeCanTrain: boolean,
): EditorPythonSources & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    setting,
    activeEnvironment: async () => {
      asked.push('activeEnvironment');
      return active;
    },
    canTrain: async (python) => {
      asked.push(`canTrain ${python}`);
      return activeCanTrain;
    },
  };
}

/** A cache folder whose managed environment is ready, and that environment's interpreter. */
function readyManagedEnv(): { env: NodeJS.ProcessEnv; python: string } {
  const env = { WORDPLAY_CACHE_DIR: tempDir() };
  const { dir, python } = managedEnv(env);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'wordplay-env.json'), '{}');
  return { env, python };
}

test('the wordplay.pythonPath setting comes first, without probing anything else', async () => {
  const s = sources('  /opt/py/bin/python  ', '/active/bin/python', true);
  assert.deepEqual(await resolveEditorPython(s, { WORDPLAY_PYTHON: '/env/python' }), {
    path: '/opt/py/bin/python',
    source: 'wordplay.pythonPath',
  });
  assert.deepEqual(s.asked, []);
});

test('WORDPLAY_PYTHON comes before the Python extension', async () => {
  const s = sources('', '/active/bin/python', true);
  assert.deepEqual(await resolveEditorPython(s, { WORDPLAY_PYTHON: '/env/python' }), {
    path: '/env/python',
    source: 'WORDPLAY_PYTHON',
  });
  assert.deepEqual(s.asked, [], 'the Python extension is not consulted');
});

test("the Python extension's active environment is used when it can train", async () => {
  const { env } = readyManagedEnv();
  const s = sources('', '/active/bin/python', true);
  assert.deepEqual(await resolveEditorPython(s, env), { path: '/active/bin/python', source: 'Python extension' });
  assert.deepEqual(s.asked, ['activeEnvironment', 'canTrain /active/bin/python']);
});

test('an active environment that cannot train gives way to the managed environment, then PATH', async () => {
  const { env, python } = readyManagedEnv();
  assert.deepEqual(await resolveEditorPython(sources('', '/active/bin/python', false), env), {
    path: python,
    source: 'managed environment',
  });
  const noManaged = { WORDPLAY_CACHE_DIR: tempDir() };
  assert.equal((await resolveEditorPython(sources('', '/active/bin/python', false), noManaged)).source, 'PATH');
  const s = sources('', undefined, true);
  assert.equal((await resolveEditorPython(s, noManaged)).source, 'PATH', 'without the Python extension');
  assert.deepEqual(s.asked, ['activeEnvironment'], 'nothing to probe without an active environment');
});

/** A stand-in interpreter whose trainer probe answers with the given report. */
function fakePython(probe: object): string {
  const file = path.join(tempDir(), 'python');
  fs.writeFileSync(file, `#!/bin/sh\ncat <<'JSON'\n${JSON.stringify(probe)}\nJSON\n`, { mode: 0o755 });
  return file;
}

/** The Python wordplay would use, started with -S (no site-packages): a real interpreter in
 *  which PyTorch cannot be imported, wherever it is installed. */
function pythonWithoutPackages(): string {
  const file = path.join(tempDir(), 'python');
  fs.writeFileSync(file, `#!/bin/sh\nexec ${JSON.stringify(resolvePython().path)} -S "$@"\n`, { mode: 0o755 });
  return file;
}

const devices = { cpu_threads: 8, cuda: [], mps: false };
const torch = { version: '2.11.0', cuda_build: null, threads: 8 };

test('the check of a chosen interpreter: Python 3.10+ with PyTorch can train, and the summary names the device', async () => {
  const python = fakePython({
    python: { path: '/fake/python', version: '3.12.3' },
    torch: { ...torch, cuda_build: '13.0' },
    device: 'cuda',
    devices: { ...devices, cuda: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', memory_gb: 79.1 }] },
    problems: [],
  });
  // the interpreter given wins over the environment's own choice
  const report = await doctor(
    { ...process.env, WORDPLAY_PYTHON: '/nonexistent/python' },
    { path: python, source: 'Python extension' },
  );
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.python, { path: '/fake/python', version: '3.12.3', source: 'Python extension' });
  assert.equal(summarizeDoctor(report), 'Python 3.12.3 with PyTorch 2.11.0, training on CUDA (NVIDIA H100 80GB HBM3)');
});

test('the check refuses Python older than 3.10, a Python without PyTorch, and a missing interpreter', async () => {
  const old = fakePython({
    python: { path: '/fake/python', version: '3.9.18' },
    torch,
    device: 'cpu',
    devices,
    problems: [],
  });
  const oldReport = await doctor(process.env, { path: old, source: 'wordplay.pythonPath' });
  assert.match(oldReport.problems.map((p) => p.problem).join('\n'), /3\.9\.18 is older than 3\.10/);

  // the trainer's real probe, in a Python that cannot import torch
  const noTorch = await doctor(process.env, { path: pythonWithoutPackages(), source: 'PATH' });
  assert.equal(noTorch.torch, null);
  assert.deepEqual(noTorch.problems, [
    { problem: 'PyTorch is not installed in this Python.', fix: 'Run `wordplay setup`.' },
  ]);
  assert.match(summarizeDoctor(noTorch), /^Python 3\.\d+\.\d+ without PyTorch$/);
  assert.match(formatDoctor(noTorch), /^PyTorch +not installed$/m);

  const missing = await doctor(process.env, { path: '/nonexistent/python3', source: 'wordplay.pythonPath' });
  assert.equal(missing.python, null);
  assert.match(missing.problems[0].problem, /could not be run at "\/nonexistent\/python3"/);
  assert.equal(summarizeDoctor(missing), 'Python not found');
});

test('the summary names Apple MPS and the CPU', () => {
  const report = {
    node: { version: process.versions.node },
    python: { path: '/p', version: '3.11.9', source: 'PATH' as const },
    torch,
    device: 'mps' as const,
    devices: { ...devices, mps: true },
    managed_environment: { path: '/m', ready: false },
    problems: [],
  };
  assert.match(summarizeDoctor(report), /training on MPS \(Apple GPU\)$/);
  assert.match(summarizeDoctor({ ...report, device: 'cpu' }), /training on the CPU \(8 threads\)$/);
});

test('tiny Shakespeare prepared with the char tokenizer is recognised; other datasets are not', async () => {
  const root = tempDir();
  assert.equal(preparedShakespeareChar(path.join(root, 'missing')), undefined);
  const shakespeare = await prepare({
    input: SHAKESPEARE,
    tokenizer: 'char',
    out: path.join(root, 'shakespeare-char'),
  });
  assert.equal(preparedShakespeareChar(shakespeare.dir)?.vocab_size, 65);
  const other = path.join(root, 'notes.txt');
  fs.writeFileSync(other, 'Some other text, long enough for a validation split. '.repeat(20));
  const notes = await prepare({ input: other, tokenizer: 'char', out: path.join(root, 'notes-char') });
  assert.equal(preparedShakespeareChar(notes.dir), undefined);
});
