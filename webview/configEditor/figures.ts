// The config editor's Estimates panel: the figures of src/core/train/estimate.ts (parameters,
// memory, FLOPs, time) for the effective config, as the nodes of the panel's body; with a time
// budget, the iterations it holds (src/core/train/budget.ts).
import compileFacts from '../../schemas/compile.json';
import { budgetFigures } from '../../src/core/train/budget';
import {
  CPU_BYTES_PER_CORE,
  CPU_FLOPS_PER_CORE,
  estimate,
  formatBytes,
  formatCount,
  formatDuration,
  formatFlops,
  type EstimateInput,
} from '../../src/core/train/estimate';
import { el } from '../common';
import type { RunConfig } from '../../src/core/train/runConfig';
import type { DeviceInfo } from '../../src/core/webview/protocol';

/** The figures for a config that passes the field checks (n_embd a multiple of n_head). */
export function figureNodes(
  config: Record<string, Record<string, unknown>>,
  vocab: { size: number; source: string },
  device: DeviceInfo,
): HTMLElement[] {
  const f = estimate(config as unknown as EstimateInput, vocab.size, device);
  const row = (name: string, value: string, detail?: string, id?: string) => [
    el('dt', {}, name),
    el(
      'dd',
      { 'data-figure': id },
      el('strong', {}, value),
      detail ? el('span', { class: 'detail' }, ` ${detail}`) : '',
    ),
  ];
  const memory = f.memory;
  const budget = budgetFigures(f, config.train as unknown as RunConfig['train']);
  const maxIters = (config.train.max_iters as number).toLocaleString('en-US');
  const list = el(
    'dl',
    {},
    ...row(
      'Parameters',
      formatCount(f.params),
      `(${formatCount(f.paramsTotal)} with position embeddings; vocabulary ${f.shape.vocab_size.toLocaleString('en-US')}${vocab.source ? `, ${vocab.source}` : ''})`,
      'params',
    ),
    ...(f.trainable < f.paramsTotal
      ? row(
          'Trainable (LoRA)',
          formatCount(f.trainable),
          `(${((100 * f.trainable) / f.paramsTotal).toPrecision(2)}% of the parameters: the adapters, rank ${(config.train.lora as { rank: number }).rank}; the base stays frozen, with no gradients or AdamW state)`,
          'trainable',
        )
      : []),
    ...row(
      'Tokens per iteration',
      f.tokensPerIter.toLocaleString('en-US'),
      `(batch ${(config.train.batch_size as number).toLocaleString('en-US')} × block ${f.shape.block_size} × ${config.train.gradient_accumulation_steps} accumulation steps)`,
      'tokens',
    ),
    ...row(
      'Memory per process',
      formatBytes(memory.total),
      `(weights ${formatBytes(memory.weights)}, gradients ${formatBytes(memory.gradients)}, AdamW ${formatBytes(memory.optimizer)}, activations ${formatBytes(memory.activations)} at ${f.dtype})`,
      'memory',
    ),
    ...row('FLOPs per iteration', formatFlops(f.flopsPerIter), `(${formatFlops(f.flopsPerToken)} per token)`, 'flops'),
    ...row(
      'Time per iteration',
      `≈ ${formatDuration(f.secondsPerIter)}`,
      `on ${f.device.name}${f.world > 1 ? ` × ${f.world} processes` : ''}`,
      'iter-time',
    ),
    ...(budget === undefined
      ? row(
          'Whole run',
          `≈ ${formatDuration(f.secondsPerRun)}`,
          `(${maxIters} iterations and the evaluations)`,
          'run-time',
        )
      : row(
          'Whole run',
          `≈ ${formatDuration(budget.runSeconds)}`,
          budget.cappedByMaxIters
            ? `(${maxIters} iterations and the evaluations, before the ${formatDuration(budget.seconds)} time budget ends)`
            : `(the time budget: ≈ ${budget.iterations.toLocaleString('en-US')} iterations and the evaluations at this pace)`,
          'run-time',
        )),
  );
  const counted =
    config.optimizer.name === 'muon' ? "the FLOPs (the model's and Muon's orthogonalisation)" : 'the FLOPs';
  const compiled =
    f.compiled && f.device.kind === 'cpu'
      ? `; compiled (train.compile), ${compileFacts.cpu_speedup}× as fast after about ${compileFacts.cpu_compile_seconds} s of compiling`
      : '';
  const how =
    f.device.kind === 'cpu'
      ? `${counted} at about ${CPU_FLOPS_PER_CORE / 1e9} GFLOP/s per core, plus the memory traffic (the activations, above all the logits over the whole vocabulary, and the weights, gradients and optimizer state) at about ${CPU_BYTES_PER_CORE / 1e9} GB/s per core${compiled}`
      : `${counted} at ${f.device.kind === 'cuda' ? `${(100 * f.assumedMfu).toFixed(0)}% model FLOPs utilisation` : 'about 1.5 TFLOP/s'}, memory traffic included in that rate`;
  const notes = f.notes.map((n) =>
    el('p', { class: f.exceedsMemory && n.includes('exceeds') ? 'warning' : 'muted' }, n),
  );
  if (budget?.note) notes.push(el('p', { class: 'warning', 'data-note': 'budget' }, budget.note));
  return [
    list,
    ...notes,
    el(
      'p',
      { class: 'muted' },
      `Rough estimates: ${how}. A run can take several times as long on a busy machine; the first iterations of the run show its real pace.`,
    ),
  ];
}
