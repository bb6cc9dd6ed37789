// The keys/values of one sequence as the generation engine keeps them between steps. Each step
// fetches only the new tokens' keys/values from onnxruntime (model.onnx's new_key_<i>,
// new_value_<i>) and appends them here; the past that goes in is a prefix of these buffers
// (sequence-major, so a prefix is the whole past), passed without a copy. Fetching the whole
// present instead would copy the entire cache out of onnxruntime into fresh JS memory on every
// step.
import type * as OrtModule from 'onnxruntime-node';
import { UserError } from '../common/errors';
import { exportHint, INPUTS, OUTPUTS, type ModelFiles, type ModelMeta } from './modelFiles';

export class KvCache {
  /** Tokens whose keys/values are cached (the next position). */
  length = 0;
  private readonly past: string[];
  /** all_positions where the model has it: false, the last position's logits. */
  private readonly flags: string[];
  private readonly fetch: string[];
  private readonly width: number;
  private buffers: Float32Array[];
  private capacity = 0;

  constructor(
    private readonly ort: typeof OrtModule,
    private readonly session: OrtModule.InferenceSession,
    private readonly meta: ModelMeta,
    private readonly files: ModelFiles,
  ) {
    // n_kv_head * head_dim floats a position per layer: the key/value heads only, which grouped-query
    // attention shares among the query heads inside model.onnx (a fraction of n_embd for Llama / Qwen)
    this.width = meta.kv_cache.width;
    this.past = meta.inputs.slice(2);
    this.flags = meta.flag_inputs ?? [];
    // per layer new_key_<i>, new_value_<i>: the same order as the past inputs
    this.fetch = [
      OUTPUTS.logits,
      ...meta.outputs.filter((n) => n.startsWith(OUTPUTS.new_key) || n.startsWith(OUTPUTS.new_value)),
    ];
    this.buffers = this.past.map(() => new Float32Array(0));
  }

  reset(): void {
    this.length = 0;
  }

  /** Runs tokens at positions length, length+1, ...; returns the logits after the last one. */
  async feed(tokens: number[]): Promise<Float32Array> {
    const ort = this.ort;
    const block = this.meta.block_size;
    const past = this.length;
    const n = tokens.length;
    const total = past + n;
    if (total > block) throw new Error(`internal: ${total} positions exceed block_size ${block}`);
    const ids = new BigInt64Array(n);
    const pos = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = BigInt(tokens[i]);
      pos[i] = BigInt(past + i);
    }
    const feeds: Record<string, OrtModule.Tensor> = {
      [INPUTS.ids]: new ort.Tensor('int64', ids, [1, n]),
      [INPUTS.positions]: new ort.Tensor('int64', pos, [1, n]),
    };
    for (let j = 0; j < this.past.length; j++) {
      feeds[this.past[j]] = new ort.Tensor('float32', this.buffers[j].subarray(0, past * this.width), [
        1,
        past,
        this.width,
      ]);
    }
    for (const flag of this.flags) feeds[flag] = new ort.Tensor('bool', new Uint8Array(1), []);
    let out: OrtModule.InferenceSession.ReturnType;
    try {
      out = await this.session.run(feeds, this.fetch);
    } catch (err) {
      const first = String((err as Error).message ?? err).split('\n')[0];
      throw new UserError(
        `${this.files.onnx} failed to run (${first}). It may not match ${this.files.meta}. ${exportHint}`,
      );
    }
    this.grow(total);
    for (let j = 0; j < this.past.length; j++) {
      this.buffers[j].set(out[this.fetch[j + 1]].data as Float32Array, past * this.width);
    }
    this.length = total;
    const logits = out[OUTPUTS.logits].data as Float32Array;
    if (logits.length !== this.meta.vocab_size) {
      throw new UserError(
        `${this.files.onnx} gives ${logits.length} logits but ${this.files.meta} says vocab_size ${this.meta.vocab_size}. ${exportHint}`,
      );
    }
    return logits;
  }

  /** Room for `positions` positions, grown by doubling up to block_size (the past is copied). */
  private grow(positions: number): void {
    if (this.capacity >= positions) return;
    const cap = Math.min(this.meta.block_size, Math.max(positions, 2 * this.capacity, 64));
    this.buffers = this.buffers.map((old) => {
      const b = new Float32Array(cap * this.width);
      b.set(old.subarray(0, this.length * this.width));
      return b;
    });
    this.capacity = cap;
  }
}
