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
// Time per iteration: the FLOPs (the model's, less LoRA's frozen weights' gradients, plus Muon's
// orthogonalisation) at an achieved FLOP rate, plus on a CPU the memory traffic at an achieved
// bandwidth (secondsPerIter; the CPU's rates are held to test/cases/estimate-timings.json).
// Compiled on a CPU (train.compile, autoRules.ts), the time is shorter by the measured speed-up
// plus the compilation. GPU peaks, GPT-2's shapes and those compile figures are data the trainer
// reads too: schemas/gpu-peaks.json, schemas/gpt2.json and schemas/compile.json, bundled in.
import gpt2 from '../../../schemas/gpt2.json';
import compileFacts from '../../../schemas/compile.json';
import gpuPeaks from '../../../schemas/gpu-peaks.json';
import type { DeviceInfo } from '../webview/protocol';
import { effectiveDevice, resolveCompile, resolveDtype } from './autoRules';
import { loraParams } from './loraParams';
import type { RunConfig } from './runConfig';

/** The parts of a run configuration the figures depend on. */
export interface EstimateInput {
  model: RunConfig['model'];
  train: Pick<
    RunConfig['train'],
    | 'init_from'
    | 'batch_size'
    | 'gradient_accumulation_steps'
    | 'max_iters'
    | 'eval_interval'
    | 'eval_iters'
    | 'device'
    | 'dtype'
    | 'compile'
    | 'lora'
  > &
    Partial<Pick<RunConfig['train'], 'time_budget_s'>>;
  distributed: Pick<RunConfig['distributed'], 'nproc_per_node' | 'nnodes'>;
  /** Left out: AdamW (the schema's default). */
  optimizer?: Pick<RunConfig['optimizer'], 'name'>;
}

export interface Figures {
  /** The architecture actually trained: init_from gpt2* replaces the model group's shape. */
  shape: ModelShape;
  /** Parameters as nanoGPT reports them (without position embeddings). */
  params: number;
  /** Every parameter, position embeddings included. */
  paramsTotal: number;
  /** Parameters that train: all of them, or with train.lora the adapters' alone (loraParams.ts). */
  trainable: number;
  tokensPerIter: number;
  /** Resolved dtype of the run (auto resolved against the device). */
  dtype: 'float32' | 'bfloat16' | 'float16';
  /** Which device the estimate is for: the detected one, or CPU when train.device forces it. */
  device: DeviceInfo;
  memory: { weights: number; gradients: number; optimizer: number; activations: number; total: number };
  /** true when the per-device total exceeds the device's memory. */
  exceedsMemory: boolean;
  flopsPerToken: number;
  /** The model's FLOPs per optimizer step (6N + attention per token, as the trainer's MFU counts). */
  flopsPerIter: number;
  /** FLOPs of the optimizer step itself: Muon's Newton-Schulz iterations (0 for AdamW). */
  optimizerFlopsPerIter: number;
  /** Bytes one process moves through memory per optimizer step in memory-bound kernels (the
   *  second term of secondsPerIter; counted on CPUs only). */
  bytesPerIter: number;
  /** Share of the parameters in the token embedding (and the untied head), 0..1. */
  embeddingShare: number;
  /** Estimated seconds per optimizer step and for the whole run (evaluations included). */
  secondsPerIter: number;
  secondsPerRun: number;
  /** Model FLOPs utilisation assumed for the time estimate, 0..1. */
  assumedMfu: number;
  /** The rates the time assumes: FLOP/s, and bytes/s of memory traffic (Infinity on GPUs, whose
   *  assumed MFU covers their memory-bound kernels). */
  assumedRates: { flops: number; bytesPerSecond: number };
  /** Whether the run compiles (train.compile; auto on a CPU by the run's length: autoRules.ts). */
  compiled: boolean;
  /** Processes (GPUs) working together. */
  world: number;
  /** Caveats worth showing (device mismatch, memory, a vocabulary that dwarfs the model). */
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
  /** Key/value heads (null: n_head), each head's size (null: n_embd / n_head), the MLP's width
   *  (null: mlpHidden's rule), biases on q/k/v alone (Qwen2). */
  n_kv_head?: number | null;
  head_dim?: number | null;
  mlp_hidden?: number | null;
  attn_bias?: boolean;
  /** U-net skips: one learned weight per pair of mirrored blocks. */
  skip_connections?: boolean;
}

