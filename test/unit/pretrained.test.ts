// Use a Pretrained Model for Completion's core against the real trainer: a GPT-2 folder made here
// with transformers (random weights, GPT-2's vocabulary, 32 positions) becomes a run folder that
// the Runs listing shows as a finished pretrained run, completion picks by default and
// generates from; a second use gets a fresh folder; a bad source writes nothing, and neither does
// an export cancelled while it writes (the trainer is paused there, so the cancel always lands
// before the export ends), when the same export not cancelled writes its run.
// (That a failure inside the export leaves no temporary folder: trainer/tests/test_pretrained.py.)
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/core/common/errors';
import { signalProcess } from '../../src/core/common/processes';
import { resolvePython } from '../../src/core/common/pythonEnv';
import { defaultModel } from '../../src/core/complete/defaultModel';
import { complete } from '../../src/core/complete/generate';
import { listRuns, stateText } from '../../src/core/run/runs';
import {
  PRETRAINED_MODELS,
  describePretrained,
  exportPretrained,
  pretrainedRunDir,
} from '../../src/core/train/pretrained';
import { tempDir } from './helpers';
import { skipWithoutTorch } from './trainerFixtures';

const python = resolvePython().path;

// made here, not in a test: a folder made there would go when that test ends
const shared = tempDir();

/** A random GPT-2 saved as a Hugging Face folder, like a downloaded one: gpt2-tiny, made once
 *  for the file's tests. */
