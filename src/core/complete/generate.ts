// The generation engine's decode loop: a trained model (model.onnx + model.json, loaded by
// modelSession.ts) continues a prompt, in Node, with onnxruntime-node and a KV cache (kvCache.ts).
//
// - The prompt is prefilled in one run; then each new token costs one run of one position: the
//   keys/values of earlier tokens go in as inputs, and only the new token's come back.
// - When the next position would reach block_size, the window slides: the most recent
//   block_size/2 tokens are kept and prefilled again at positions 0.. (positions are absolute
//   within the window, as in training). A prompt longer than block_size keeps its end.
// - Characters a char model's vocabulary lacks are dropped from the prompt, and a warning names
//   them (onWarning, and `warnings` in the summary): the model never saw them, so the best it
//   can do is continue the text without them. gpt2's byte-level BPE has no unknown characters.
// - An empty prompt starts from "\n" for a char model (from the first character of its
//   vocabulary when it has no newline) and from <|endoftext|> for gpt2: what a document
//   starts after in training. The start token is not part of the output.
import { UserError } from '../common/errors';
import { loadGenerationModel, type GenerationModel } from './modelSession';
import { Rng, sampleToken } from './sampling';
import { CharTokenizer } from '../prepare/tokenizer';

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
  if (!Number.isInteger(maxTokens) || maxTokens <= 0)
    throw new UserError(
      `--max-tokens must be a whole number of at least 1, got ${maxTokens}: nothing would be generated.`,
    );
  const temperature = o.temperature ?? 0.8;
  if (!Number.isFinite(temperature) || temperature < 0)
    throw new UserError(`--temperature must be 0 (greedy) or more, got ${temperature}.`);
  const topK = o.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0)
    throw new UserError(`--top-k must be a whole number, 0 for none, got ${topK}.`);
  const topP = o.topP ?? 1;
  if (!Number.isFinite(topP) || topP <= 0 || topP > 1)
    throw new UserError(`--top-p must be above 0 and at most 1, got ${topP}.`);
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
      const shown = unknown
        .slice(0, 10)
        .map((c) => JSON.stringify(c))
        .join(', ');
      warn(
        `the model's character vocabulary lacks ${shown}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''}: dropped from the prompt.`,
      );
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
    throw new UserError(
      `the prompt has token ${tooBig}, beyond the model's vocabulary of ${model.vocabSize} (${model.files.meta}): use a prompt the model's tokenizer covers.`,
    );
  }
  if (ids.length > model.blockSize) {
    warn(
      `the prompt is ${ids.length} tokens, more than the model's block size ${model.blockSize}: only its last ${model.blockSize} are used.`,
    );
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
export async function* generate(
  model: string | GenerationModel,
  options: GenerateOptions,
): AsyncGenerator<string, GenerationSummary, void> {
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
