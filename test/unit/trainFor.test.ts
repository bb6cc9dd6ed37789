// `wordplay train --dataset <dir> --minutes N` (core/train/trainFor.ts, src/cli/runOptions.ts): the
// minutes refused before anything runs unless a positive number, the plan's wording, its config
// validated with --set applied; and through the trainer's real size command, a budget too short
// refused with the shortest that works, and a short one planned, printed and trained within it.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { readEvents } from '../../src/core/run/events';
import { runPaths } from '../../src/core/run/runDir';
import { ConfigError } from '../../src/core/train/config';
import { UserError } from '../../src/core/common/errors';
import {
  budgetLeft,
  minutesProblem,
  parseMinutes,
  planConfig,
  planLines,
  planSummary,
  trainForName,
  TRAINER_START_S,
  type TrainForPlan,
} from '../../src/core/train/trainFor';
import { SHAKESPEARE, tempDir } from './helpers';

const cli = path.join(packageRoot, 'dist', 'cli.js');
const wordplay = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: tempDir() });

const PLAN: TrainForPlan = {
  config: {
    data: { dataset: '/data/shakespeare-char' },
    model: { n_layer: 4, n_head: 4, n_embd: 128, block_size: 64 },
    train: { batch_size: 16, max_iters: 3600, time_budget_s: 300 },
  },
  dataset: '/data/shakespeare-char',
  tokenizer: 'char',
  device: 'cpu',
  machine: 'cpu | 2 threads | torch 2.11.0',
  budget_s: 300,
  shape: { n_layer: 4, n_head: 4, n_embd: 128, block_size: 64 },
  params: 780_288,
  params_total: 788_608,
  batch_size: 16,
  gradient_accumulation_steps: 1,
  tokens_per_step: 1024,
  tokens_per_s: 4321.5,
  train_s: 280.2,
  steps: 1182,
  tokens: 1_210_368,
  epochs: 1.206,
  expected_val_loss: 1.5512,
  calibration_s: 0,
  cached_shapes: 5,
};

test('minutes: a positive number, fractions too; anything else is refused naming --minutes', () => {
  assert.equal(parseMinutes('5'), 5);
  assert.equal(parseMinutes('0.25'), 0.25);
  for (const bad of ['0', '-1', 'abc', '', ' ', 'Infinity', 'NaN', '1e999']) {
    assert.ok(minutesProblem(bad), bad);
    assert.throws(() => parseMinutes(bad), /^UserError: --minutes must be a positive number of minutes/, bad);
  }
  assert.throws(() => parseMinutes(undefined), /--minutes is required with --dataset/);
});

test('the plan in words, and the name of its run', () => {
  assert.equal(
    planSummary(PLAN),
    'Train 4×128 (780.3 k parameters) for 5 min, ≈1.21 M tokens, expected val loss ≈1.55',
  );
  const lines = planLines(PLAN).join('\n');
  assert.match(lines, /^plan for 5 min on cpu \(cpu \| 2 threads \| torch 2\.11\.0\):/);
  assert.match(lines, /model {6}4 layers × 128 wide, 4 heads, block 64: 780\.3 k parameters in the blocks/);
  assert.match(lines, /batch {6}16 sequences of 64 tokens \(1,024 tokens a step\)/);
  assert.match(
    lines,
    /tokens {5}≈1\.21 M in ≈1,182 steps \(1\.21 epochs\) at 4,322 tokens\/s, from the calibration cache/,
  );
  assert.match(lines, /val loss {3}≈1\.55 expected/);
  assert.match(lines, /budget {5}300 s \(train\.time_budget_s\)/);
  assert.doesNotMatch(lines, /exports/, 'a plan without U-net skips exports everywhere');
  const skips = { ...PLAN, config: { ...PLAN.config, model: { ...PLAN.shape, skip_connections: true } } };
  assert.match(
    planLines(skips).join('\n'),
    /exports {4}ONNX export only: its U-net skips \(model\.skip_connections\) have no Hugging Face or GGUF class; .* \(--set model\.skip_connections=false\)/,
  );
  assert.equal(trainForName('/data/shakespeare-char/', 0.25), 'shakespeare-char-0.25min');
  assert.equal(trainForName('my data', 5), 'my-data-5min');
});

