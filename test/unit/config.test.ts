import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, presetNames } from '../../src/core/train/config';
import { defaultRunDir, runPaths } from '../../src/core/run/runDir';
import openModels from '../../schemas/open-models.json';
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

/** config.json of each model of schemas/open-models.json, where huggingface_hub would have
 *  downloaded it (the fine-tuning presets name them; a test has no network); returns the cache. */
function cacheOpenModels(): string {
  const hub = path.join(tmp(), 'hub');
  for (const [name, m] of Object.entries(openModels.models)) {
    const repo = path.join(hub, `models--${name.replace('/', '--')}`);
    fs.mkdirSync(path.join(repo, 'snapshots', 'test'), { recursive: true });
    fs.mkdirSync(path.join(repo, 'refs'));
    fs.writeFileSync(path.join(repo, 'refs', 'main'), 'test');
    write(path.join(repo, 'snapshots', 'test'), 'config.json', {
      model_type: m.class.replace(/ForCausalLM$/, '').toLowerCase(),
      architectures: [m.class],
      hidden_size: m.n_embd,
      intermediate_size: m.mlp_hidden,
      num_hidden_layers: m.n_layer,
      num_attention_heads: m.n_head,
      num_key_value_heads: m.n_kv_head,
      head_dim: m.head_dim,
      vocab_size: m.vocab_size,
      tie_word_embeddings: m.tie_embeddings,
      max_position_embeddings: 8192,
    });
  }
  return hub;
}

test('every preset loads, valid, defaults filled', () => {
  const wanted = ['gpt2-124m', 'gpt2-finetune', 'shakespeare-char', 'shakespeare-char-cpu'];
  wanted.push('smollm2-135m-finetune', 'qwen3-0.6b-lora');
  assert.deepEqual(presetNames().filter((n) => wanted.includes(n)).length, wanted.length);
  const saved = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = cacheOpenModels();
  try {
    for (const name of presetNames()) {
      const { config } = loadConfig(name);
      assert.equal(config.model.n_embd % config.model.n_head, 0);
      assert.equal(config.distributed.backend, 'ddp');
      assert.equal(config.logging.wandb, false);
    }
    const lora = loadConfig('qwen3-0.6b-lora').config;
    assert.deepEqual([lora.model.n_layer, lora.model.n_kv_head, lora.train.lora.rank], [28, 8, 16]);
  } finally {
    if (saved === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = saved;
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
  // a folder (its config.json is read for the shape); owner/name that is no folder is a hub name
  fs.mkdirSync(path.join(dir, 'hf', 'gpt2-local'), { recursive: true });
  write(path.join(dir, 'hf', 'gpt2-local'), 'config.json', {
    model_type: 'gpt2',
    n_layer: 2,
    n_head: 2,
    n_embd: 8,
    vocab_size: 50257,
  });
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
