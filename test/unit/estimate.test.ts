import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/core/train/config';
import { editConfigText } from '../../src/core/train/configEdit';
import { parseNvidiaSmi } from '../../src/core/train/deviceDetect';
import { effectiveDevice, resolveCompile, resolveDtype } from '../../src/core/train/autoRules';
import {
  estimate,
  flopsPerToken,
  formatBytes,
  formatDuration,
  gpuPeakFlops,
  paramCount,
  type EstimateInput,
  type ModelShape,
} from '../../src/core/train/estimate';
import type { DeviceInfo } from '../../src/core/webview/protocol';
import type { RunEvent } from '../../src/core/run/events';
import { metricsCsv, RunMetrics } from '../../src/core/run/metrics';
import { configEditorMessageProblem, metricsMessageProblem } from '../../src/core/webview/protocol';
import { applyEdits } from 'jsonc-parser';
import autoRules from '../cases/auto-rules.json';
import compileFacts from '../../schemas/compile.json';
import mfuCases from '../cases/mfu.json';
import paramCases from '../cases/params.json';
import timingCases from '../cases/estimate-timings.json';

// nanoGPT's shakespeare-char as the preset has it, every other key at the schema's default
const shakespeare: EstimateInput = loadConfig('nanogpt-shakespeare-char').config;
const cpu: DeviceInfo = { kind: 'cpu', name: 'CPU', cores: 4, memoryBytes: 16 * 2 ** 30 };
const a100: DeviceInfo = {
  kind: 'cuda',
  name: 'NVIDIA A100-SXM4-40GB',
  peakFlops16: 312e12,
  peakFlops32: 156e12,
  bf16: true,
  memoryBytes: 40 * 2 ** 30,
};

test('parameter counts match nanoGPT (shakespeare-char 10.65M, GPT-2 124M)', () => {
  assert.equal(
    paramCount({ n_layer: 6, n_head: 6, n_embd: 384, block_size: 256, vocab_size: 65, bias: false })[0],
    10_646_784,
  );
  const [gpt2, gpt2Total] = paramCount({
    n_layer: 12,
    n_head: 12,
    n_embd: 768,
    block_size: 1024,
    vocab_size: 50257,
    bias: true,
  });
  assert.equal(gpt2, 123_653_376); // nanoGPT prints "number of parameters: 123.65M"
  assert.equal(gpt2Total, 124_439_808); // Hugging Face's 124M
});

// test/cases/params.json: the trainer's GPT (test_model.py) runs the same cases
for (const c of paramCases.cases) {
  test(`parameter counts, case table: ${c.name}`, () => {
    assert.deepEqual(paramCount(c.model as ModelShape), [c.params, c.params_total]);
  });
}

test('FLOPs per token follow the PaLM formula the trainer uses', () => {
  assert.equal(flopsPerToken(10_646_784, 6, 6, 384, 256), 6 * 10_646_784 + 12 * 6 * 6 * 64 * 256);
});

// test/cases/mfu.json: the trainer's MFU (common.py) runs the same cases
for (const c of mfuCases.flops_per_token) {
  test(`FLOPs per token, case table: ${c.name}`, () => {
    assert.equal(flopsPerToken(c.n_params, c.n_layer, c.n_head, c.n_embd, c.block_size), c.flops);
  });
}

test('GPU peaks by name: the case table (schemas/gpu-peaks.json read as the trainer reads it)', () => {
  for (const c of mfuCases.peak_flops) assert.equal(gpuPeakFlops(c.device), c.flops ?? undefined, c.device);
});

test('estimate: tokens, memory parts, time on CPU and GPU', () => {
  const f = estimate(shakespeare, 65, cpu);
  assert.equal(f.tokensPerIter, 64 * 256);
  assert.equal(f.dtype, 'float32');
  assert.equal(f.memory.weights, 4 * f.paramsTotal);
  assert.equal(f.memory.optimizer, 2 * f.memory.weights);
  assert.equal(f.memory.total, f.memory.weights + f.memory.gradients + f.memory.optimizer + f.memory.activations);
  assert.equal(f.flopsPerIter, f.flopsPerToken * f.tokensPerIter);
  const gpu = estimate(shakespeare, 65, a100);
  assert.equal(gpu.dtype, 'bfloat16');
  assert.ok(gpu.memory.activations < f.memory.activations, '16-bit activations are smaller');
  assert.ok(gpu.secondsPerIter < f.secondsPerIter / 20, 'an A100 is far faster than 4 cores');
  // nanoGPT reports ~3 minutes for this run on an A100: the estimate is within a few times
  assert.ok(gpu.secondsPerRun > 30 && gpu.secondsPerRun < 900, `${gpu.secondsPerRun} s`);
  assert.ok(f.secondsPerRun > f.secondsPerIter * 5000, 'evaluations are included');
});

