// Issue 4 points 2, 3 and 5: the generation engine on a tiny model exported by the trainer's
// Python during the test run: parity with PyTorch's logits, sampling, stop sequences, the
// sliding window, cancellation, the session cache and bad inputs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { UserError } from '../../src/core/common/errors';
import { complete, generate, promptTokens, type GenerateOptions } from '../../src/core/complete/generate';
import { clearModelCache, loadGenerationModel } from '../../src/core/complete/modelSession';
import { packageRoot } from '../../src/core/common/paths';
import { Rng, sampleToken } from '../../src/core/complete/sampling';
import { makeReferences, tempDir } from './helpers';

interface Reference {
  prompt: number[];
  steps: number[];
  logits: number[][];
}

const BLOCK = 64;
const dir = tempDir('wordplay-generate-'); // the model most tests use
const variantsDir = tempDir('wordplay-variants-');
const reexportDir = tempDir('wordplay-reexport-');
const gpt2Dir = tempDir('wordplay-gpt2-');
let ref: Reference;

const recipe = JSON.parse(
  fs.readFileSync(
    path.join(packageRoot, 'trainer', 'wordplay_trainer', 'presets', 'shakespeare-char-cpu.json'),
    'utf8',
  ),
);
const { n_layer: _l, n_head: _h, n_embd: _e, block_size: _b, dropout: _d, ...recipeOptions } = recipe.model;
/** Every architecture option, one at a time, and the default recipe's. */
const variants: Record<string, object> = {
  'default-recipe': recipeOptions,
  rope: { position: 'rope' },
  rmsnorm: { norm: 'rmsnorm' },
  'qk-norm': { qk_norm: true },
  relu2: { mlp: 'relu2' },
  swiglu: { mlp: 'swiglu', bias: true },
  untied: { tie_embeddings: false },
};

function copyModel(to: string, from = dir): string {
  fs.mkdirSync(to, { recursive: true });
  for (const f of ['model.onnx', 'model.json']) fs.copyFileSync(path.join(from, f), path.join(to, f));
  return to;
}

// every model of the file, made at once
before(() => {
  makeReferences(
    ['--out', dir, '--steps', '50', '--block-size', String(BLOCK)],
    [
      '--out',
      variantsDir,
      '--steps',
      '20',
      '--block-size',
      '32',
      ...Object.entries(variants).flatMap(([name, options]) => ['--variant', `${name}=${JSON.stringify(options)}`]),
    ],
    // another model (seed, block size) for the test of a new export
    ['--out', reexportDir, '--steps', '1', '--block-size', '32', '--seed', '5'],
    ['--out', gpt2Dir, '--steps', '5', '--block-size', '32', '--tokenizer', 'gpt2'],
  );
  ref = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8'));
});