/** The MLP's hidden width: 4·n_embd; SwiGLU's three matrices 8/3·n_embd, down to a multiple of 8
 *  (the trainer's GPTConfig.mlp_hidden; both held to test/cases/params.json). */
export function mlpHidden(shape: Pick<ModelShape, 'n_embd' | 'mlp' | 'mlp_hidden'>): number {
  if (shape.mlp_hidden) return shape.mlp_hidden;
  return shape.mlp === 'swiglu' ? Math.floor(Math.floor((8 * shape.n_embd) / 3) / 8) * 8 : 4 * shape.n_embd;
}

/** Parameters of the model: [without position embeddings, total], nanoGPT's count (the real
 *  vocabulary, not the trainer's padded one). */
export function paramCount(shape: ModelShape): [number, number] {
  const d = shape.n_embd;
  const h = mlpHidden(shape);
  const layerNormBias = shape.norm !== 'rmsnorm' && shape.bias; // RMSNorm has no bias
  const headDim = shape.head_dim ?? d / shape.n_head;
  const [q, kv] = [shape.n_head * headDim, (shape.n_kv_head ?? shape.n_head) * headDim];
  // c_attn d·(q + 2kv), c_proj q·d (4d² for GPT-2's heads); biases on all, or on q/k/v alone
  const attention = d * (q + 2 * kv) + q * d + (shape.bias ? q + 2 * kv + d : shape.attn_bias ? q + 2 * kv : 0);
  const mlp = shape.mlp === 'swiglu' ? 3 * d * h + (shape.bias ? 2 * h + d : 0) : 2 * d * h + (shape.bias ? h + d : 0);
  const norms = 2 * d + (layerNormBias ? 2 * d : 0) + (shape.qk_norm ? 2 * headDim : 0);
  const lnF = d + (layerNormBias ? d : 0);
  const wte = shape.vocab_size * d;
  const head = shape.tie_embeddings === false ? shape.vocab_size * d : 0; // tied: wte is the head
  const wpe = shape.position === 'rope' ? 0 : shape.block_size * d;
  const skips = shape.skip_connections ? Math.floor(shape.n_layer / 2) : 0;
  const withoutPos = shape.n_layer * (attention + mlp + norms) + lnF + wte + head + skips;
  return [withoutPos, withoutPos + wpe];
}

/** FLOPs per token for forward + backward (PaLM appendix B), as the trainer's MFU counts them
 *  (both held to test/cases/mfu.json). */
export function flopsPerToken(params: number, n_layer: number, n_head: number, n_embd: number, seqLen: number): number {
  return 6 * params + 12 * n_layer * n_head * (n_embd / n_head) * seqLen;
}

// The CPU's two assumptions. Both are per core: PyTorch spreads its matmuls and its large
// element-wise kernels over every core it is given. Checked against the training steps measured
// on a 2-core AMD EPYC VM (test/cases/estimate-timings.json: within 2x of each, both ways).
/** Sustained fp32 FLOP/s of one CPU core running PyTorch's matmuls (AVX2/AVX-512 FMA, a rough
 *  middle of what small-GPT training reaches on current x86 and ARM cores). */
export const CPU_FLOPS_PER_CORE = 25e9;
/** Bytes per second one CPU core moves through PyTorch's memory-bound kernels (softmax and
 *  cross-entropy over the logits, normalisation, activations, AdamW's update): an achieved rate,
 *  far below the DRAM's peak, since those kernels also compute (exp, log) per element. */