test('estimate: processes share the work; gpt2 replaces the shape; device caveats', () => {
  const one = estimate(shakespeare, 65, a100);
  const eight = estimate(
    {
      ...shakespeare,
      train: { ...shakespeare.train, gradient_accumulation_steps: 8 },
      distributed: { nproc_per_node: 8, nnodes: 1 },
    },
    65,
    a100,
  );
  assert.equal(eight.tokensPerIter, 8 * one.tokensPerIter);
  assert.ok(Math.abs(eight.secondsPerIter - one.secondsPerIter) / one.secondsPerIter < 1e-9);
  const gpt2 = estimate({ ...shakespeare, train: { ...shakespeare.train, init_from: 'gpt2' } }, 65, a100);
  assert.equal(gpt2.params, 123_653_376);
  assert.equal(
    estimate({ ...shakespeare, train: { ...shakespeare.train, device: 'cpu' } }, 65, a100).device.kind,
    'cpu',
  );
  assert.match(
    estimate({ ...shakespeare, train: { ...shakespeare.train, device: 'cuda' } }, 65, cpu).notes.join(),
    /no CUDA GPU/,
  );
  const huge = estimate(
    {
      ...shakespeare,
      model: { ...shakespeare.model, n_layer: 48, n_embd: 1600, n_head: 25, block_size: 1024 },
      train: { ...shakespeare.train, batch_size: 64 },
    },
    50257,
    a100,
  );
  assert.ok(huge.exceedsMemory);
});

// test/cases/auto-rules.json: what train.device, train.dtype and train.compile resolve to, the
// table the trainer is held to as well. Where the trainer refuses (a row's `error`), the estimate
// goes on (with the device present, or the dtype asked for) and a note names the key.
const gpu = (bf16: boolean): DeviceInfo => ({ ...a100, bf16 });
const mps: DeviceInfo = { kind: 'mps', name: 'Apple M2' };
const deviceOfKind = { cuda: gpu(true), mps, cpu } as const;

for (const row of autoRules.device) {
  test(`auto rules, train.device ${row.requested} with${row.cuda ? '' : 'out'} CUDA${row.mps ? ', with MPS' : ''}: ${row.device ?? `refused (${row.error})`}`, () => {
    const notes: string[] = [];
    const detected = row.cuda ? gpu(true) : row.mps ? mps : cpu;
    const device = effectiveDevice(row.requested, detected, notes);
    if (row.error) {
      assert.equal(device, detected, 'the estimate is for the device present');
      assert.ok(
        notes.some((n) => n.includes(row.error)),
        notes.join('\n'),
      );
    } else {
      assert.equal(device.kind, row.device);
      assert.deepEqual(notes, []);
    }
  });
}

for (const row of autoRules.dtype) {
  test(`auto rules, train.dtype ${row.requested} on ${row.device}${row.bf16 ? ' with bfloat16' : ''}: ${row.dtype ?? `refused (${row.error})`}`, () => {
    const notes: string[] = [];
    const device = row.device === 'cuda' ? gpu(row.bf16) : deviceOfKind[row.device as 'cpu' | 'mps'];
    const dtype = resolveDtype(row.requested, device, notes);
    if (row.error) {
      assert.equal(dtype, row.requested, 'the estimate is for the dtype asked for');
      assert.ok(
        notes.some((n) => n.includes(row.error)),
        notes.join('\n'),
      );
    } else {
      assert.equal(dtype, row.dtype);
      assert.deepEqual(notes, []);
    }
  });
}

for (const row of autoRules.compile) {
  test(`auto rules, train.compile ${row.requested} on ${row.device}, ${row.run_seconds ?? 'unknown'} s, ${row.n_embd} wide, dropout ${row.dropout}: ${row.compile}`, () => {
    const device = deviceOfKind[row.device as keyof typeof deviceOfKind];
    assert.equal(resolveCompile(row.requested, device, row.run_seconds, row.n_embd, row.dropout), row.compile);
  });
}