const maxAbsDiff = (a: Float32Array, b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/** Feeds a reference's prompt, then its steps one token at a time: the largest logit difference. */
async function worstDifference(modelDir: string, r: Reference): Promise<number> {
  const model = await loadGenerationModel(modelDir);
  const kv = model.acquire();
  try {
    let worst = maxAbsDiff(await kv.feed(r.prompt), r.logits[0]);
    for (let i = 0; i < r.steps.length; i++)
      worst = Math.max(worst, maxAbsDiff(await kv.feed([r.steps[i]]), r.logits[i + 1]));
    return worst;
  } finally {
    model.release(kv);
  }
}

test('every architecture option, and the default recipe, completes within 1e-4 of PyTorch', async () => {
  for (const name of Object.keys(variants)) {
    const r: Reference = JSON.parse(fs.readFileSync(path.join(variantsDir, name, 'reference.json'), 'utf8'));
    const worst = await worstDifference(path.join(variantsDir, name), r);
    assert.ok(worst <= 1e-4, `${name}: max abs difference ${worst}`);
  }
  assert.equal(
    JSON.parse(fs.readFileSync(path.join(variantsDir, 'default-recipe', 'model.json'), 'utf8')).architecture.position,
    recipeOptions.position,
  );
});

test('onnxruntime-node logits equal PyTorch within 1e-4: prefill and 50 incremental steps', async () => {
  const model = await loadGenerationModel(dir);
  const kv = model.acquire();
  try {
    let worst = maxAbsDiff(await kv.feed(ref.prompt), ref.logits[0]);
    assert.equal(kv.length, ref.prompt.length);
    for (let i = 0; i < ref.steps.length; i++) {
      worst = Math.max(worst, maxAbsDiff(await kv.feed([ref.steps[i]]), ref.logits[i + 1]));
    }
    assert.equal(kv.length, ref.prompt.length + 50);
    assert.ok(worst <= 1e-4, `max abs difference ${worst}`);
  } finally {
    model.release(kv);
  }
});

const options = (o: Partial<GenerateOptions> = {}): GenerateOptions => ({
  prompt: 'to be or not',
  maxTokens: 40,
  temperature: 1,
  seed: 7,
  ...o,
});

test('the same seed and prompt give the same text; another seed another text', async () => {
  const a = await complete(dir, options());
  const b = await complete(dir, options());
  const c = await complete(dir, options({ seed: 8 }));
  assert.equal(a.tokens, 40);
  assert.equal(a.text, b.text);
  assert.notEqual(a.text, c.text);
  assert.equal(a.reason, 'length');
  // top-k 1 and temperature 0 are both greedy
  const greedy = await complete(dir, options({ temperature: 0 }));
  const topk1 = await complete(dir, options({ topK: 1, seed: 99 }));
  assert.equal(greedy.text, topk1.text);
  const nucleus = await complete(dir, options({ topP: 0.5, topK: 10 }));
  assert.equal(nucleus.tokens, 40);
});

test('streamed pieces add up to the text, and the prompt is not repeated', async () => {
  const pieces: string[] = [];
  const it = generate(dir, options());
  let r = await it.next();
  while (!r.done) {
    pieces.push(r.value);
    r = await it.next();
  }
  assert.equal(pieces.join(''), r.value.text);
  assert.ok(pieces.length > 1);
  assert.equal(r.value.text, (await complete(dir, options())).text);
});

test('a stop sequence ends the text before it', async () => {
  const full = await complete(dir, options({ maxTokens: 60 }));
  const stop = full.text.slice(20, 22);
  const cut = full.text.indexOf(stop);
  const pieces: string[] = [];
  const s = await complete(dir, {
    ...options({ maxTokens: 60, stop: ['@never@', stop] }),
    onPiece: (p) => pieces.push(p),
  });
  assert.equal(s.reason, 'stop');
  assert.equal(s.text, full.text.slice(0, cut));
  assert.equal(pieces.join(''), s.text);
  assert.ok(!pieces.join('').includes(stop));
});

test('past the block size the window slides and generation goes on', async () => {
  const s = await complete(dir, options({ maxTokens: 3 * BLOCK }));
  assert.equal(s.tokens, 3 * BLOCK);
  assert.ok(s.slides >= 3, `slid ${s.slides} times`);
  // without the cache (the baseline) the context is cropped to the block instead
  const baseline = await complete(dir, options({ maxTokens: BLOCK + 10, cache: false }));
  assert.equal(baseline.tokens, BLOCK + 10);
});

test('an AbortSignal cancels within one step', async () => {
  const abort = new AbortController();
  let pieces = 0;
  const s = await complete(dir, {
    ...options({ maxTokens: 10_000 }),
    signal: abort.signal,
    onPiece: () => {
      if (++pieces === 3) abort.abort();
    },
  });
  assert.equal(s.reason, 'aborted');
  assert.equal(s.tokens, 3);
  // an abort from elsewhere (a timer) fires while a step runs: no token is sampled after it
  const timed = new AbortController();
  let streamed = 0;
  let atAbort: number | undefined;
  setTimeout(() => {
    atAbort = streamed;
    timed.abort();
  }, 30);
  const t = await complete(dir, { ...options({ maxTokens: 10_000 }), signal: timed.signal, onPiece: () => streamed++ });
  assert.equal(t.reason, 'aborted');
  assert.equal(t.tokens, atAbort);
  assert.equal(streamed, atAbort, 'no piece after the abort');
});

test('prompt policy: unknown characters dropped with a warning, empty prompt, too long prompt', async () => {
  const model = await loadGenerationModel(dir);
  const vocab = (model.meta.tokenizer as { vocab: string[] }).vocab;
  const warnings: string[] = [];
  const ids = promptTokens(model, 'héllo™ world', (m) => warnings.push(m));
  assert.deepEqual(ids, model.tokenizer.encode('hllo world'));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /"é", "™"/);
  const s = await complete(dir, options({ prompt: 'ééé' }));
  assert.equal(s.tokens, 40);
  assert.equal(s.warnings.length, 1);
  // empty: start from a newline, which is not part of the output
  assert.deepEqual(
    promptTokens(model, '', () => assert.fail('no warning expected')),
    [vocab.indexOf('\n')],
  );
  assert.equal((await complete(dir, options({ prompt: '' }))).tokens, 40);
  // longer than the block: its end is kept
  const long = 'abcdefghij'.repeat(20);
  const w: string[] = [];
  const kept = promptTokens(model, long, (m) => w.push(m));
  assert.equal(kept.length, BLOCK);
  assert.deepEqual(kept, model.tokenizer.encode(long.slice(-BLOCK)));
  assert.match(w[0], /block size 64/);
  assert.equal((await complete(dir, options({ prompt: long, maxTokens: 5 }))).tokens, 5);
});

