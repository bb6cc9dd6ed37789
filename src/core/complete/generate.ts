// The generation engine: a trained model (model.onnx + model.json) continues a prompt, in Node,
// with onnxruntime-node and a KV cache.
//
// - onnxruntime-node is required on first use only, so the extension activates without it.
// - One session per model file, cached, and loaded again when the file's mtime or size changes.
// - The prompt is prefilled in one run; then each new token costs one run of one position: the
//   keys/values of earlier tokens go in as inputs (a prefix of this engine's buffers, without a
//   copy), and only the new token's keys/values come back, to be appended (see KvCache).
// - When the next position would reach block_size, the window slides: the most recent
//   block_size/2 tokens are kept and prefilled again at positions 0.. (positions are absolute
//   within the window, as in training). A prompt longer than block_size keeps its end.
// - Characters a char model's vocabulary lacks are dropped from the prompt, and a warning names
//   them (onWarning, and `warnings` in the summary): the model never saw them, so the best it
//   can do is continue the text without them. gpt2's byte-level BPE has no unknown characters.
// - An empty prompt starts from "\n" for a char model (from the first character of its
//   vocabulary when it has no newline) and from <|endoftext|> for gpt2: what a document
//   starts after in training. The start token is not part of the output.
import * as fs from 'node:fs';
import * as os from 'node:os';
import type * as OrtModule from 'onnxruntime-node';
import { UserError } from '../common/errors';
import { readModelMeta, resolveModelFiles, type ModelFiles, type ModelMeta } from './modelFiles';
import { Rng, sampleToken } from './sampling';
import { CharTokenizer, tokenizerFromSpec, type Tokenizer } from '../prepare/tokenizer';

type Ort = typeof OrtModule;
type Session = OrtModule.InferenceSession;

let ortModule: Ort | undefined;
/** onnxruntime-node, required on first use (a plain require: it works the same from src/ under
 *  tsx, from the esbuild bundle, and in the editor's extension host). */
function loadOrt(): Ort {
  if (!ortModule) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ortModule = require('onnxruntime-node') as Ort;
    } catch (err) {
      throw new UserError(`onnxruntime-node could not be loaded (${String((err as Error).message ?? err).split('\n')[0]}): reinstall wordplay's dependencies with "npm install".`);
    }
  }
  return ortModule;
}

export interface EngineOptions {
  /** Threads onnxruntime uses inside one operator: WORDPLAY_ORT_THREADS, else 2 (1 on a
   *  one-core machine). Measured on 2 shared cores: 2 threads prefill a 100-token prompt ~1.5x
   *  faster than 1 and decode fp32 as fast; more gain little on a model this size. */
  threads?: number;
  /** Let onnxruntime's worker threads spin-wait between operators (WORDPLAY_ORT_SPIN=1). Off
   *  by default: with other processes on the cores (a training run, the editor) spinning
   *  threads made generation 2x slower in our measurements. Only matters with threads > 1. */
  spin?: boolean;
}

function defaultThreads(): number {
  const n = Number(process.env.WORDPLAY_ORT_THREADS);
  return Number.isInteger(n) && n > 0 ? n : Math.min(2, os.availableParallelism());
}

const exportHint = 'Export it again with "wordplay export --run <run dir>".';

/** A loaded model: its onnxruntime session, model.json and tokenizer. */
export class GenerationModel {
  private active = 0;
  private stale = false;
  private idle: KvCache | undefined;

  constructor(
    readonly files: ModelFiles,
    readonly meta: ModelMeta,
    readonly tokenizer: Tokenizer,
    readonly session: Session,
    readonly ort: Ort,
    /** onnxruntime's intra-op threads for this session. */
    readonly threads: number,
  ) {}

  get blockSize(): number {
    return this.meta.block_size;
  }

  get vocabSize(): number {
    return this.meta.vocab_size;
  }

  /** A KV cache for one sequence; give it back with release() so the next one reuses it. */
  acquire(): KvCache {
    this.active++;
    const kv = this.idle ?? new KvCache(this, this.ort);
    this.idle = undefined;
    kv.reset();
    return kv;
  }

  release(kv: KvCache): void {
    this.active--;
    this.idle = kv;
    if (this.stale && this.active === 0) void this.dispose();
  }

  /** Called when the file changed: the session goes once no generation uses it. */
  retire(): void {
    this.stale = true;
    if (this.active === 0) void this.dispose();
  }

  private async dispose(): Promise<void> {
    this.idle = undefined;
    await this.session.release().catch(() => undefined);
  }
}

