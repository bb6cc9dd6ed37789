import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, presetNames } from '../../src/core/train/config';
import { defaultRunDir, runPaths } from '../../src/core/run/runDir';
import rules from '../cases/config-rules.json';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-config-'));
}

function write(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

function problems(fn: () => unknown): { key: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('every preset loads, valid, defaults filled', () => {
  assert.deepEqual(
    presetNames().filter((n) => ['gpt2-124m', 'gpt2-finetune', 'shakespeare-char', 'shakespeare-char-cpu'].includes(n))
      .length,
    4,
  );
  for (const name of presetNames()) {
    const { config } = loadConfig(name);
    assert.equal(config.model.n_embd % config.model.n_head, 0);
    assert.equal(config.distributed.backend, 'ddp');
    assert.equal(config.logging.wandb, false);
  }
  const { config, name } = loadConfig('nanogpt-shakespeare-char');
  assert.equal(name, 'nanogpt-shakespeare-char');
  assert.deepEqual(
    [config.model.n_layer, config.model.n_head, config.model.n_embd, config.model.block_size],
    [6, 6, 384, 256],
  );
  assert.equal(config.train.batch_size, 64);
  assert.deepEqual([config.model.position, config.optimizer.name], ['learned', 'adamw']);
  assert.deepEqual(
    [loadConfig('shakespeare-char-cpu').config.optimizer.name, loadConfig('shakespeare-char').config.model.position],
    ['muon', 'rope'],
  );
});

test('defaults come from the schema', () => {
  const dir = tmp();
  const { config, name } = loadConfig(write(dir, 'mine.wordplay.json', { model: { n_layer: 2 } }));
  assert.equal(name, 'mine');
  assert.equal(config.model.n_layer, 2);
  assert.equal(config.model.n_head, 6);
  assert.equal(config.optimizer.lr_decay_iters, null);
  assert.equal(config.train.init_from, 'scratch');
  assert.equal(config.data.dataset, path.join(dir, 'data', 'shakespeare-char'));
});

test('--set overrides are coerced by the schema types', () => {
  const cwd = tmp();
  const { config } = loadConfig(
    'shakespeare-char-cpu',
    [
      'train.max_iters=300',
      'optimizer.learning_rate=2e-3',
      'model.bias=true',
      'optimizer.lr_decay_iters=null',
      'data.dataset=d',
    ],
    cwd,
  );
  assert.equal(config.train.max_iters, 300);
  assert.equal(config.optimizer.learning_rate, 0.002);
  assert.equal(config.model.bias, true);
  assert.equal(config.optimizer.lr_decay_iters, null);
  assert.equal(config.data.dataset, path.join(cwd, 'd'));
});

test('data.dataset resolves against the config file folder, presets against the cwd', () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'sub'));
  const file = write(path.join(dir, 'sub'), 'c.json', { data: { dataset: '../data/x' } });
  assert.equal(loadConfig(file).config.data.dataset, path.join(dir, 'data', 'x'));
  assert.equal(
    loadConfig('shakespeare-char-cpu', [], dir).config.data.dataset,
    path.join(dir, 'data', 'shakespeare-char'),
  );
  const local = write(dir, 'ft.json', { train: { init_from: 'hf/gpt2-local' } });
  assert.equal(loadConfig(local).config.train.init_from, path.join(dir, 'hf', 'gpt2-local'));
});

test('all errors are listed at once, each naming its key', () => {
  const dir = tmp();
  const file = write(dir, 'bad.json', {
    model: { n_layers: 3, n_head: 0 },
    optimizer: { learning_rate: -1 },
    train: { dtype: 'float8' },
  });
  const keys = problems(() => loadConfig(file)).map((p) => p.key);
  for (const key of ['model.n_layers', 'model.n_head', 'optimizer.learning_rate', 'train.dtype'])
    assert.ok(keys.includes(key), keys.join());
  try {
    loadConfig(file);
  } catch (err) {
    assert.match((err as Error).message, /4 problems/);
    assert.match((err as Error).message, /model\.n_layers: unknown key/);
  }
});

test('semantic errors: n_embd % n_head, min_lr, accumulation vs processes', () => {
  const dir = tmp();
  const file = write(dir, 'c.json', {
    model: { n_embd: 30, n_head: 4 },
    optimizer: { learning_rate: 0.001, min_lr: 0.01 },
    distributed: { nproc_per_node: 2 },
    train: { gradient_accumulation_steps: 3 },
  });
  assert.deepEqual(
    problems(() => loadConfig(file)).map((p) => p.key),
    ['model.n_embd', 'optimizer.min_lr', 'train.gradient_accumulation_steps'],
  );
});

// test/cases/config-rules.json: the trainer's config.py must say exactly the same
for (const c of rules.cases) {
  test(`config rules case: ${c.name}`, () => {
    const dir = tmp();
    const file = write(dir, 'case.json', c.config);
    let got: string[][] = [];
    try {
      loadConfig(file, c.set, dir);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      got = err.problems.map((p) => [p.key, p.message]);
    }
    assert.deepEqual(got, c.problems);
  });
}

test('bad --set, unknown preset, malformed file', () => {
  assert.deepEqual(
    problems(() =>
      loadConfig('shakespeare-char-cpu', ['train.max_iters=many', 'model.width=3', 'oops', 'nope.x=1']),
    ).map((p) => p.key),
    ['train.max_iters', 'model.width', 'oops', 'nope.x'],
  );
  assert.match(problems(() => loadConfig('no-such-preset'))[0].message, /neither a config file nor a preset/);
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'x.json'), '{ nope');
  assert.match(problems(() => loadConfig(path.join(dir, 'x.json')))[0].message, /not valid JSON/);
});

test('run dir layout and default name', () => {
  const p = runPaths('/r/run1');
  assert.equal(p.events, '/r/run1/events.jsonl');
  assert.equal(p.checkpointState, '/r/run1/checkpoint/state.json');
  assert.equal(p.onnx, '/r/run1/model.onnx');
  assert.equal(p.modelJson, '/r/run1/model.json');
  const d = defaultRunDir('shakespeare-char-cpu', '/w/runs', new Date(2026, 0, 2, 3, 4, 5));
  assert.equal(d, '/w/runs/20260102-030405-shakespeare-char-cpu');
});
