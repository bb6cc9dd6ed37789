// Figures derived from a run configuration, shown by the config editor as the user types:
// parameters, tokens per iteration, memory, FLOPs and a rough time on the detected device.
// Pure arithmetic with no Node or DOM imports: the extension host and the config editor's
// webview bundle both use this one module.
//
// Counts follow nanoGPT (model.py): tied token embedding and lm_head, no position embeddings in
// the reported parameter count, FLOPs by the PaLM formula 6N + 12·L·H·Q·T per token (the same
// formula the trainer's MFU uses). Activation memory follows Korthikanti et al. 2022, "Reducing
// Activation Recomputation in Large Transformer Models": 34·s·b·h bytes per layer at 16 bits
// (the 5·a·s²·b attention-score term vanishes with flash attention, which the trainer uses).
// GPU peaks and GPT-2's shapes are data the trainer reads too: schemas/gpu-peaks.json and
// schemas/gpt2.json, bundled in at build time.
import gpt2 from '../../../schemas/gpt2.json';
import gpuPeaks from '../../../schemas/gpu-peaks.json';
import type { DeviceInfo } from '../webview/protocol';
import type { RunConfig } from './runConfig';

/** The parts of a run configuration the figures depend on. */
export interface EstimateInput {
  model: RunConfig['model'];
  train: Pick<RunConfig['train'], 'init_from' | 'batch_size' | 'gradient_accumulation_steps' | 'max_iters' | 'eval_interval' | 'eval_iters' | 'device' | 'dtype' | 'compile'>;
  distributed: Pick<RunConfig['distributed'], 'nproc_per_node' | 'nnodes'>;
}

export interface Figures {
  /** The architecture actually trained: init_from gpt2* replaces the model group's shape. */
  shape: ModelShape;
  /** Parameters as nanoGPT reports them (without position embeddings). */
  params: number;
  /** Every parameter, position embeddings included. */
  paramsTotal: number;
  tokensPerIter: number;
  /** Resolved dtype of the run (auto resolved against the device). */
  dtype: 'float32' | 'bfloat16' | 'float16';
  /** Which device the estimate is for: the detected one, or CPU when train.device forces it. */
  device: DeviceInfo;
  memory: { weights: number; gradients: number; optimizer: number; activations: number; total: number };
  /** true when the per-device total exceeds the device's memory. */
  exceedsMemory: boolean;
  flopsPerToken: number;
  flopsPerIter: number;
  /** Estimated seconds per optimizer step and for the whole run (evaluations included). */
  secondsPerIter: number;
  secondsPerRun: number;
  /** Model FLOPs utilisation assumed for the time estimate, 0..1. */
  assumedMfu: number;
  /** Processes (GPUs) working together. */
  world: number;
  /** Caveats worth showing (device mismatch, memory, unknown vocabulary). */
  notes: string[];
}

/** GPT-2 checkpoints' shapes (nanoGPT's from_pretrained table); all have GPT2_VOCAB and biases. */
export const GPT2_SHAPES: Record<string, { n_layer: number; n_head: number; n_embd: number }> = gpt2.models;
export const GPT2_VOCAB = gpt2.vocab_size;
export const GPT2_BLOCK = gpt2.block_size;

/** A model's shape and architecture options (schemas/run-config.schema.json's model group;
 *  an option left out is GPT-2's). */
export interface ModelShape {
  n_layer: number;
  n_head: number;
  n_embd: number;
  block_size: number;
  vocab_size: number;
  bias: boolean;
  position?: 'learned' | 'rope';
  norm?: 'layernorm' | 'rmsnorm';
  qk_norm?: boolean;
  mlp?: 'gelu' | 'relu2' | 'swiglu';
  tie_embeddings?: boolean;
}

/** The MLP's hidden width: 4·n_embd; SwiGLU's three matrices 8/3·n_embd, down to a multiple of 8
 *  (the trainer's GPTConfig.mlp_hidden; both held to test/cases/params.json). */
export function mlpHidden(shape: Pick<ModelShape, 'n_embd' | 'mlp'>): number {
  return shape.mlp === 'swiglu' ? Math.floor(Math.floor((8 * shape.n_embd) / 3) / 8) * 8 : 4 * shape.n_embd;
}

/** Parameters of the model: [without position embeddings, total], nanoGPT's count (the real
 *  vocabulary, not the trainer's padded one). */