/** The keys/values of one sequence. Each step fetches only the new tokens' keys/values from
 *  onnxruntime (new_key_<i>, new_value_<i>) and appends them here; the past that goes in is a
 *  prefix of these buffers (sequence-major, so a prefix is the whole past), passed without a
 *  copy. Fetching the whole present instead would copy the entire cache out of onnxruntime
 *  into fresh JS memory on every step. */
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
    private readonly model: GenerationModel,
    private readonly ort: Ort,
  ) {
    const m = model.meta;
    this.width = m.kv_cache.width;
    this.past = m.inputs.slice(2);
    this.flags = m.flag_inputs ?? [];
    this.fetch = ['logits', ...m.outputs.filter((n) => n.startsWith('new_'))];
    this.buffers = this.past.map(() => new Float32Array(0));
  }

  reset(): void {
    this.length = 0;
  }

  /** Runs tokens at positions length, length+1, ...; returns the logits after the last one. */
  async feed(tokens: number[]): Promise<Float32Array> {
    const ort = this.ort;
    const past = this.length;
    const n = tokens.length;
    const total = past + n;
    if (total > this.model.blockSize) throw new Error(`internal: ${total} positions exceed block_size ${this.model.blockSize}`);
    const ids = new BigInt64Array(n);
    const pos = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = BigInt(tokens[i]);
      pos[i] = BigInt(past + i);
    }
    const feeds: Record<string, OrtModule.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [1, n]),
      position_ids: new ort.Tensor('int64', pos, [1, n]),
    };
    for (let j = 0; j < this.past.length; j++) {
      feeds[this.past[j]] = new ort.Tensor('float32', this.buffers[j].subarray(0, past * this.width), [1, past, this.width]);
    }
    for (const flag of this.flags) feeds[flag] = new ort.Tensor('bool', new Uint8Array(1), []);
    let out: OrtModule.InferenceSession.ReturnType;
    try {
      out = await this.model.session.run(feeds, this.fetch);
    } catch (err) {
      const first = String((err as Error).message ?? err).split('\n')[0];
      throw new UserError(`${this.model.files.onnx} failed to run (${first}). It may not match ${this.model.files.meta}. ${exportHint}`);
    }
    this.grow(total);
    for (let j = 0; j < this.past.length; j++) {
      this.buffers[j].set(out[this.fetch[j + 1]].data as Float32Array, past * this.width);
    }
    this.length = total;
    const logits = out.logits.data as Float32Array;
    if (logits.length !== this.model.vocabSize) {
      throw new UserError(`${this.model.files.onnx} gives ${logits.length} logits but ${this.model.files.meta} says vocab_size ${this.model.vocabSize}. ${exportHint}`);
    }
    return logits;
  }

  /** Room for `positions` positions, grown by doubling up to block_size (the past is copied). */
  private grow(positions: number): void {
    if (this.capacity >= positions) return;
    const cap = Math.min(this.model.blockSize, Math.max(positions, 2 * this.capacity, 64));
    this.buffers = this.buffers.map((old) => {
      const b = new Float32Array(cap * this.width);
      b.set(old.subarray(0, this.length * this.width));
      return b;
    });
    this.capacity = cap;
  }
}

interface CacheEntry {
  key: string;
  model: Promise<GenerationModel>;
}
const sessions = new Map<string, CacheEntry>();

function fileKey(files: ModelFiles): string {
  const stat = (f: string) => {
    try {
      const s = fs.statSync(f);
      return `${s.mtimeMs}:${s.size}`;
    } catch {
      return 'missing';
    }
  };
  return `${stat(files.onnx)}|${stat(files.meta)}`;
}

/** The model at a run dir or .onnx path: from the cache while its files are unchanged. */
export async function loadGenerationModel(target: string, options: EngineOptions = {}): Promise<GenerationModel> {
  const files = resolveModelFiles(target);
  const threads = options.threads ?? defaultThreads();
  const spin = options.spin ?? process.env.WORDPLAY_ORT_SPIN === '1';
  const slot = `${files.onnx}|${threads}|${spin}`;
  const key = fileKey(files);
  const hit = sessions.get(slot);
  if (hit?.key === key) return hit.model;
  if (hit) hit.model.then((m) => m.retire(), () => undefined);
  const model = openModel(files, threads, spin);
  sessions.set(slot, { key, model });
  model.catch(() => {
    if (sessions.get(slot)?.model === model) sessions.delete(slot);
  });
  return model;
}

/** Forgets every cached session (tests; the extension on deactivate). */
export function clearModelCache(): void {
  for (const entry of sessions.values()) entry.model.then((m) => m.retire(), () => undefined);
  sessions.clear();
}

