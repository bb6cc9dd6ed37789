// The model Complete with wordplay uses when none was chosen, and what it says when there is
// none: a run that trains on with the model.onnx of an earlier stop is usable; a training run
// with no export yet is named, with Stop Training as the fix, not called "no trained model".
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { defaultModel } from '../../src/core/complete/defaultModel';
import { listRuns, type RunSummary } from '../../src/core/run/runs';
import { tempDir } from './helpers';

const run = (name: string, state: RunSummary['state'], hasModel: boolean): RunSummary => ({
  dir: `/w/runs/${name}`,
  name,
  state,
  iter: 10,
  maxIters: 100,
  etaSeconds: undefined,
  bestValLoss: null,
  bestValBpb: null,
  hasModel,
  updated: 0,
  pid: null,
  error: null,
  job: null,
  reachedTarget: null,
  pretrained: null,
});

test('the newest run with an exported model is the default, a training one included', () => {
  assert.equal(defaultModel([run('b', 'running', true), run('a', 'finished', true)]).run?.name, 'b');
  assert.equal(defaultModel([run('b', 'running', false), run('a', 'stopped', true)]).run?.name, 'a');
});

test('without one, the message says what is true and names the command that gives a model', () => {
  assert.deepEqual(defaultModel([]), {
    why: 'there is no trained model in this workspace yet: Train GPT trains one.',
    fix: 'Train GPT',
  });
  assert.deepEqual(defaultModel([run('r1', 'running', false)]), {
    why: 'the only run, r1, is still training and has no exported model yet; Stop Training exports one.',
    fix: 'Stop Training',
  });
  assert.deepEqual(defaultModel([run('r2', 'running', false), run('r1', 'running', false)]), {
    why: 'all 2 runs are still training and have no exported model yet; Stop Training exports one.',
    fix: 'Stop Training',
  });
  const mixed = defaultModel([run('r2', 'running', false), run('r1', 'failed', false)]);
  assert.equal(mixed.run ? undefined : mixed.fix, 'Stop Training');
  assert.match(
    mixed.run ? '' : mixed.why,
    /^no run has an exported model yet\. r2 is still training: Stop Training exports one/,
  );
  const ended = defaultModel([run('r1', 'failed', false)]);
  assert.equal(ended.run ? undefined : ended.fix, 'Export Model');
  assert.doesNotMatch(ended.run ? '' : ended.why, /no trained model/);
});

test('from run folders: a run training again keeps the model its stop exported', (t) => {
  const root = tempDir('wordplay-default-model-');
  const dir = path.join(root, 'r1');
  fs.mkdirSync(dir);
  // a live process whose command line names the trainer stands for the trainer
  const trainer = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', 'wordplay_trainer'], {
    stdio: 'ignore',
  });
  t.after(() => trainer.kill('SIGKILL'));
  const start = {
    type: 'start',
    time: 1,
    iter: 0,
    max_iters: 100,
    pid: trainer.pid,
    device: 'cpu',
    dtype: 'float32',
    n_params: 1,
    tokens_per_iter: 1,
  };
  fs.writeFileSync(path.join(dir, 'events.jsonl'), `${JSON.stringify(start)}\n`);
  const before = defaultModel(listRuns(root));
  assert.equal(before.run, undefined);
  assert.match(
    before.run ? '' : before.why,
    /the only run, r1, is still training and has no exported model yet; Stop Training exports one/,
  );
  fs.writeFileSync(path.join(dir, 'model.onnx'), '');
  assert.equal(defaultModel(listRuns(root)).run?.dir, dir);
});