export const CPU_BYTES_PER_CORE = 2.5e9;
/** Apple-silicon GPU through MPS: a modest middle of the M-series (M1 2.6 to M3 Max 14 TFLOPS). */
export const MPS_FLOPS = 5e12;

/** Achieved throughput of one device for a micro-batch of `flopsPerMicroBatch`: FLOP/s, the MFU
 *  assumed, and bytes/s for memory-bound work. Small models are dominated by kernel launches and
 *  reach a few percent of a GPU's peak; large ones approach the 40-50% well-tuned training
 *  reaches (nanoGPT's GPT-2 on A100). On GPUs and MPS that MFU stands for everything, memory-bound
 *  kernels included (bytesPerSecond Infinity); on a CPU memory traffic is counted separately. */
export function achievedFlops(
  device: DeviceInfo,
  dtype: string,
  compile: boolean,
  flopsPerMicroBatch: number,
): { flops: number; mfu: number; bytesPerSecond: number } {
  if (device.kind === 'cpu') {
    const cores = device.cores ?? 1;
    const flops = cores * CPU_FLOPS_PER_CORE * (dtype === 'float32' ? 1 : 0.5); // CPUs lack fast 16-bit matmuls
    return { flops, mfu: 1, bytesPerSecond: cores * CPU_BYTES_PER_CORE };
  }
  if (device.kind === 'mps') return { flops: MPS_FLOPS * 0.3, mfu: 0.3, bytesPerSecond: Infinity };
  const peak16 = device.peakFlops16 ?? 100e12;
  const peak = dtype === 'float32' ? (device.peakFlops32 ?? peak16 / 2) : peak16;
  const saturation = flopsPerMicroBatch / (flopsPerMicroBatch + 2e12);
  const mfu = Math.max(0.02, (compile ? 0.5 : 0.4) * saturation);
  return { flops: peak * mfu, mfu, bytesPerSecond: Infinity };
}

/** FLOPs of one Muon step: five quintic Newton-Schulz iterations on every 2-D matrix of the
 *  blocks (trainer/wordplay_trainer/train/muon.py), each 4·m²·n + 2·m³ for an m×n matrix with m <= n
 *  (X·Xᵀ, its square, and that times X). */
export function muonFlops(shape: ModelShape): number {
  const d = shape.n_embd;
  const h = mlpHidden(shape);
  const newtonSchulz = (rows: number, cols: number) => {
    const m = Math.min(rows, cols);
    const n = Math.max(rows, cols);
    return 5 * (4 * m * m * n + 2 * m * m * m);
  };
  const headDim = shape.head_dim ?? d / shape.n_head;
  const [q, kv] = [shape.n_head * headDim, (shape.n_kv_head ?? shape.n_head) * headDim];
  const attention = newtonSchulz(q + 2 * kv, d) + newtonSchulz(d, q); // c_attn, c_proj
  const mlp = (shape.mlp === 'swiglu' ? 3 : 2) * newtonSchulz(h, d); // SwiGLU's three matrices, or two
  return shape.n_layer * (attention + mlp);
}

/** Every figure for a configuration on a device. `vocabSize` comes from the dataset
 *  (meta.json); for init_from gpt2* it is GPT-2's. */