export function paramCount(shape: ModelShape): [number, number] {
  const d = shape.n_embd;
  const h = mlpHidden(shape);
  const layerNormBias = shape.norm !== 'rmsnorm' && shape.bias; // RMSNorm has no bias
  const attention = 4 * d * d + (shape.bias ? 4 * d : 0); // c_attn 3d², c_proj d²
  const mlp = shape.mlp === 'swiglu' ? 3 * d * h + (shape.bias ? 2 * h + d : 0) : 2 * d * h + (shape.bias ? h + d : 0);
  const norms = 2 * d + (layerNormBias ? 2 * d : 0) + (shape.qk_norm ? (2 * d) / shape.n_head : 0);
  const lnF = d + (layerNormBias ? d : 0);
  const wte = shape.vocab_size * d;
  const head = shape.tie_embeddings === false ? shape.vocab_size * d : 0; // tied: wte is the head
  const wpe = shape.position === 'rope' ? 0 : shape.block_size * d;
  const withoutPos = shape.n_layer * (attention + mlp + norms) + lnF + wte + head;
  return [withoutPos, withoutPos + wpe];
}

/** FLOPs per token for forward + backward (PaLM appendix B), as the trainer's MFU counts them
 *  (both held to test/cases/mfu.json). */
export function flopsPerToken(params: number, n_layer: number, n_head: number, n_embd: number, seqLen: number): number {
  return 6 * params + 12 * n_layer * n_head * (n_embd / n_head) * seqLen;
}

/** The dtype the trainer resolves `auto` to on a device (trainer/wordplay_trainer/common.py). */
export function resolveDtype(dtype: string, device: DeviceInfo): 'float32' | 'bfloat16' | 'float16' {
  if (dtype === 'float32' || dtype === 'bfloat16' || dtype === 'float16') return dtype;
  if (device.kind !== 'cuda') return 'float32';
  return device.bf16 === false ? 'float16' : 'bfloat16';
}

/** Sustained fp32 FLOP/s of one CPU core running PyTorch's matmuls (AVX2/AVX-512 FMA, a rough
 *  middle of what small-GPT training reaches on current x86 and ARM cores). */
export const CPU_FLOPS_PER_CORE = 25e9;
/** Apple-silicon GPU through MPS: a modest middle of the M-series (M1 2.6 to M3 Max 14 TFLOPS). */
export const MPS_FLOPS = 5e12;

/** The device the run will use: train.device = cpu forces the CPU whatever was detected. */
export function effectiveDevice(requested: string, detected: DeviceInfo, notes: string[]): DeviceInfo {
  const cpu: DeviceInfo = detected.kind === 'cpu' ? detected : { kind: 'cpu', name: 'CPU', cores: detected.cores ?? 1 };
  if (requested === 'cpu') return cpu;
  if (requested.startsWith('cuda') && detected.kind !== 'cuda') {
    notes.push(`train.device is ${requested} but no CUDA GPU was detected here: the estimate is for the ${detected.kind.toUpperCase()}.`);
  }
  if (requested === 'mps' && detected.kind !== 'mps') {
    notes.push(`train.device is mps but no Apple-silicon GPU was detected here: the estimate is for the ${detected.kind.toUpperCase()}.`);
  }
  return detected;
}

/** Achieved throughput of one device for a micro-batch of `flopsPerMicroBatch`, and the MFU
 *  assumed. Small models are dominated by kernel launches and reach a few percent of a GPU's
 *  peak; large ones approach the 40-50% well-tuned training reaches (nanoGPT's GPT-2 on A100). */
export function achievedFlops(device: DeviceInfo, dtype: string, compile: boolean, flopsPerMicroBatch: number): { flops: number; mfu: number } {
  if (device.kind === 'cpu') {
    const flops = (device.cores ?? 1) * CPU_FLOPS_PER_CORE * (dtype === 'float32' ? 1 : 0.5); // CPUs lack fast 16-bit matmuls
    return { flops, mfu: 1 };
  }
  if (device.kind === 'mps') return { flops: MPS_FLOPS * 0.3, mfu: 0.3 };
  const peak16 = device.peakFlops16 ?? 100e12;
  const peak = dtype === 'float32' ? (device.peakFlops32 ?? peak16 / 2) : peak16;
  const saturation = flopsPerMicroBatch / (flopsPerMicroBatch + 2e12);
  const mfu = Math.max(0.02, (compile ? 0.5 : 0.4) * saturation);
  return { flops: peak * mfu, mfu };
}

/** Every figure for a configuration on a device. `vocabSize` comes from the dataset
 *  (meta.json); for init_from gpt2* it is GPT-2's. */