async function openModel(files: ModelFiles, threads: number, spin: boolean): Promise<GenerationModel> {
  const meta = readModelMeta(files.meta);
  const tokenizer = tokenizerFromSpec(meta.tokenizer);
  const ort = loadOrt();
  let session: Session;
  try {
    session = await ort.InferenceSession.create(files.onnx, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      ...(spin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    });
  } catch (err) {
    const first = String((err as Error).message ?? err).split('\n')[0];
    throw new UserError(`${files.onnx} could not be loaded (${first}): the file is missing, truncated or not a wordplay model. ${exportHint}`);
  }
  const disagree = (what: string) => {
    void session.release().catch(() => undefined);
    return new UserError(`${files.meta} does not match ${files.onnx}: ${what}. ${exportHint}`);
  };
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((n, i) => n === b[i]);
  if (!same([...session.inputNames].sort(), [...meta.inputs, ...(meta.flag_inputs ?? [])].sort())) {
    throw disagree(`the model's inputs are ${session.inputNames.slice(0, 4).join(', ')}${session.inputNames.length > 4 ? ', ...' : ''} (${session.inputNames.length} in all), model.json lists ${meta.inputs.length}`);
  }
  if (!same([...session.outputNames].sort(), [...meta.outputs].sort())) {
    throw disagree(`the model's outputs (${session.outputNames.length}) are not the ${meta.outputs.length} model.json lists`);
  }
  const shapeOf = (list: readonly OrtModule.InferenceSession.ValueMetadata[], name: string) => {
    const m = list.find((v) => v.name === name);
    return m && m.isTensor ? m.shape : undefined;
  };
  const logits = shapeOf(session.outputMetadata, 'logits');
  if (logits && typeof logits[1] === 'number' && logits[1] !== meta.vocab_size) {
    throw disagree(`the model gives ${logits[1]} logits, model.json says vocab_size ${meta.vocab_size}`);
  }
  const pastKey = shapeOf(session.inputMetadata, 'past_key_0');
  if (pastKey && typeof pastKey[2] === 'number' && pastKey[2] !== meta.kv_cache.width) {
    throw disagree(`the model's keys/values are ${pastKey[2]} wide, model.json says ${meta.kv_cache.width}`);
  }
  return new GenerationModel(files, meta, tokenizer, session, ort, threads);
}

export interface GenerateOptions {
  prompt: string;
  /** New tokens at most (default 200); must be at least 1. */
  maxTokens?: number;
  /** 0: greedy. Default 0.8. */
  temperature?: number;
  /** 0 (default): no top-k. */
  topK?: number;
  /** 1 (default): no top-p. */
  topP?: number;
  /** Same seed, prompt and settings: same text. Default: a random seed. */
  seed?: number;
  /** Generation ends before the first of these strings; it is not part of the output. */
  stop?: string[];
  signal?: AbortSignal;
  /** Told about dropped prompt characters and other things the user should know. */
  onWarning?(message: string): void;
  /** false: recompute the whole context every step, nanoGPT's generate() (the benchmark's baseline). */
  cache?: boolean;
}

export interface GenerationSummary {
  text: string;
  tokens: number;
  promptTokens: number;
  reason: 'length' | 'stop' | 'aborted';
  warnings: string[];
  seed: number;
  /** From the start of the prefill to the first new token, session already loaded. */
  firstTokenMs: number;
  /** New tokens per second after the first. */
  tokensPerSecond: number;
  /** Times the window slid (prefilled again) because the context reached block_size. */
  slides: number;
}

export interface ResolvedOptions {
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  stop: string[];
}

/** Checks the options; bad ones are UserErrors naming the option as the CLI spells it. */
export function resolveOptions(o: Omit<GenerateOptions, 'prompt'>): ResolvedOptions {
  const maxTokens = o.maxTokens ?? 200;
  if (!Number.isInteger(maxTokens) || maxTokens <= 0) throw new UserError(`--max-tokens must be a whole number of at least 1, got ${maxTokens}: nothing would be generated.`);
  const temperature = o.temperature ?? 0.8;
  if (!Number.isFinite(temperature) || temperature < 0) throw new UserError(`--temperature must be 0 (greedy) or more, got ${temperature}.`);
  const topK = o.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0) throw new UserError(`--top-k must be a whole number, 0 for none, got ${topK}.`);
  const topP = o.topP ?? 1;
  if (!Number.isFinite(topP) || topP <= 0 || topP > 1) throw new UserError(`--top-p must be above 0 and at most 1, got ${topP}.`);
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isSafeInteger(seed)) throw new UserError(`--seed must be a whole number, got ${seed}.`);
  const stop = o.stop ?? [];
  if (stop.some((s) => s.length === 0)) throw new UserError('--stop must not be empty.');
  return { maxTokens, temperature, topK, topP, seed, stop };
}

