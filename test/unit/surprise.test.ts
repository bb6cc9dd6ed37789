// Issue 19 (Model Surprise): the per-token scoring of src/core/complete/surprise.ts on tiny
// models exported by the trainer's Python during the test run, against PyTorch's per-token
// cross-entropy over the same windows (within 1e-4), for a char model with rotary positions and
// a GPT-2 BPE model on text with multi-byte characters; the sliding-window plan; old exports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { UserError } from '../../src/core/common/errors';
import { GenerationModel, loadGenerationModel } from '../../src/core/complete/modelSession';
import { readModelMeta } from '../../src/core/complete/modelFiles';
import { CharTokenizer } from '../../src/core/prepare/tokenizer';
import { packageRoot } from '../../src/core/common/paths';
import { trainerInvocation } from '../../src/core/common/pythonEnv';
import { scoreText, slidingWindows, tokenSpans, TOP_K } from '../../src/core/complete/surprise';
import { makeReferences, SHAKESPEARE, tempDir } from './helpers';
import { skipWithoutTorch } from './trainerFixtures';

const BLOCK = 32;
const shakespeare = () => fs.readFileSync(SHAKESPEARE, 'utf8');

function python(args: string[]): string {
  const inv = trainerInvocation([]);
  const r = spawnSync(inv.command, args, {
    env: { ...inv.env, OMP_NUM_THREADS: '1' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `python ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

// PyTorch's per-token loss and top 5 for the windows the scorer used: the model is rebuilt
// exactly as make_reference.py built the exported one (same seed and options).
const REFERENCE = `
import json, sys, torch
sys.path.insert(0, sys.argv[1])
from make_reference import tiny_model
job = json.load(open(sys.argv[2]))
model = tiny_model(vocab_size=job["vocab_size"], block_size=job["block"], seed=0, **job["options"])
out = {}
with torch.no_grad():
    for w in job["windows"]:
        x = torch.tensor([job["ids"][w["start"] : w["start"] + job["length"]]])
        logits = model(x, x)[0][0, :, : job["vocab_size"]]
        losses = torch.nn.functional.cross_entropy(logits[:-1], x[0, 1:], reduction="none")
        top = logits[:-1].topk(${TOP_K}, dim=-1).indices
        for t in range(w["from"], w["start"] + job["length"]):
            i = t - 1 - w["start"]
            out[t] = {"loss": losses[i].item(), "top": top[i].tolist()}
print(json.dumps(out))
`;

// the models, exported in one go: a char model with rotary positions, a GPT-2 BPE one, and one
// whose model.json is rewritten as an old export's
const models = tempDir('wordplay-surprise-');
const variants = {
  recipe: { tokenizer: 'char', options: { position: 'rope', norm: 'rmsnorm', qk_norm: true, mlp: 'swiglu' } },
  gpt2: { tokenizer: 'gpt2', options: {} },
};
const oldModel = path.join(models, 'old');
before(() => {
  if (skipWithoutTorch) return;
  makeReferences(
    ...Object.entries(variants).map(([name, { tokenizer, options }]) => [
      ...['--out', models, '--steps', '1', '--block-size', String(BLOCK), '--tokenizer', tokenizer],
      ...['--variant', `${name}=${JSON.stringify(options)}`],
    ]),
    ['--out', oldModel, '--steps', '1', '--block-size', '16'],
  );
});

/** Returns the largest loss difference from PyTorch. */
async function checkAgainstPyTorch(name: keyof typeof variants, text: string): Promise<number> {
  const { options } = variants[name];
  const dir = path.join(models, name);
  const model = await loadGenerationModel(dir);
  const progress: number[] = [];
  const s = await scoreText(model, text, { onProgress: (done) => progress.push(done) });
  const spans = tokenSpans(model.tokenizer, text);
  const plan = slidingWindows(spans.ids.length, BLOCK);
  assert.ok(plan.windows.length > 3, `${name}: the text should need several windows`);
  assert.equal(s.windows, plan.windows.length);
  assert.equal(progress[progress.length - 1], plan.windows.length);
  const job = path.join(dir, 'job.json');
  fs.writeFileSync(
    job,
    JSON.stringify({ ids: spans.ids, ...plan, block: BLOCK, vocab_size: model.vocabSize, options }),
  );
  const ref: Record<string, { loss: number; top: number[] }> = JSON.parse(
    python(['-c', REFERENCE, path.join(packageRoot, 'trainer', 'tests'), job]),
  );
  assert.equal(s.tokens.length, spans.ids.length - 1, `${name}: every token but the first is scored`);
  let worst = 0;
  let nats = 0;
  s.tokens.forEach((tok, i) => {
    const t = i + 1;
    worst = Math.max(worst, Math.abs(tok.loss - ref[t].loss));
    nats += ref[t].loss;
    assert.deepEqual([tok.start, tok.end, tok.id], [spans.starts[t], spans.ends[t], spans.ids[t]]);
    assert.ok(Math.abs(tok.loss - ref[t].loss) <= 1e-4, `${name}: token ${t} loss ${tok.loss}, PyTorch ${ref[t].loss}`);
    assert.ok(Math.abs(tok.probability - Math.exp(-ref[t].loss)) < 1e-4);
    // the top 5 as PyTorch ranks them (ties aside: random weights make none)
    assert.deepEqual(
      tok.top.map((a) => a.id),
      ref[t].top,
      `${name}: top ${TOP_K} at token ${t}`,
    );
    assert.ok(tok.top.every((a, k) => k === 0 || a.probability <= tok.top[k - 1].probability));
    assert.equal(tok.top[0].text, model.tokenizer.decode([tok.top[0].id]));
  });
  assert.ok(worst <= 1e-4, `${name}: max abs loss difference ${worst}`);
  // bits per byte: the reference's nats over the scored tokens' UTF-8 bytes
  const bytes = Buffer.byteLength(text.slice(spans.ends[0]), 'utf8');
  assert.ok(Math.abs(s.bitsPerByte - nats / Math.LN2 / bytes) < 1e-6, `${name}: ${s.bitsPerByte} bits/byte`);
  assert.deepEqual(s.first, { start: 0, end: spans.ends[0] });
  return worst;
}

test(
  'a char model with rotary positions scores each token as PyTorch does, within 1e-4',
  { skip: skipWithoutTorch },
  async (t) => {
    const text = shakespeare()
      .slice(0, 400)
      .replace(/[^\n !',\-.:;?a-zA-Z]/g, '');
    const worst = await checkAgainstPyTorch('recipe', text);
    t.diagnostic(`max loss difference from PyTorch: ${worst}`);
  },
);

test(
  'a GPT-2 BPE model: token ranges cover multi-byte characters, losses within 1e-4 of PyTorch',
  { skip: skipWithoutTorch },
  async (t) => {
    const text = 'Le café — naïve 🙂 façade. '.repeat(6) + shakespeare().slice(0, 200);
    t.diagnostic(`max loss difference from PyTorch: ${await checkAgainstPyTorch('gpt2', text)}`);
  },
);

test('the sliding windows score every token but the first once, with half a block of context or more', () => {
  for (const [n, block] of [
    [1, 8],
    [2, 8],
    [8, 8],
    [9, 8],
    [17, 8],
    [100, 8],
    [101, 7],
    [1000, 64],
  ]) {
    const { length, windows } = slidingWindows(n, block);
    assert.equal(length, Math.min(n, block));
    const scored: number[] = [];
    for (const w of windows) {
      assert.ok(w.start >= 0 && w.start + length <= n);
      for (let t = w.from; t < w.start + length; t++) {
        scored.push(t);
        const context = t - w.start;
        assert.ok(context >= 1 && context <= block - 1);
        if (t >= block)
          assert.ok(context >= Math.floor(block / 2), `n=${n} block=${block} token ${t}: ${context} tokens of context`);
      }
    }
    assert.deepEqual(
      scored,
      Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1),
      `n=${n} block=${block}`,
    );
  }
});

test('char spans leave out characters outside the vocabulary and keep the others\u2019 places', () => {
  const spans = tokenSpans(new CharTokenizer([' ', 'a', 'b']), 'ab\u20ac a\u{1f642}b');
  assert.deepEqual(spans.ids, [1, 2, 0, 1, 2]);
  assert.deepEqual(spans.starts, [0, 1, 3, 4, 7]);
  assert.deepEqual(spans.ends, [1, 2, 4, 5, 8]);
  assert.deepEqual(spans.unknown, ['\u20ac', '\u{1f642}']);
});

test(
  'a model exported before all_logits still loads, and Model Surprise asks for a new export',
  { skip: skipWithoutTorch },
  async () => {
    const metaFile = path.join(oldModel, 'model.json');
    // model.json as export.py wrote it before Model Surprise: no all_logits, no optional inputs
    const meta = readModelMeta(metaFile);
    const old = { ...meta, outputs: meta.outputs.filter((n) => n !== 'all_logits'), flag_inputs: undefined };
    fs.writeFileSync(path.join(oldModel, 'old.json'), JSON.stringify(old));
    assert.deepEqual(readModelMeta(path.join(oldModel, 'old.json')).outputs, old.outputs);
    const loaded = await loadGenerationModel(oldModel);
    const model = new GenerationModel(loaded.files, old, loaded.tokenizer, loaded.session, loaded.ort, loaded.threads);
    await assert.rejects(
      scoreText(model, 'hello there'),
      (err: Error) => err instanceof UserError && /exported before Model Surprise.*wordplay export/.test(err.message),
    );
  },
);