export function estimate(config: EstimateInput, vocabSize: number, detected: DeviceInfo): Figures {
  const notes: string[] = [];
  const m = config.model;
  const t = config.train;
  const pretrained = GPT2_SHAPES[t.init_from];
  const shape: ModelShape = pretrained
    ? { ...pretrained, block_size: Math.min(m.block_size, GPT2_BLOCK), vocab_size: GPT2_VOCAB, bias: true }
    : { ...m, vocab_size: vocabSize };
  if (pretrained)
    notes.push(
      `init_from ${t.init_from}: the model group's shape is replaced by GPT-2's (${pretrained.n_layer} layers, ${pretrained.n_head} heads, ${pretrained.n_embd} wide).`,
    );

  const device = effectiveDevice(t.device, detected, notes);
  const dtype = resolveDtype(t.dtype, device, notes);
  const compile = resolveCompile(t.compile, device, null, shape.n_embd, m.dropout); // a GPU's, whatever the length
  const world = Math.max(1, config.distributed.nproc_per_node * config.distributed.nnodes);

  const [params, paramsTotal] = paramCount(shape);
  const tokensPerMicroBatch = t.batch_size * shape.block_size;
  const tokensPerIter = tokensPerMicroBatch * t.gradient_accumulation_steps;
  const perToken = flopsPerToken(params, shape.n_layer, shape.n_head, shape.n_embd, shape.block_size);
  const flopsPerIter = perToken * tokensPerIter;
  const trainable = loraParams({ ...shape, hidden: mlpHidden(shape) }, t.lora) ?? paramsTotal;

  // Memory of one process: fp32 master weights and gradients (autocast keeps parameters in fp32),
  // AdamW's two fp32 moments (LoRA: those two of its adapters alone), a micro-batch's activations.
  const weights = 4 * paramsTotal;
  const [gradients, optimizer] = [4 * trainable, 8 * trainable];
  const actBytes = dtype === 'float32' ? 4 : 2;
  const [s, b, h] = [shape.block_size, t.batch_size, shape.n_embd];
  // 34·s·b·h bytes per layer at 16 bits, of which 2·s·b·h are dropout masks (absent at dropout 0);
  // scaled by the activation width for float32
  const perLayer = (m.dropout > 0 ? 34 : 32) * s * b * h * (actBytes / 2);
  // embeddings' output, the final LayerNorm and the logits (fp32 for the loss, plus its gradient)
  const outside = s * b * h * actBytes * 2 + s * b * shape.vocab_size * (actBytes + 8);
  const activations = shape.n_layer * perLayer + outside;
  const total = weights + gradients + optimizer + activations;
  const exceedsMemory = device.memoryBytes !== undefined && total > device.memoryBytes;
  if (exceedsMemory)
    notes.push(
      `about ${formatBytes(total)} per process exceeds the ${formatBytes(device.memoryBytes!)} of ${device.name}: lower batch_size (and raise gradient_accumulation_steps) or shrink the model.`,
    );

  // Time per optimizer step = FLOPs / FLOP rate + bytes / memory bandwidth.
  //  - FLOPs: the model's (6N + attention per token; LoRA skips the frozen weights' gradients, 2N)
  //    and, for Muon, its orthogonalisation, which every process runs on every matrix.
  //  - Bytes (CPU only; a GPU's assumed MFU stands for its memory-bound kernels too): each
  //    micro-batch's activations are written by the forward pass, read by the backward pass and
  //    their gradients written, 3 x the activation memory above; once a step the model's state
  //    (weights, gradients, AdamW's moments) is read and written, 2 x its memory.
  // A large vocabulary dominates both byte counts. The logits (batch x block x vocabulary) hold
  // 12 bytes each in the activation memory at float32, so 36 bytes of traffic: nine float32
  // passes (the head writes them; log-softmax reads them and writes its output; the backward
  // writes the loss gradient, log-softmax's backward reads two and writes one, the head's
  // backward reads that twice). And the embedding (the head, tied) is most of the model's state.
  // A 2-layer, 64-wide model with GPT-2's 50,257 tokens spends as long on the bytes as on the
  // FLOPs on a CPU: the FLOPs alone predicted half the measured time
  // (test/cases/estimate-timings.json).
  const { flops, mfu, bytesPerSecond } = achievedFlops(device, dtype, compile, perToken * tokensPerMicroBatch);
  const optimizerFlopsPerIter = config.optimizer?.name === 'muon' ? muonFlops(shape) : 0;
  // every process computes its share of the micro-batches, and its own optimizer step in full
  const microBatches = t.gradient_accumulation_steps / world;
  const bytesPerIter = 3 * activations * microBatches + 2 * (weights + gradients + optimizer);
  const trainedFlops = trainable < paramsTotal ? flopsPerIter - 2 * params * tokensPerIter : flopsPerIter;
  const eagerPerIter = (trainedFlops / world + optimizerFlopsPerIter) / flops + bytesPerIter / bytesPerSecond;
  // an evaluation runs eval_iters forward passes on train and val: a third of the training FLOPs,
  // and the activations written once
  const evals = Math.floor(t.max_iters / t.eval_interval) + 1;
  const evalSeconds =
    (evals * 2 * t.eval_iters * ((tokensPerMicroBatch * perToken) / 3 / flops + activations / bytesPerSecond)) / world;
  // compiled on the CPU (auto: when the run trains long enough uncompiled), its rates are higher by
  // the measured speed-up and the compilation counts in the run (schemas/compile.json)
  const eagerRun = eagerPerIter * t.max_iters + evalSeconds;
  const cpuRun = Math.min(eagerRun, t.time_budget_s ?? Infinity);
  const compiled = device.kind === 'cpu' ? resolveCompile(t.compile, device, cpuRun, shape.n_embd, m.dropout) : compile;
  const speedup = compiled && device.kind === 'cpu' ? compileFacts.cpu_speedup : 1;
  const secondsPerIter = eagerPerIter / speedup;
  const secondsPerRun = eagerRun / speedup + (speedup > 1 ? compileFacts.cpu_compile_seconds : 0);

  // A vocabulary much larger than the model: say where the parameters (and the compute) go.
  const embeddingParams = shape.vocab_size * shape.n_embd * (shape.tie_embeddings === false ? 2 : 1);
  const embeddingShare = embeddingParams / paramsTotal;
  if (embeddingShare > 0.5) notes.push(embeddingNote(shape, embeddingShare));
  return {
    shape,
    params,
    paramsTotal,
    trainable,
    tokensPerIter,
    dtype,
    device,
    memory: { weights, gradients, optimizer, activations, total },
    exceedsMemory,
    flopsPerToken: perToken,
    flopsPerIter,
    optimizerFlopsPerIter,
    bytesPerIter,
    embeddingShare,
    secondsPerIter,
    secondsPerRun,
    assumedMfu: mfu,
    assumedRates: { flops: flops * speedup, bytesPerSecond: bytesPerSecond * speedup },
    compiled,
    world,
    notes,
  };
}