test('estimate: compile auto on a CPU for a narrow model without dropout in a long run, faster by the speed-up, plus compiling', () => {
  // nanogpt-shakespeare-char-cpu's shape (128 wide, no dropout) for 50,000 iterations: an hour
  const model = { ...shakespeare.model, n_layer: 4, n_head: 4, n_embd: 128, block_size: 64, dropout: 0 };
  const train = { ...shakespeare.train, batch_size: 12, max_iters: 50_000, eval_iters: 20 };
  const narrow: EstimateInput = { ...shakespeare, model, train };
  const eager = estimate({ ...narrow, train: { ...train, compile: 'false' } }, 65, cpu);
  const auto = estimate(narrow, 65, cpu);
  assert.ok(!eager.compiled && auto.compiled && eager.secondsPerRun >= compileFacts.cpu_min_run_seconds);
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-9 * b, `${a} against ${b}`);
  near(auto.secondsPerIter * compileFacts.cpu_speedup, eager.secondsPerIter);
  near(auto.secondsPerRun, eager.secondsPerRun / compileFacts.cpu_speedup + compileFacts.cpu_compile_seconds);
  near(auto.assumedRates.flops, eager.assumedRates.flops * compileFacts.cpu_speedup);
  // not compiled: a short run, a time budget under the threshold, dropout, a wider model
  const short = estimate({ ...narrow, train: { ...train, max_iters: 200 } }, 65, cpu);
  assert.ok(!short.compiled && short.secondsPerRun < compileFacts.cpu_min_run_seconds);
  const budget = compileFacts.cpu_min_run_seconds;
  assert.equal(estimate({ ...narrow, train: { ...train, time_budget_s: budget - 1 } }, 65, cpu).compiled, false);
  assert.equal(estimate({ ...narrow, train: { ...train, time_budget_s: budget } }, 65, cpu).compiled, true);
  assert.equal(estimate({ ...narrow, model: { ...model, dropout: 0.1 } }, 65, cpu).compiled, false);
  const wide = { ...model, n_embd: 256 };
  assert.equal(estimate({ ...narrow, model: wide }, 65, cpu).compiled, false);
  assert.equal(estimate(shakespeare, 65, cpu).compiled, false); // 384 wide, dropout 0.2: hours, not compiled
  // a GPU compiles under auto whatever the length, and its time is its assumed MFU's alone
  const gpu = estimate({ ...narrow, train: { ...train, max_iters: 20 } }, 65, a100);
  assert.ok(gpu.compiled && gpu.secondsPerIter === gpu.flopsPerIter / gpu.assumedRates.flops);
});

test('estimate: a dtype the device lacks is noted with its key', () => {
  const f = estimate({ ...shakespeare, train: { ...shakespeare.train, dtype: 'float16' } }, 65, cpu);
  assert.equal(f.dtype, 'float16');
  assert.match(f.notes.join('\n'), /train\.dtype float16 needs a CUDA GPU/);
});

// test/cases/estimate-timings.json: training steps measured on a 2-core CPU (medians, the machine
// otherwise idle). The estimate is rough by design, but within 2x either way of each: the CPU
// presets, and small models with large vocabularies, where the FLOPs alone said half the time.
for (const c of timingCases.cases) {
  test(`time per iteration within 2x of the measured, case table: ${c.name}`, () => {
    const f = estimate(c.config as EstimateInput, c.vocab_size, timingCases.device as DeviceInfo);
    const ratio = c.ms_per_iter / 1000 / f.secondsPerIter;
    assert.ok(
      ratio > 0.5 && ratio < 2,
      `measured ${c.ms_per_iter} ms, estimated ${(f.secondsPerIter * 1000).toFixed(0)} ms (ratio ${ratio.toFixed(2)})`,
    );
  });
}

