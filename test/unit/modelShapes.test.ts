// Issue 29: completion with the shapes Llama / Qwen weights bring, on tiny models exported by the
// trainer's Python during the test: grouped-query attention (a KV cache of the key/value heads
// only), a head size of its own, q/k/v biases, another rotary base and norm epsilon, qk-norm.
// Parity with PyTorch through the cache, a completion that slides its window, Model Surprise, an
// older model.json (no n_kv_head, no head_dim) that still loads, and model.json files whose shapes
// disagree refused by name; and a Qwen3 folder made by transformers, read into our GPT and
// exported with its own tokenizer, completing within 1e-4 of transformers' logits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { UserError } from '../../src/core/common/errors';
import { packageRoot } from '../../src/core/common/paths';
import { trainerInvocation } from '../../src/core/common/pythonEnv';
import { complete } from '../../src/core/complete/generate';
import { readModelMeta } from '../../src/core/complete/modelFiles';
import { loadGenerationModel } from '../../src/core/complete/modelSession';
import { scoreText, tokenSpans } from '../../src/core/complete/surprise';
import { makeReferences, tempDir } from './helpers';
import { skipWithoutTorch } from './trainerFixtures';

interface Reference {
  prompt: number[];
  steps: number[];
  logits: number[][];
}

// make_reference.py's tiny model: n_embd 32, 2 query heads (head size 16 by GPT-2's rule)
const variants = {
  gqa: {
    position: 'rope',
    norm: 'rmsnorm',
    mlp: 'swiglu',
    n_kv_head: 1,
    head_dim: 8,
    attn_bias: true,
    rope_base: 500000,
    norm_eps: 1e-6,
  },
  'qwen3-shape': { position: 'rope', norm: 'rmsnorm', mlp: 'swiglu', qk_norm: true, n_kv_head: 1, head_dim: 24 },
  plain: {},
};
const BLOCK = 48;
const dir = tempDir('wordplay-shapes-');
const model = (name: keyof typeof variants) => path.join(dir, name);

// A tiny random Qwen3 folder (GQA, head_dim 24 of 64 / 4 heads, its own byte-level BPE) written by
// transformers (trainer/tests/hf_models.py), read into our GPT (train/hf_weights.py) and exported
// with the folder's tokenizer; transformers' own logits after a prompt and after 20 single steps.
const OPEN_MODEL = `
import json, sys, torch
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from hf_models import END_OF_TEXT, write_model
from tokenizers import Tokenizer
from wordplay_trainer.export.onnx_model import export_model
from wordplay_trainer.train.hf_weights import load_pretrained
out = Path(sys.argv[2])
folder, hf = write_model("qwen3", out / "hf")
tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
spec = {"type": "hf", "source": str(folder), "end_of_text": tokenizer.token_to_id(END_OF_TEXT),
        "json": json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))}
export_model(load_pretrained(str(folder)), out, spec, log=lambda _m: None)
ids = tokenizer.encode("First Citizen:\\nBefore we proceed any further, hear me speak.").ids[:28]
with torch.no_grad():
    logits = hf(torch.tensor([ids])).logits[0]
ref = {"prompt": ids[:8], "steps": ids[8:], "logits": logits[7:].tolist()}
(out / "reference.json").write_text(json.dumps(ref))
`;
const openModel = path.join(dir, 'qwen3-folder');