function randomGpt2(): string {
  const dir = path.join(shared, 'gpt2-tiny');
  if (fs.existsSync(dir)) return dir;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `exporting`, the export into `runDir`, to make its temporary folder beside it
 *  (named after the trainer's pid) and pauses the trainer there with SIGSTOP; its pid, or
 *  undefined when the export ended before the pause. */
async function pauseWhileWriting(runDir: string, exporting: Promise<unknown>): Promise<number | undefined> {
  const runs = path.dirname(runDir);
  const prefix = `.${path.basename(runDir)}.tmp-`;
  let ended = false;
  const end = () => (ended = true);
  void exporting.then(end, end);
  while (!ended) {
    const tmp = fs.existsSync(runs) ? fs.readdirSync(runs).find((name) => name.startsWith(prefix)) : undefined;
    if (tmp) {
      const pid = Number(tmp.slice(prefix.length));
      // paused before it renamed the folder into place, or just after (or it had ended)
      if (signalProcess(pid, 'SIGSTOP', false)) {
        if (fs.existsSync(path.join(runs, tmp))) return pid;
        signalProcess(pid, 'SIGCONT', false);
      }
    }
    await sleep(5);
  }
  return undefined;
}

/** Exports `source` into runs/cancelled-<attempt>, paused while it writes (an export whose pause
 *  came too late, once it had ended, is removed and tried again). */
async function exportPausedWhileWriting(source: string, runs: string) {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const runDir = path.join(runs, `cancelled-${attempt}`);
    const abort = new AbortController();
    const exporting = exportPretrained({ source, runDir, signal: abort.signal });
    const pid = await pauseWhileWriting(runDir, exporting);
    if (pid !== undefined) return { exporting, abort, pid, attempt };
    assert.equal(await exporting, runDir);
    fs.rmSync(runDir, { recursive: true });
  }
  throw new Error('no export was caught while it wrote');
}

test('the hub checkpoints come from schemas/gpt2.json with their parameter counts', () => {
  assert.deepEqual(
    PRETRAINED_MODELS.filter((m) => m.class === 'GPT2LMHeadModel').map((m) => [m.name, m.params]),
    // nanoGPT's counts with the position table: 124M, 350M, 774M, 1558M
    [
      ['gpt2', 124_439_808],
      ['gpt2-medium', 354_823_168],
      ['gpt2-large', 774_030_080],
      ['gpt2-xl', 1_557_611_200],
    ],
  );
});

test('the picker lists the open models of schemas/open-models.json after GPT-2, each family smallest first', () => {
  const open = PRETRAINED_MODELS.filter((m) => m.class !== 'GPT2LMHeadModel');
  assert.ok(open.some((m) => m.name === 'HuggingFaceTB/SmolLM2-135M' && m.class === 'LlamaForCausalLM'));
  assert.ok(open.some((m) => m.name === 'Qwen/Qwen3-0.6B' && m.class === 'Qwen3ForCausalLM'));
  for (const family of new Set(open.map((m) => m.class))) {
    const sizes = open.filter((m) => m.class === family).map((m) => m.params);
    assert.deepEqual(
      sizes,
      [...sizes].sort((a, b) => a - b),
      family,
    );
  }
  assert.match(describePretrained(open[0]), /^134\.52 M parameters · 30 layers · 576 wide · LlamaForCausalLM$/);
});

test(
  'a Hugging Face GPT-2 folder becomes a finished pretrained run that completion uses',
  { skip: skipWithoutTorch },
  async () => {
    const source = randomGpt2();
    const runs = path.join(tempDir(), 'runs');
    const runDir = pretrainedRunDir(runs, source);
    assert.equal(runDir, path.join(runs, 'gpt2-tiny-pretrained'));

    assert.equal(await exportPretrained({ source, runDir }), runDir);
    assert.deepEqual(fs.readdirSync(runs), ['gpt2-tiny-pretrained']);
    for (const file of ['model.onnx', 'model.json']) assert.ok(fs.existsSync(path.join(runDir, file)), file);
    const listed = listRuns(runs);
    assert.equal(listed.length, 1);
    const [run] = listed;
    assert.deepEqual(
      [run.state, run.pretrained, run.hasModel, run.bestValLoss, run.error],
      ['finished', source, true, null, null],
    );
    assert.equal(stateText(run), 'gpt2-tiny (pretrained)');
    assert.equal(defaultModel(listed).run?.dir, runDir);
    // a second use never overwrites the first
    assert.equal(pretrainedRunDir(runs, source), path.join(runs, 'gpt2-tiny-pretrained-2'));

    const summary = await complete(runDir, { prompt: 'To be, or not', maxTokens: 8, seed: 1 });
    assert.equal(summary.tokens, 8);
    assert.ok(summary.promptTokens > 0);
  },
);

test(
  'a source that is neither a GPT-2 name nor a folder is refused, naming --from',
  { skip: skipWithoutTorch },
  async () => {
    const root = tempDir();
    const runDir = path.join(root, 'runs', 'gpt3-pretrained');
    await assert.rejects(exportPretrained({ source: path.join(root, 'gpt3'), runDir }), (err: Error) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /--from .* is neither gpt2, gpt2-medium, gpt2-large, gpt2-xl nor a folder/);
      return true;
    });
    assert.equal(fs.existsSync(runDir), false);
  },
);

test(
  'an export cancelled while it writes resolves with nothing written; not cancelled, it writes its run',
  { skip: skipWithoutTorch, timeout: 300_000 },
  async (t) => {
    const source = randomGpt2();
    const runs = path.join(tempDir(), 'runs');
    const { exporting, abort, pid, attempt } = await exportPausedWhileWriting(source, runs);
    t.diagnostic(`paused the export while it wrote, attempt ${attempt}`);
    abort.abort(); // its SIGINT waits until the trainer goes on
    process.kill(pid, 'SIGCONT');
    assert.equal(await exporting, undefined);
    assert.deepEqual(fs.readdirSync(runs), [], 'neither the run nor its temporary folder is left');

    const runDir = path.join(runs, 'kept');
    assert.equal(await exportPretrained({ source, runDir, signal: new AbortController().signal }), runDir);
    assert.deepEqual(fs.readdirSync(runs), ['kept']);
    for (const file of ['model.onnx', 'model.json']) assert.ok(fs.existsSync(path.join(runDir, file)), file);
  },
);