test("the plan's config: --set applied after it, validated, every default filled", () => {
  const config = planConfig(PLAN, ['train.device=cpu']);
  assert.equal(config.train.device, 'cpu');
  assert.equal(config.train.time_budget_s, 300);
  assert.equal(config.optimizer.beta1, 0.9, 'a default filled');
  assert.throws(
    () => planConfig(PLAN, ['model.n_head=3']),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /model\.n_embd: 128 is not divisible by model\.n_head 3/);
      return true;
    },
  );
  assert.equal((PLAN.config.train as { device?: string }).device, undefined, 'the plan is left as it was');
  assert.equal(planConfig(PLAN, [], 291.5).train.time_budget_s, 291.5, 'the budget left after sizing');
  assert.equal(planConfig(PLAN, ['train.time_budget_s=100'], 291.5).train.time_budget_s, 100, 'unless --set says');
});

test("--minutes count from the command: what sizing took and the trainer's start come off them", () => {
  assert.ok(Math.abs(budgetLeft(5, 12.34) - (300 - 12.34 - TRAINER_START_S)) <= 0.05);
  assert.throws(
    () => budgetLeft(0.1, 4),
    (err: unknown) => err instanceof UserError && /--minutes 0\.1/.test(err.message),
  );
});

test('wordplay train --minutes that is not a positive number is refused before anything runs', () => {
  for (const minutes of ['0', '-2', 'soon']) {
    // a value starting with a dash goes as --minutes=-2 (node's parseArgs takes -2 for an option)
    const result = wordplay(['train', '--dataset', 'nowhere', `--minutes=${minutes}`]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^wordplay: --minutes must be a positive number of minutes \\(0\\.5 is 30 seconds\\), got "${minutes}"`,
      ),
    );
  }
  const both = wordplay(['train', '--config', 'shakespeare-char-cpu', '--dataset', 'x', '--minutes', '1']);
  assert.match(both.stderr, /--config and --dataset\/--minutes are two ways to train: give one/);
  const noDataset = wordplay(['train', '--minutes', '1']);
  assert.match(noDataset.stderr, /--dataset is required with --minutes/);
});

/** Tiny Shakespeare, char, prepared by the CLI. */
function dataset(): string {
  const out = path.join(tempDir(), 'shakespeare-char');
  const prepared = wordplay(['prepare', '--input', SHAKESPEARE, '--tokenizer', 'char', '--out', out]);
  assert.equal(prepared.status, 0, prepared.stderr);
  return out;
}

// the calibration cache both tests below share: the first measures the smallest shape into it
const cache = tempDir();

test('too short a budget is refused with the shortest that works, and nothing is trained', () => {
  const runDir = path.join(tempDir(), 'run');
  const result = wordplay(['train', '--dataset', dataset(), '--minutes', '0.001', '--run-dir', runDir], {
    WORDPLAY_CACHE_DIR: cache,
  });
  assert.equal(result.status, 1, result.stderr);
  assert.match(
    result.stderr,
    /wordplay: 0\.001 minutes is too short to train anything on .*shakespeare-char here: the smallest model \(1x32, [\d,]+ parameters\) needs about [\d.]+ s \([\d.]+ minutes\)/,
  );
  assert.equal(fs.existsSync(runDir), false);
  assert.ok(fs.existsSync(path.join(cache, 'calibration.json')), 'what was measured is kept');
});

test('wordplay train --dataset --minutes prints the plan, then trains it within its budget', () => {
  // what the test above measured, as an idle machine measures it: a busy one (other tests beside
  // this one) can be too slow for 0.2 minutes, which the test above checks is refused
  const file = path.join(cache, 'calibration.json');
  const kept = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const shapes of Object.values<Record<string, number>>(kept.machines))
    for (const shape of Object.keys(shapes)) shapes[shape] = 30_000;
  fs.writeFileSync(file, JSON.stringify(kept));
  const runDir = path.join(tempDir(), 'run');
  const result = wordplay(
    ['train', '--dataset', dataset(), '--minutes', '0.4', '--run-dir', runDir, '--set', 'train.sample_tokens=0'],
    { WORDPLAY_CACHE_DIR: cache, WORDPLAY_SKIP_EXPORT: '1' },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /plan for 0\.4 min on cpu/);
  assert.match(result.stderr, /model {6}\d+ layers × \d+ wide/);
  assert.match(result.stderr, /val loss {3}≈\d\.\d\d expected/);
  const config = JSON.parse(fs.readFileSync(runPaths(runDir).config, 'utf8'));
  // 0.4 minutes from the command's start: sizing and the trainer's start come off them
  assert.ok(config.train.time_budget_s > 0 && config.train.time_budget_s <= 24 - TRAINER_START_S, result.stderr);
  assert.equal(config.train.sample_tokens, 0, '--set applies after the plan');
  const done = readEvents(runPaths(runDir).events).find((e) => e.type === 'done');
  assert.equal(done?.reason, 'finished');
  assert.ok((done.iter ?? Infinity) < config.train.max_iters, 'the budget ended it, not max_iters');
});