test('time per iteration: typically within 25% over the whole case table', () => {
  // the geometric mean of each case's error factor (max(ratio, 1/ratio)); the FLOPs alone were
  // 1.7x off on average, always under
  const logs = timingCases.cases.map((c) =>
    Math.abs(
      Math.log(
        c.ms_per_iter /
          1000 /
          estimate(c.config as EstimateInput, c.vocab_size, timingCases.device as DeviceInfo).secondsPerIter,
      ),
    ),
  );
  const typical = Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length);
  assert.ok(typical < 1.25, `typically ${typical.toFixed(2)}x off`);
});

test('estimate: a note when the token embedding holds most of the parameters', () => {
  const byName = (name: string) => timingCases.cases.find((c) => c.name === name)!;
  const device = timingCases.device as DeviceInfo;
  const gpt2Vocab = byName('2x64, GPT-2 vocabulary, batch 12');
  const big = estimate(gpt2Vocab.config as EstimateInput, gpt2Vocab.vocab_size, device);
  assert.ok(big.embeddingShare > 0.95, `${big.embeddingShare}`);
  assert.ok(
    big.notes.includes(
      'The token embedding holds 97% of the parameters (vocabulary 50,257): most of the compute goes to tokens this corpus may never use. Prepare the dataset with a BPE trained on it (wordplay prepare --tokenizer bpe --vocab-size 4096).',
    ),
    big.notes.join('\n'),
  );
  // an untied head is counted too
  const untied = estimate(
    { ...gpt2Vocab.config, model: { ...gpt2Vocab.config.model, tie_embeddings: false } } as EstimateInput,
    50257,
    device,
  );
  assert.match(untied.notes.join('\n'), /The token embedding and the output head hold 98% of the parameters/);
  // a vocabulary already small: no BPE of the same size suggested
  assert.match(
    estimate(gpt2Vocab.config as EstimateInput, 4096, device).notes.join('\n'),
    /holds 72% .*vocabulary 4,096.*wider or deeper model/,
  );
  // characters, and GPT-2 itself: the layers hold most of the parameters
  const chars = byName('shakespeare-char-cpu (preset)');
  assert.equal(chars.vocab_size, 65);
  const small = estimate(chars.config as EstimateInput, chars.vocab_size, device);
  assert.ok(small.embeddingShare < 0.05);
  assert.ok(!small.notes.some((n) => n.includes('token embedding')), small.notes.join('\n'));
  assert.ok(
    !estimate({ ...shakespeare, train: { ...shakespeare.train, init_from: 'gpt2' } }, 65, a100).notes.some((n) =>
      n.includes('token embedding'),
    ),
  );
});

test('estimate: memory traffic counts on a CPU only; Muon adds its FLOPs', () => {
  const f = estimate(shakespeare, 65, cpu);
  assert.equal(
    f.bytesPerIter,
    3 * f.memory.activations + 2 * (f.memory.weights + f.memory.gradients + f.memory.optimizer),
  );
  assert.ok(
    Math.abs(
      f.secondsPerIter - (f.flopsPerIter / f.assumedRates.flops + f.bytesPerIter / f.assumedRates.bytesPerSecond),
    ) < 1e-12,
  );
  const gpu = estimate(shakespeare, 65, a100);
  assert.equal(gpu.assumedRates.bytesPerSecond, Infinity);
  assert.equal(gpu.secondsPerIter, gpu.flopsPerIter / gpu.assumedRates.flops);
  const muon = estimate({ ...shakespeare, optimizer: { name: 'muon' } }, 65, cpu);
  assert.equal(f.optimizerFlopsPerIter, 0);
  // five Newton-Schulz iterations on each block's c_attn (3d x d), c_proj (d x d) and MLP (2 of 4d x d)
  const d = 384;
  const ns = (m: number, n: number) => 5 * (4 * m * m * n + 2 * m * m * m);
  assert.equal(muon.optimizerFlopsPerIter, 6 * (ns(d, 3 * d) + ns(d, d) + 2 * ns(d, 4 * d)));
  assert.ok(muon.secondsPerIter > f.secondsPerIter);
});

test('formatting', () => {
  assert.equal(formatBytes(2 * 2 ** 30), '2.0 GiB');
  assert.equal(formatDuration(90), '1 min 30 s');
  assert.equal(formatDuration(0.0234), '23 ms');
});

test('nvidia-smi output gives a CUDA device with its peak', () => {
  const d = parseNvidiaSmi('NVIDIA H100 80GB HBM3, 81559, 9.0\n', 16)!;
  assert.equal(d.kind, 'cuda');
  assert.equal(d.peakFlops16, 989e12);
  assert.equal(d.bf16, true);
  assert.equal(d.memoryBytes, 81559 * 2 ** 20);
});

