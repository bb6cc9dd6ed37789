// Use a Pretrained Model for Completion's core against the real trainer: a GPT-2 folder made here
// with transformers (random weights, GPT-2's vocabulary, 32 positions) becomes a run folder that
// the Runs listing shows as a finished pretrained run, completion picks by default and
// generates from; a second use gets a fresh folder; a bad source and a cancel write nothing.
// (That a failure inside the export leaves no temporary folder: trainer/tests/test_pretrained.py.)
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/core/common/errors';
import { resolvePython } from '../../src/core/common/pythonEnv';
import { defaultModel } from '../../src/core/complete/defaultModel';
import { complete } from '../../src/core/complete/generate';
import { listRuns, stateText } from '../../src/core/run/runs';
import { PRETRAINED_MODELS, exportPretrained, pretrainedRunDir } from '../../src/core/train/pretrained';
import { tempDir } from './helpers';
import { skipWithoutTorch } from './trainerFixtures';

const python = resolvePython().path;

/** A random GPT-2 saved as a Hugging Face folder, like a downloaded one. */
function randomGpt2(dir: string): string {
  const script = [
    'import sys, torch',
    'from transformers import GPT2Config, GPT2LMHeadModel',
    'torch.manual_seed(0)',
    'GPT2LMHeadModel(GPT2Config(vocab_size=50257, n_positions=32, n_embd=16, n_layer=1, n_head=2)).save_pretrained(sys.argv[1])',
  ].join('\n');
  const made = spawnSync(python, ['-c', script, dir], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return dir;
}

test('the hub checkpoints come from schemas/gpt2.json with their parameter counts', () => {
  assert.deepEqual(
    PRETRAINED_MODELS.map((m) => [m.name, m.params]),
    // nanoGPT's counts with the position table: 124M, 350M, 774M, 1558M
    [
      ['gpt2', 124_439_808],
      ['gpt2-medium', 354_823_168],
      ['gpt2-large', 774_030_080],
      ['gpt2-xl', 1_557_611_200],
    ],
  );
});

test('a Hugging Face GPT-2 folder becomes a finished pretrained run that completion uses', { skip: skipWithoutTorch }, async () => {
  const root = tempDir();
  const source = randomGpt2(path.join(root, 'gpt2-tiny'));
  const runs = path.join(root, 'runs');
  const runDir = pretrainedRunDir(runs, source);
  assert.equal(runDir, path.join(runs, 'gpt2-tiny-pretrained'));

  assert.equal(await exportPretrained({ source, runDir }), runDir);
  assert.deepEqual(fs.readdirSync(runs), ['gpt2-tiny-pretrained']);
  for (const file of ['model.onnx', 'model.json']) assert.ok(fs.existsSync(path.join(runDir, file)), file);
  const listed = listRuns(runs);
  assert.equal(listed.length, 1);
  const [run] = listed;
  assert.deepEqual([run.state, run.pretrained, run.hasModel, run.bestValLoss, run.error], ['finished', source, true, null, null]);
  assert.equal(stateText(run), 'gpt2-tiny (pretrained)');
  assert.equal(defaultModel(listed).run?.dir, runDir);
  // a second use never overwrites the first
  assert.equal(pretrainedRunDir(runs, source), path.join(runs, 'gpt2-tiny-pretrained-2'));

  const summary = await complete(runDir, { prompt: 'To be, or not', maxTokens: 8, seed: 1 });
  assert.equal(summary.tokens, 8);
  assert.ok(summary.promptTokens > 0);
});

test('a source that is neither a GPT-2 name nor a folder is refused, naming --from', { skip: skipWithoutTorch }, async () => {
  const root = tempDir();
  const runDir = path.join(root, 'runs', 'gpt3-pretrained');
  await assert.rejects(exportPretrained({ source: path.join(root, 'gpt3'), runDir }), (err: Error) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /--from .* is neither gpt2, gpt2-medium, gpt2-large, gpt2-xl nor a folder/);
    return true;
  });
  assert.equal(fs.existsSync(runDir), false);
});

test('a cancelled export resolves with nothing written', { skip: skipWithoutTorch }, async () => {
  const root = tempDir();
  const runs = path.join(root, 'runs');
  const abort = new AbortController();
  const exporting = exportPretrained({ source: root, runDir: path.join(runs, 'gpt2-pretrained'), signal: abort.signal });
  abort.abort();
  assert.equal(await exporting, undefined);
  assert.equal(fs.existsSync(runs), false);
});