export function estimate(config: EstimateInput, vocabSize: number, detected: DeviceInfo): Figures {
  const notes: string[] = [];
  const m = config.model;
  const t = config.train;
  const pretrained = GPT2_SHAPES[t.init_from];
  const shape = pretrained
    ? { ...pretrained, block_size: Math.min(m.block_size, GPT2_BLOCK), vocab_size: GPT2_VOCAB, bias: true }
    : { ...m, vocab_size: vocabSize };
  if (pretrained) notes.push(`init_from ${t.init_from}: the model group's shape is replaced by GPT-2's (${pretrained.n_layer} layers, ${pretrained.n_head} heads, ${pretrained.n_embd} wide).`);

  const device = effectiveDevice(t.device, detected, notes);
  const dtype = resolveDtype(t.dtype, device);
  const compile = t.compile === 'true' || (t.compile === 'auto' && device.kind === 'cuda');
  const world = Math.max(1, config.distributed.nproc_per_node * config.distributed.nnodes);

  const [params, paramsTotal] = paramCount(shape);
  const tokensPerMicroBatch = t.batch_size * shape.block_size;
  const tokensPerIter = tokensPerMicroBatch * t.gradient_accumulation_steps;
  const perToken = flopsPerToken(params, shape.n_layer, shape.n_head, shape.n_embd, shape.block_size);
  const flopsPerIter = perToken * tokensPerIter;

  // Memory of one process: fp32 master weights and gradients (autocast keeps parameters in fp32),
  // AdamW's two fp32 moments, and the activations of one micro-batch.
  const weights = 4 * paramsTotal;
  const gradients = 4 * paramsTotal;
  const optimizer = 8 * paramsTotal;
  const actBytes = dtype === 'float32' ? 4 : 2;
  const s = shape.block_size;
  const b = t.batch_size;
  const h = shape.n_embd;
  // 34·s·b·h bytes per layer at 16 bits, of which 2·s·b·h are dropout masks (absent at dropout 0);
  // scaled by the activation width for float32
  const perLayer = (m.dropout > 0 ? 34 : 32) * s * b * h * (actBytes / 2);
  // embeddings' output, the final LayerNorm and the logits (fp32 for the loss, plus its gradient)
  const outside = s * b * h * actBytes * 2 + s * b * shape.vocab_size * (actBytes + 8);
  const activations = shape.n_layer * perLayer + outside;
  const total = weights + gradients + optimizer + activations;
  const exceedsMemory = device.memoryBytes !== undefined && total > device.memoryBytes;
  if (exceedsMemory) notes.push(`about ${formatBytes(total)} per process exceeds the ${formatBytes(device.memoryBytes!)} of ${device.name}: lower batch_size (and raise gradient_accumulation_steps) or shrink the model.`);

  // every process computes its share of the micro-batches
  const { flops, mfu } = achievedFlops(device, dtype, compile, perToken * tokensPerMicroBatch);
  const secondsPerIter = flopsPerIter / (flops * world);
  // an evaluation runs eval_iters forward passes (a third of the training FLOPs) on train and val
  const evals = Math.floor(t.max_iters / t.eval_interval) + 1;
  const evalSeconds = (evals * 2 * t.eval_iters * tokensPerMicroBatch * perToken) / 3 / (flops * world);
  const secondsPerRun = secondsPerIter * t.max_iters + evalSeconds;
  return {
    shape,
    params,
    paramsTotal,
    tokensPerIter,
    dtype,
    device,
    memory: { weights, gradients, optimizer, activations, total },
    exceedsMemory,
    flopsPerToken: perToken,
    flopsPerIter,
    secondsPerIter,
    secondsPerRun,
    assumedMfu: mfu,
    world,
    notes,
  };
}

/** Peak FLOP/s of NVIDIA GPUs by name, 16-bit dense, first match first (schemas/gpu-peaks.json). */
const PEAKS: [RegExp, number][] = gpuPeaks.peaks.map((p) => [new RegExp(p.pattern, 'i'), p.flops]);

export function gpuPeakFlops(name: string): number | undefined {
  return PEAKS.find(([pattern]) => pattern.test(name))?.[1];
}

// ---- formatting, shared by the config editor and tests

export function formatCount(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e12) return `${(n / 1e12).toFixed(2)} T`;
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : v >= 100 ? 0 : 1)} ${units[u]}`;
}

export function formatFlops(n: number): string {
  const units: [number, string][] = [
    [1e18, 'EFLOP'],
    [1e15, 'PFLOP'],
    [1e12, 'TFLOP'],
    [1e9, 'GFLOP'],
    [1e6, 'MFLOP'],
  ];
  for (const [scale, unit] of units) if (n >= scale) return `${(n / scale).toFixed(n / scale >= 100 ? 0 : 1)} ${unit}`;
  return `${Math.round(n)} FLOP`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 0)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  if (seconds < 86400 * 2) return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  return `${(seconds / 86400).toFixed(1)} days`;
}