async function rejectsUserError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('bad options are UserErrors', async () => {
  await rejectsUserError(complete(dir, options({ maxTokens: 0 })), /--max-tokens/);
  await rejectsUserError(complete(dir, options({ maxTokens: -3 })), /--max-tokens/);
  await rejectsUserError(complete(dir, options({ temperature: -1 })), /--temperature/);
  await rejectsUserError(complete(dir, options({ topP: 0 })), /--top-p/);
  await rejectsUserError(complete(dir, options({ topK: 1.5 })), /--top-k/);
  await rejectsUserError(complete(dir, options({ stop: [''] })), /--stop/);
});

test('missing, corrupt or disagreeing model files are UserErrors naming the file', async () => {
  const root = tempDir('wordplay-badmodel-');
  await rejectsUserError(complete(path.join(root, 'nothing'), options()), /nothing does not exist/);
  const empty = path.join(root, 'empty-run');
  fs.mkdirSync(empty);
  await rejectsUserError(complete(empty, options()), /model\.onnx is missing/);

  const corrupt = copyModel(path.join(root, 'corrupt'));
  fs.writeFileSync(path.join(corrupt, 'model.onnx'), Buffer.from('this is not a model'));
  await rejectsUserError(complete(corrupt, options()), new RegExp(`${corrupt}/model\\.onnx could not be loaded`));

  const noJson = copyModel(path.join(root, 'nojson'));
  fs.rmSync(path.join(noJson, 'model.json'));
  await rejectsUserError(complete(noJson, options()), /model\.json is missing/);

  const badJson = copyModel(path.join(root, 'badjson'));
  fs.writeFileSync(path.join(badJson, 'model.json'), '{"format": "wordplay-model", ');
  await rejectsUserError(complete(badJson, options()), /model\.json is not valid JSON/);

  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const writeMeta = (name: string, change: (m: typeof meta) => void) => {
    const d = copyModel(path.join(root, name));
    const m = structuredClone(meta);
    change(m);
    fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(m));
    return d;
  };
  // a tokenizer of another size than the model's vocabulary
  const vocab = writeMeta('vocab', (m) => {
    m.tokenizer.vocab = m.tokenizer.vocab.slice(0, 10);
  });
  await rejectsUserError(complete(vocab, options()), /char tokenizer has 10 tokens but the model's vocab_size is/);
  // model.json and model.onnx disagree on the vocabulary
  const logits = writeMeta('logits', (m) => {
    m.vocab_size = m.architecture.vocab_size = m.vocab_size + 1;
    m.tokenizer.vocab.push('~');
  });
  await rejectsUserError(complete(logits, options()), /does not match .*model\.onnx: the model gives \d+ logits/);
  // ... or on the layers
  const layers = writeMeta('layers', (m) => {
    m.architecture.n_layer = m.kv_cache.n_layer = 3;
    const per = (names: string[]) => [0, 1, 2].flatMap((i) => names.map((n) => `${n}_${i}`));
    m.inputs = ['input_ids', 'position_ids', ...per(['past_key', 'past_value'])];
    m.outputs = ['logits', ...per(['present_key', 'present_value']), ...per(['new_key', 'new_value'])];
  });
  await rejectsUserError(complete(layers, options()), /model\.json does not match/);
  const tokenizer = writeMeta('tokenizer', (m) => {
    m.tokenizer = { type: 'bpe' };
  });
  await rejectsUserError(complete(tokenizer, options()), /not a wordplay tokenizer/);
});