/** The prompt's token ids under the documented policy (see the top of this file). */
export function promptTokens(model: GenerationModel, prompt: string, warn: (m: string) => void): number[] {
  const tok = model.tokenizer;
  let text = prompt;
  if (tok instanceof CharTokenizer) {
    const unknown = tok.unknownCharacters(prompt);
    if (unknown.length > 0) {
      const dropped = new Set(unknown);
      text = [...prompt].filter((ch) => !dropped.has(ch)).join('');
      const shown = unknown.slice(0, 10).map((c) => JSON.stringify(c)).join(', ');
      warn(`the model's character vocabulary lacks ${shown}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''}: dropped from the prompt.`);
    }
  }
  let ids = tok.encode(text);
  if (ids.length === 0) {
    if (tok instanceof CharTokenizer) {
      const nl = tok.vocab.indexOf('\n');
      ids = [nl >= 0 ? nl : 0];
    } else {
      ids = [tok.endOfText ?? 0];
    }
  }
  const tooBig = ids.find((id) => id >= model.vocabSize);
  if (tooBig !== undefined) {
    throw new UserError(`the prompt has token ${tooBig}, beyond the model's vocabulary of ${model.vocabSize} (${model.files.meta}): use a prompt the model's tokenizer covers.`);
  }
  if (ids.length > model.blockSize) {
    warn(`the prompt is ${ids.length} tokens, more than the model's block size ${model.blockSize}: only its last ${model.blockSize} are used.`);
    ids = ids.slice(-model.blockSize);
  }
  return ids;
}

/** Length of the longest end of `text` that begins some stop string (held back while streaming). */
function heldBack(text: string, stops: string[]): number {
  let hold = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(s.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

/**
 * Continues `options.prompt` with the model at `model` (a run dir, a model.onnx, or a loaded
 * model), yielding text pieces as they come; the return value sums the generation up.
 */
export async function* generate(model: string | GenerationModel, options: GenerateOptions): AsyncGenerator<string, GenerationSummary, void> {
  const opts = resolveOptions(options);
  const loaded = typeof model === 'string' ? await loadGenerationModel(model) : model;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const prompt = promptTokens(loaded, options.prompt, warn);
  const block = loaded.blockSize;
  const keep = Math.max(1, Math.floor(block / 2));
  const useCache = options.cache !== false;
  const rng = new Rng(opts.seed);
  const decoder = loaded.tokenizer.streamDecoder();
  const kv = loaded.acquire();
  const maxStop = Math.max(0, ...opts.stop.map((s) => s.length));
  let context = prompt.slice();
  let text = '';
  let emitted = 0;
  let tokens = 0;
  let slides = 0;
  let reason: GenerationSummary['reason'] = 'length';
  const started = performance.now();
  let firstTokenMs = 0;
  let firstTokenAt = started;
  try {
    let logits = await kv.feed(context);
    while (tokens < opts.maxTokens) {
      if (options.signal?.aborted) {
        reason = 'aborted';
        break;
      }
      const id = sampleToken(logits, opts, rng);
      tokens++;
      if (tokens === 1) {
        firstTokenAt = performance.now();
        firstTokenMs = firstTokenAt - started;
      }
      context.push(id);
      text += decoder.push(id);
      if (maxStop > 0) {
        const from = Math.max(0, emitted - maxStop);
        let cut = -1;
        for (const s of opts.stop) {
          const at = text.indexOf(s, from);
          if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0) {
          text = text.slice(0, cut);
          if (text.length > emitted) yield text.slice(emitted);
          emitted = text.length;
          reason = 'stop';
          break;
        }
      }
      const safe = text.length - heldBack(text, opts.stop);
      if (safe > emitted) {
        yield text.slice(emitted, safe);
        emitted = safe;
      }
      if (tokens >= opts.maxTokens) break;
      if (!useCache) {
        // the baseline: no cache, the whole (cropped) context again every step
        context = context.slice(-block);
        kv.reset();
        logits = await kv.feed(context);
      } else if (kv.length + 1 > block) {
        context = context.slice(-keep);
        kv.reset();
        slides++;
        logits = await kv.feed(context);
      } else {
        logits = await kv.feed([id]);
      }
    }
    if (reason !== 'stop') {
      text += decoder.flush();
      if (text.length > emitted) yield text.slice(emitted);
    }
  } finally {
    loaded.release(kv);
  }
  const seconds = (performance.now() - firstTokenAt) / 1000;
  return {
    text,
    tokens,
    promptTokens: prompt.length,
    reason,
    warnings,
    seed: opts.seed,
    firstTokenMs,
    tokensPerSecond: tokens > 1 && seconds > 0 ? (tokens - 1) / seconds : 0,
    slides,
  };
}

/** The whole completion at once (and the summary); pieces still go to onPiece as they come. */
export async function complete(
  model: string | GenerationModel,
  options: GenerateOptions & { onPiece?(piece: string): void },
): Promise<GenerationSummary> {
  const it = generate(model, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    options.onPiece?.(r.value);
  }
}
