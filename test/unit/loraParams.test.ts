// train.lora in the estimates (src/core/train/loraParams.ts, estimate.ts): the adapters alone
// train, so they alone have gradients and AdamW's moments, and the frozen weights' gradients are
// not computed. The counts are the trainer's (trainer/tests/test_lora.py builds the same shapes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/core/train/config';
import { estimate, type EstimateInput } from '../../src/core/train/estimate';
import { loraParams } from '../../src/core/train/loraParams';
import type { LoraSettings } from '../../src/core/train/runConfig';
import type { DeviceInfo } from '../../src/core/webview/protocol';

const targets: LoraSettings['targets'] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
const a100: DeviceInfo = { kind: 'cuda', name: 'NVIDIA A100-SXM4-40GB', peakFlops16: 312e12, bf16: true };
// GPT-2 124M fine-tuned (the gpt2-finetune preset, every other key at the schema's default)
const gpt2 = (rank: number | null): EstimateInput =>
  loadConfig('gpt2-finetune', [
    `train.lora.rank=${rank}`,
    ...['train.batch_size=8', 'train.gradient_accumulation_steps=1', 'train.max_iters=100'],
    ...['train.eval_interval=50', 'train.eval_iters=10'],
  ]).config;

test('estimate: LoRA trains its adapters alone (their gradients and AdamW state), the base frozen', () => {
  const full = estimate(gpt2(null), 50257, a100);
  const adapted = estimate(gpt2(8), 50257, a100);
  assert.equal(full.trainable, full.paramsTotal);
  // GPT-2 124M, rank 8, every projection it has (no gate)
  assert.equal(adapted.trainable, 1_327_104);
  assert.equal(adapted.memory.weights, full.memory.weights);
  assert.deepEqual([adapted.memory.gradients, adapted.memory.optimizer], [4 * 1_327_104, 8 * 1_327_104]);
  // no gradients for the frozen weights: about 4N FLOPs a token instead of 6N
  assert.ok(adapted.secondsPerIter < 0.75 * full.secondsPerIter && adapted.secondsPerIter > 0.5 * full.secondsPerIter);
});

test('adapter counts: rank · (in + out) on each target projection of each layer', () => {
  // Qwen3-0.6B's shape, rank 16 on every projection: what PEFT counts for it
  const qwen3 = { n_layer: 28, n_embd: 1024, n_head: 16, n_kv_head: 8, head_dim: 128, mlp: 'swiglu', hidden: 3072 };
  assert.equal(loraParams(qwen3, { rank: 16, targets }), 10_092_544);
  // q (1024 → 16 heads of 128) and v (1024 → 8 key/value heads of 128)
  assert.equal(loraParams(qwen3, { rank: 16, targets: ['q', 'v'] }), 28 * 16 * (3072 + 2048));
  // no gate without SwiGLU; no rank, no LoRA
  assert.equal(loraParams({ ...qwen3, mlp: 'gelu' }, { rank: 1, targets: ['gate'] }), 0);
  assert.equal(loraParams(qwen3, { rank: null, targets }), undefined);
});
