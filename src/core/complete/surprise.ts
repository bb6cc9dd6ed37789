// Model Surprise: how surprised the completion model is by each token of a text. The text is
// tokenized with the model's tokenizer (each token keeping its character range), scored in one
// batched forward pass of model.onnx (its all_logits output, schemas/model.json), and each token
// gets its loss (nats), its probability and the model's top 5 alternatives; the whole text
// gets bits per byte.
//
// Limits, by design:
// - Sliding window. A text longer than block_size is cut into windows of block_size tokens,
//   each starting half a block after the one before (the last one ends at the text's end);
//   a window scores only the tokens the windows before it did not, so every token past the
//   first half block is scored with between half a block and a whole block of left context.
//   All windows go in one batch (in a few batches for a big vocabulary: each batch's logits
//   are kept under ~64 MB).
// - The first token has nothing before it to be predicted from: it is not scored (no loss, not
//   in bits per byte). Bits per byte are over the scored tokens' UTF-8 bytes.
// - Characters a char model's vocabulary lacks are left out (listed in `unknown`); their
//   neighbours are scored as if they were not there. A BPE token that ends inside a character
//   has an empty range; its loss still counts in bits per byte.
import { UserError } from '../common/errors';
import { CharTokenizer, type Tokenizer } from '../prepare/tokenizer';
import { exportHint, INPUTS, OUTPUTS, scoresAllPositions } from './modelFiles';
import type { GenerationModel } from './modelSession';

export interface Alternative {
  id: number;
  text: string;
  probability: number;
}

export interface TokenSurprise {
  /** The token's characters in the text: [start, end). */
  start: number;
  end: number;
  id: number;
  /** -ln p(token | the tokens before it), nats. */
  loss: number;
  probability: number;
  /** The model's five most likely tokens at this place, most likely first. */
  top: Alternative[];
}

export interface Surprise {
  /** Every token but the first, in order. */
  tokens: TokenSurprise[];
  /** The first token's range (not scored), or undefined for an empty text. */
  first: { start: number; end: number } | undefined;
  /** Sum of the scored tokens' losses in bits over their UTF-8 bytes; NaN when none is scored. */
  bitsPerByte: number;
  /** Distinct characters left out because the char vocabulary lacks them. */
  unknown: string[];
  /** Windows of block_size (or fewer) tokens the text was scored in. */
  windows: number;
}

export interface SurpriseOptions {
  signal?: AbortSignal;
  /** Called after each batch of windows: done and total windows. */
  onProgress?(done: number, total: number): void;
}

/** Upper bounds (nats) of the surprise buckets the editor colours, low to high; the last
 *  bucket is everything above. Fixed, so a colour means the same loss in every text. */
export const SURPRISE_BOUNDS = [0.5, 1.5, 3, 5];

/** The bucket of a loss: 0 (least surprised) .. SURPRISE_BOUNDS.length. */
export function surpriseBucket(loss: number): number {
  const i = SURPRISE_BOUNDS.findIndex((bound) => loss < bound);
  return i < 0 ? SURPRISE_BOUNDS.length : i;
}

/** Alternatives shown per token. */
export const TOP_K = 5;
/** Most logits one batch of windows may return (floats): ~64 MB. */
const MAX_BATCH_FLOATS = 16_000_000;

export interface TokenSpans {
  ids: number[];
  starts: number[];
  ends: number[];
  unknown: string[];
}

/** The text's token ids and each one's character range, with the model's tokenizer. */
export function tokenSpans(tokenizer: Tokenizer, text: string): TokenSpans {
  const spans: TokenSpans = { ids: [], starts: [], ends: [], unknown: [] };
  if (tokenizer instanceof CharTokenizer) {
    const unknown = new Set<string>();
    const index = new Map(tokenizer.vocab.map((ch, id) => [ch, id]));
    let at = 0;
    for (const ch of text) {
      const id = index.get(ch);
      if (id === undefined) unknown.add(ch);
      else {
        spans.ids.push(id);
        spans.starts.push(at);
        spans.ends.push(at + ch.length);
      }
      at += ch.length;
    }
    spans.unknown = [...unknown];
    return spans;
  }
  // BPE: each token's range is the text its bytes decode to, in order
  const decoder = tokenizer.streamDecoder();
  let at = 0;
  for (const id of tokenizer.encode(text)) {
    spans.ids.push(id);
    spans.starts.push(at);
    at += decoder.push(id).length;
    spans.ends.push(at);
  }
  at += decoder.flush().length;
  // a tokenizer that normalises (Qwen's NFC) gives back other characters than the document's
  if (at !== text.length && text.normalize('NFC') !== text)
    throw new UserError(
      "the model's tokenizer normalises this text to Unicode NFC, so its tokens cannot be placed on the document's characters; convert the file to NFC (composed characters) and run Model Surprise again.",
    );
  if (at !== text.length)
    throw new Error(`internal: the tokens of a ${text.length}-character text decode to ${at} characters`);
  return spans;
}

export interface Window {
  /** First token of the window. */
  start: number;
  /** First token this window scores (the ones before were scored by earlier windows). */
  from: number;
}

/** The windows of `length` tokens for `n` tokens (see the top of this file); all are `length`
 *  = min(n, block) long. */
