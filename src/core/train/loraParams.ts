// train.lora in the estimates: the adapters' parameters, the only ones that train, so the only
// ones with gradients and AdamW's moments. The trainer's train/lora.py puts rank · (in + out) on
// each target projection of each layer (q, k and v each on their rows of the fused c_attn; gate
// only where the MLP is SwiGLU). Pure arithmetic, bundled into the config editor too.
import type { LoraSettings, LoraTarget } from './runConfig';

/** The sizes of a layer's projections: a model shape, and its MLP's width worked out. */
export interface LayerWidths {
  n_layer: number;
  n_embd: number;
  n_head: number;
  /** Key/value heads (grouped-query attention); absent or null: n_head. */
  n_kv_head?: number | null;
  /** Each head's size; absent or null: n_embd / n_head. */
  head_dim?: number | null;
  mlp?: string;
  /** The MLP's hidden width. */
  hidden: number;
}

/** The adapters' parameters, or undefined without LoRA (no settings, or a null rank). */
export function loraParams(
  w: LayerWidths,
  lora: Pick<LoraSettings, 'rank' | 'targets'> | undefined,
): number | undefined {
  if (!lora || lora.rank === null) return undefined;
  const head = w.head_dim ?? w.n_embd / w.n_head;
  const [d, q, kv] = [w.n_embd, w.n_head * head, (w.n_kv_head ?? w.n_head) * head];
  // in + out of each projection
  const sizes: Record<LoraTarget, number> = {
    q: d + q,
    k: d + kv,
    v: d + kv,
    o: q + d,
    gate: w.mlp === 'swiglu' ? d + w.hidden : 0,
    up: d + w.hidden,
    down: w.hidden + d,
  };
  const perLayer = [...new Set(lora.targets)].reduce((sum, t) => sum + lora.rank! * sizes[t], 0);
  return w.n_layer * perLayer;
}