test('config edits keep the formatting and remove keys for defaults', () => {
  const text = '{\n    "model": {\n        "n_layer": 6\n    }\n}\n';
  const set = applyEdits(text, editConfigText(text, ['model', 'n_layer'], 8));
  assert.equal(set, '{\n    "model": {\n        "n_layer": 8\n    }\n}\n');
  const added = applyEdits(text, editConfigText(text, ['train', 'batch_size'], 32));
  assert.deepEqual(JSON.parse(added), { model: { n_layer: 6 }, train: { batch_size: 32 } });
  const removed = applyEdits(text, editConfigText(text, ['model', 'n_layer'], undefined));
  assert.deepEqual(JSON.parse(removed), { model: {} });
  assert.deepEqual(JSON.parse(applyEdits('', editConfigText('', ['model', 'bias'], true))), { model: { bias: true } });
});

test('the protocol validators refuse malformed messages', () => {
  assert.equal(configEditorMessageProblem({ type: 'config/edit', path: ['model', 'n_layer'], value: 8 }), undefined);
  assert.ok(configEditorMessageProblem({ type: 'config/edit', path: ['model'], value: 8 }));
  assert.ok(configEditorMessageProblem({ type: 'config/edit', path: ['model', '__proto__.x'], value: 8 }));
  assert.ok(configEditorMessageProblem({ type: 'config/edit', path: ['model', 'n_layer'], value: { a: 1 } }));
  assert.ok(configEditorMessageProblem({ type: 'config/edit', path: ['model', 'n_layer'], value: Infinity }));
  assert.ok(configEditorMessageProblem({ type: 'config/train', extra: 1 }));
  assert.ok(configEditorMessageProblem('ready'));
  assert.equal(
    metricsMessageProblem({ type: 'metrics/exportPng', chart: 'loss', dataUrl: 'data:image/png;base64,iVBORw0KGgo=' }),
    undefined,
  );
  assert.ok(
    metricsMessageProblem({ type: 'metrics/exportPng', chart: '../../etc', dataUrl: 'data:image/png;base64,AAAA' }),
  );
  assert.ok(metricsMessageProblem({ type: 'metrics/exportPng', chart: 'loss', dataUrl: 'data:text/html,<script>' }));
  assert.ok(metricsMessageProblem({ type: 'metrics/deleteEverything' }));
});

test('run metrics: events to columns, deltas, CSV', () => {
  const m = new RunMetrics('/runs/a');
  const events: RunEvent[] = [
    {
      type: 'start',
      time: 1,
      iter: 0,
      max_iters: 100,
      pid: 1,
      device: 'cpu',
      dtype: 'float32',
      n_params: 10,
      tokens_per_iter: 64,
    },
    { type: 'train', time: 2, iter: 0, loss: 4.2, lr: 0, dt_ms: 5, tokens_per_s: 1000, mfu: null },
    { type: 'eval', time: 3, iter: 0, train_loss: 4.1, val_loss: 4.3 },
  ];
  m.add(events);
  const first = m.takeDelta()!;
  assert.equal(first.status, 'running');
  assert.deepEqual(first.train.loss, [4.2]);
  assert.equal(m.takeDelta(), undefined);
  const more: RunEvent[] = [
    { type: 'train', time: 4, iter: 10, loss: 3.9, lr: 1e-4, dt_ms: 5, tokens_per_s: 1100, mfu: 0.1 },
    { type: 'done', time: 5, reason: 'finished', iter: 10 },
  ];
  m.add(more);
  const second = m.takeDelta()!;
  assert.deepEqual(second.train.iter, [10]);
  assert.equal(second.status, 'finished');
  assert.deepEqual(m.series.train.iter, [0, 10]);
  assert.equal(
    metricsCsv([{ name: 'a', events: [...events, ...more] }]),
    'run,type,iter,loss,lr,tokens_per_s,mfu,train_loss,val_loss,val_bpb\na,train,0,4.2,0,1000,,,,\na,eval,0,,,,,4.1,4.3,\na,train,10,3.9,0.0001,1100,0.1,,,\n',
  );
});