export function slidingWindows(n: number, block: number): { length: number; windows: Window[] } {
  if (n <= block) return { length: n, windows: n > 1 ? [{ start: 0, from: 1 }] : [] };
  const stride = Math.max(1, Math.floor(block / 2));
  const windows: Window[] = [{ start: 0, from: 1 }];
  let end = block;
  while (end < n) {
    const start = Math.min(windows[windows.length - 1].start + stride, n - block);
    windows.push({ start, from: end });
    end = start + block;
  }
  return { length: block, windows };
}

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

/** Scores `text` with `model` (see the top of this file). */
export async function scoreText(
  model: GenerationModel,
  text: string,
  options: SurpriseOptions = {},
): Promise<Surprise> {
  if (!scoresAllPositions(model.meta)) {
    throw new UserError(
      `${model.files.onnx} was exported before Model Surprise and gives the last position's logits only. ${exportHint}`,
    );
  }
  const spans = tokenSpans(model.tokenizer, text);
  const { ids } = spans;
  const tooBig = ids.find((id) => id >= model.vocabSize);
  if (tooBig !== undefined)
    throw new UserError(
      `the text has token ${tooBig}, beyond the model's vocabulary of ${model.vocabSize} (${model.files.meta}).`,
    );
  const { length, windows } = slidingWindows(ids.length, model.blockSize);
  const vocab = model.vocabSize;
  const perBatch = Math.max(1, Math.floor(MAX_BATCH_FLOATS / (length * vocab)));
  const decoded = new Map<number, string>();
  const decode = (id: number) => {
    let s = decoded.get(id);
    if (s === undefined) decoded.set(id, (s = model.tokenizer.decode([id])));
    return s;
  };
  const tokens: TokenSurprise[] = [];
  let nats = 0;
  let bytes = 0;
  const logProbs = new Float64Array(vocab);
  for (let b = 0; b < windows.length; b += perBatch) {
    if (options.signal?.aborted) throw new UserError('Model Surprise was cancelled.');
    const batch = windows.slice(b, b + perBatch);
    const logits = await runWindows(
      model,
      batch.map((w) => ids.slice(w.start, w.start + length)),
      length,
    );
    batch.forEach((w, row) => {
      for (let t = w.from; t < w.start + length; t++) {
        // the logits at position t - 1 of the window predict token t
        const offset = (row * length + (t - 1 - w.start)) * vocab;
        logSoftmax(logits.subarray(offset, offset + vocab), logProbs);
        const loss = -logProbs[ids[t]];
        nats += loss;
        bytes += utf8Length(text.slice(spans.starts[t], spans.ends[t]));
        const top = topK(logProbs, TOP_K).map((id) => ({ id, text: decode(id), probability: Math.exp(logProbs[id]) }));
        tokens.push({
          start: spans.starts[t],
          end: spans.ends[t],
          id: ids[t],
          loss,
          probability: Math.exp(-loss),
          top,
        });
      }
    });
    options.onProgress?.(Math.min(b + perBatch, windows.length), windows.length);
  }
  return {
    tokens,
    first: ids.length > 0 ? { start: spans.starts[0], end: spans.ends[0] } : undefined,
    bitsPerByte: bytes > 0 ? nats / Math.LN2 / bytes : NaN,
    unknown: spans.unknown,
    windows: windows.length,
  };
}

/** One run of model.onnx over equally long windows from position 0: every position's logits,
 *  (windows, length, vocab) row-major. */
async function runWindows(model: GenerationModel, rows: number[][], length: number): Promise<Float32Array> {
  const ort = model.ort;
  const batch = rows.length;
  const ids = new BigInt64Array(batch * length);
  const pos = new BigInt64Array(batch * length);
  rows.forEach((row, r) =>
    row.forEach((id, i) => {
      ids[r * length + i] = BigInt(id);
      pos[r * length + i] = BigInt(i);
    }),
  );
  const width = model.meta.kv_cache.width;
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
    [INPUTS.ids]: new ort.Tensor('int64', ids, [batch, length]),
    [INPUTS.positions]: new ort.Tensor('int64', pos, [batch, length]),
    [INPUTS.all_positions]: new ort.Tensor('bool', new Uint8Array([1]), []),
  };
  for (const name of model.meta.inputs.slice(2))
    feeds[name] = new ort.Tensor('float32', new Float32Array(0), [batch, 0, width]);
  let logits: Float32Array;
  try {
    const out = await model.session.run(feeds, [OUTPUTS.all_logits]);
    logits = out[OUTPUTS.all_logits].data as Float32Array;
  } catch (err) {
    const first = String((err as Error).message ?? err).split('\n')[0];
    throw new UserError(`${model.files.onnx} failed to score the text (${first}). ${exportHint}`);
  }
  if (logits.length !== batch * length * model.vocabSize) {
    throw new UserError(
      `${model.files.onnx} gave ${logits.length} logits for ${batch} windows of ${length} tokens and ${model.vocabSize} in the vocabulary. ${exportHint}`,
    );
  }
  return logits;
}

/** log softmax of logits into out, in float64. */
function logSoftmax(logits: Float32Array, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const shift = max + Math.log(sum);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - shift;
}

/** The ids of the k largest values, largest first. */
function topK(values: Float64Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length === k && values[i] <= values[best[k - 1]]) continue;
    let j = best.length;
    while (j > 0 && values[best[j - 1]] < values[i]) j--;
    best.splice(j, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}