test('one session per model file, loaded again when the file changes', async () => {
  const d = copyModel(path.join(tempDir('wordplay-cache-'), 'run'));
  const a = await loadGenerationModel(d);
  assert.equal(await loadGenerationModel(path.join(d, 'model.onnx')), a);
  const before = (await complete(a, options())).text;
  // a new export: another file (size and mtime) at the same path
  copyModel(d, reexportDir);
  const b = await loadGenerationModel(d);
  assert.notEqual(b, a);
  assert.equal(b.blockSize, 32);
  assert.notEqual((await complete(b, options())).text, before);
  clearModelCache();
});

test('wordplay complete streams the same text twice for a fixed seed, without the prompt', () => {
  const cli = path.join(packageRoot, 'src', 'cli.ts');
  const tsx = path.join(packageRoot, 'node_modules', '.bin', 'tsx');
  const run = (...args: string[]) =>
    spawnSync(tsx, [cli, 'complete', '--model', dir, ...args], { encoding: 'utf8', timeout: 120_000 });
  const args = ['--prompt', 'ROMEO:', '--max-tokens', '30', '--seed', '3', '--temperature', '0.9'];
  const a = run(...args);
  const b = run(...args);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  assert.ok(a.stdout.length > 0 && !a.stdout.startsWith('ROMEO:'));
  const bad = run('--prompt', 'x', '--max-tokens', '0');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--max-tokens must be a whole number of at least 1/);
  assert.ok(!bad.stderr.includes('    at '), 'no stack trace');
  const warned = run('--prompt', 'ROMEO™', '--max-tokens', '3', '--seed', '1');
  assert.equal(warned.status, 0);
  assert.match(warned.stderr, /warning: .*"™".*dropped/);
});

test('a GPT-2 BPE model: parity, generation, and an empty prompt starting from <|endoftext|>', async () => {
  const gref: Reference = JSON.parse(fs.readFileSync(path.join(gpt2Dir, 'reference.json'), 'utf8'));
  const model = await loadGenerationModel(gpt2Dir);
  assert.equal(model.vocabSize, 50257);
  const kv = model.acquire();
  try {
    let worst = maxAbsDiff(await kv.feed(gref.prompt), gref.logits[0]);
    for (let i = 0; i < gref.steps.length; i++)
      worst = Math.max(worst, maxAbsDiff(await kv.feed([gref.steps[i]]), gref.logits[i + 1]));
    assert.ok(worst <= 1e-4, `max abs difference ${worst}`);
  } finally {
    model.release(kv);
  }
  assert.deepEqual(
    promptTokens(model, '', () => undefined),
    [50256],
  );
  const a = await complete(gpt2Dir, { prompt: 'Hello, wörld', maxTokens: 20, seed: 1, topK: 50 });
  const b = await complete(gpt2Dir, { prompt: 'Hello, wörld', maxTokens: 20, seed: 1, topK: 50 });
  assert.equal(a.tokens, 20);
  assert.equal(a.text, b.text);
  assert.equal(a.warnings.length, 0);
  assert.equal((await complete(gpt2Dir, { prompt: '', maxTokens: 3, seed: 1 })).tokens, 3);
});

test('sampling: seeded, greedy at temperature 0, top-k and top-p keep only the likeliest', () => {
  const logits = Float32Array.from([0, 5, 1, 4.5, -2]);
  const draw = (o: Partial<{ temperature: number; topK: number; topP: number }>, seed = 1, n = 300) => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => sampleToken(logits, { temperature: 1, topK: 0, topP: 1, ...o }, rng));
  };
  assert.deepEqual(draw({}, 5), draw({}, 5));
  assert.notDeepEqual(draw({}, 5), draw({}, 6));
  assert.ok(draw({ temperature: 0 }).every((id) => id === 1));
  assert.deepEqual(new Set(draw({ topK: 2 })), new Set([1, 3]));
  // p(1) = 0.60, p(3) = 0.37: top-p 0.5 keeps token 1 alone, 0.9 keeps both
  assert.ok(draw({ topP: 0.5 }).every((id) => id === 1));
  assert.deepEqual(new Set(draw({ topP: 0.9 })), new Set([1, 3]));
  assert.ok(new Set(draw({ temperature: 5 })).size >= 4);
  const u = new Rng(123);
  for (let i = 0; i < 1000; i++) {
    const x = u.next();
    assert.ok(x >= 0 && x < 1);
  }
});