/** The BPE vocabulary the embedding note suggests: a few thousand tokens suit a small corpus. */
const BPE_VOCAB = 4096;

/** The note for a model whose token embedding (and untied head) holds most of its parameters:
 *  the head's matmul, the softmax over the vocabulary and the embedding's optimizer state then
 *  take most of each step, for tokens the corpus may rarely use. */
export function embeddingNote(shape: Pick<ModelShape, 'vocab_size' | 'tie_embeddings'>, share: number): string {
  const what =
    shape.tie_embeddings === false ? 'The token embedding and the output head hold' : 'The token embedding holds';
  const head = `${what} ${Math.round(100 * share)}% of the parameters (vocabulary ${shape.vocab_size.toLocaleString('en-US')})`;
  if (shape.vocab_size > BPE_VOCAB) {
    return `${head}: most of the compute goes to tokens this corpus may never use. Prepare the dataset with a BPE trained on it (wordplay prepare --tokenizer bpe --vocab-size ${BPE_VOCAB}).`;
  }
  return `${head}: most of the compute goes to the vocabulary, little to the layers. A smaller vocabulary (wordplay prepare --tokenizer bpe --vocab-size N) or a wider or deeper model spends it on the layers.`;
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
  let [v, u] = [n, 0];
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : v >= 100 ? 0 : 1)} ${units[u]}`;
}

export function formatFlops(n: number): string {
  const units = Object.entries({ EFLOP: 1e18, PFLOP: 1e15, TFLOP: 1e12, GFLOP: 1e9, MFLOP: 1e6 });
  for (const [unit, scale] of units) if (n >= scale) return `${(n / scale).toFixed(n / scale >= 100 ? 0 : 1)} ${unit}`;
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