before(() => {
  if (skipWithoutTorch) return;
  makeReferences([
    ...['--out', dir, '--steps', '30', '--block-size', String(BLOCK)],
    ...Object.entries(variants).flatMap(([name, options]) => ['--variant', `${name}=${JSON.stringify(options)}`]),
  ]);
  const inv = trainerInvocation([]);
  const made = spawnSync(inv.command, ['-c', OPEN_MODEL, path.join(packageRoot, 'trainer', 'tests'), openModel], {
    env: { ...inv.env, OMP_NUM_THREADS: '1' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(made.status, 0, `the Qwen3 folder's export failed:\n${made.stderr}`);
});

/** Feeds a model's reference.json prompt, then its steps one at a time: the largest logit difference. */
async function worstDifference(modelDir: string): Promise<number> {
  const r: Reference = JSON.parse(fs.readFileSync(path.join(modelDir, 'reference.json'), 'utf8'));
  const loaded = await loadGenerationModel(modelDir);
  const kv = loaded.acquire();
  const diff = (got: Float32Array, want: number[]) => got.reduce((m, x, i) => Math.max(m, Math.abs(x - want[i])), 0);
  try {
    let worst = diff(await kv.feed(r.prompt), r.logits[0]);
    for (let i = 0; i < r.steps.length; i++)
      worst = Math.max(worst, diff(await kv.feed([r.steps[i]]), r.logits[i + 1]));
    return worst;
  } finally {
    loaded.release(kv);
  }
}

test(
  'grouped-query models complete within 1e-4 of PyTorch, the cache holding the key/value heads',
  { skip: skipWithoutTorch },
  async (t) => {
    for (const name of ['gqa', 'qwen3-shape'] as const) {
      const loaded = await loadGenerationModel(model(name));
      const { n_kv_head, head_dim, width } = loaded.meta.kv_cache;
      assert.equal(n_kv_head, 1);
      assert.equal(head_dim, variants[name].head_dim);
      assert.equal(width, head_dim, `${name}: one key/value head wide, not n_embd`);
      const worst = await worstDifference(model(name));
      assert.ok(worst <= 1e-4, `${name}: max abs difference ${worst}`);
      t.diagnostic(`${name}: max abs logit difference from PyTorch ${worst.toExponential(2)}`);
    }
  },
);

test(
  'a Qwen3 folder read into our GPT completes with its own tokenizer, within 1e-4 of transformers',
  { skip: skipWithoutTorch },
  async (t) => {
    const worst = await worstDifference(openModel);
    assert.ok(worst <= 1e-4, `max abs difference from transformers ${worst}`);
    t.diagnostic(`Qwen3 folder: max abs logit difference from transformers ${worst.toExponential(2)}`);
    const loaded = await loadGenerationModel(openModel);
    assert.equal(loaded.meta.tokenizer.type, 'hf');
    assert.equal(loaded.meta.kv_cache.width, 2 * 24);
    const done = await complete(loaded, { prompt: 'First Citizen:', maxTokens: 20, seed: 1, temperature: 0 });
    assert.equal(done.tokens, 20);
    assert.equal(done.warnings.length, 0);
  },
);

test(
  'a grouped-query completion past block_size slides its window and equals the uncached one',
  { skip: skipWithoutTorch },
  async () => {
    const options = { prompt: 'ROMEO:', maxTokens: 70, seed: 4, temperature: 0 };
    const cached = await complete(model('gqa'), options);
    assert.equal(cached.tokens, 70);
    assert.ok(cached.slides >= 1, 'the window slid');
    // greedy: the cached decode picks what recomputing the whole context picks
    assert.equal((await complete(model('gqa'), { ...options, cache: false })).text, cached.text);
  },
);

test(
  'Model Surprise scores a grouped-query model as its cached decode predicts each token',
  { skip: skipWithoutTorch },
  async () => {
    const loaded = await loadGenerationModel(model('qwen3-shape'));
    const text = 'First Citizen:\nBefore we proceed, hear me.';
    const scored = await scoreText(loaded, text);
    const { ids } = tokenSpans(loaded.tokenizer, text);
    assert.ok(ids.length < BLOCK && scored.tokens.length === ids.length - 1);
    const kv = loaded.acquire();
    try {
      let logits = await kv.feed([ids[0]]);
      for (let t = 1; t < ids.length; t++) {
        const max = logits.reduce((m, x) => Math.max(m, x), -Infinity);
        const logSum = Math.log(logits.reduce((sum, x) => sum + Math.exp(x - max), 0)) + max;
        const loss = logSum - logits[ids[t]];
        assert.ok(
          Math.abs(scored.tokens[t - 1].loss - loss) <= 1e-4,
          `token ${t}: ${scored.tokens[t - 1].loss} vs ${loss}`,
        );
        if (t < ids.length - 1) logits = await kv.feed([ids[t]]);
      }
    } finally {
      loaded.release(kv);
    }
  },
);

test(
  'a model.json from before n_kv_head and head_dim loads as n_head heads of n_embd / n_head',
  { skip: skipWithoutTorch },
  async () => {
    const old = path.join(tempDir('wordplay-old-shape-'), 'run');
    fs.mkdirSync(old);
    fs.copyFileSync(path.join(model('plain'), 'model.onnx'), path.join(old, 'model.onnx'));
    const meta = JSON.parse(fs.readFileSync(path.join(model('plain'), 'model.json'), 'utf8'));
    for (const key of ['n_kv_head', 'head_dim', 'mlp_hidden', 'rope_base', 'norm_eps', 'attn_bias'])
      delete meta.architecture[key];
    delete meta.kv_cache.n_kv_head;
    fs.writeFileSync(path.join(old, 'model.json'), JSON.stringify(meta));
    const read = readModelMeta(path.join(old, 'model.json'));
    assert.deepEqual(
      [read.kv_cache.n_head, read.kv_cache.n_kv_head, read.kv_cache.head_dim, read.kv_cache.width],
      [2, 2, 16, 32],
    );
    const options = { prompt: 'to be', maxTokens: 12, seed: 2 };
    assert.equal((await complete(old, options)).text, (await complete(model('plain'), options)).text);
  },
);

test('model.json shapes that disagree are refused, naming the key', { skip: skipWithoutTorch }, () => {
  const meta = JSON.parse(fs.readFileSync(path.join(model('gqa'), 'model.json'), 'utf8'));
  const root = tempDir('wordplay-bad-shape-');
  const refused = (name: string, change: (m: typeof meta) => void, pattern: RegExp) => {
    const m = structuredClone(meta);
    change(m);
    const file = path.join(root, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(m));
    assert.throws(
      () => readModelMeta(file),
      (err: unknown) => err instanceof UserError && pattern.test(err.message) && err.message.includes(file),
      name,
    );
  };
  // a cache sized for every query head, as if there were no grouped-query attention
  refused('width', (m) => (m.kv_cache.width = 32), /"kv_cache" width is 32 but "architecture" makes it 8/);
  refused('kv-heads', (m) => (m.kv_cache.n_kv_head = 2), /"kv_cache" n_kv_head is 2 but "architecture" makes it 1/);
  refused('head-dim', (m) => (m.architecture.head_dim = 16), /"kv_cache" head_dim is 8 but "architecture" makes it 16/);
  refused(
    'divides',
    (m) => (m.architecture.n_kv_head = 3),
    /n_kv_head 3 should be a whole number that divides n_head 2/,
  );
  refused('fraction', (m) => (m.architecture.head_dim = 7.5), /head_dim 7.5 should be a whole number/);
});
