// Choosing the next token from the logits: temperature, top-k, top-p, with a seeded PRNG so
// the same seed, prompt and settings give the same text on every run and machine.

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy); higher is more random. Default 0.8. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 keeps all. */
  topK: number;
  /** Keep the smallest set of tokens whose probabilities add up to p; 1 keeps all. */
  topP: number;
}

/** sfc32 seeded through splitmix32: fast, 128 bits of state, and the same sequence everywhere. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // both halves of a seed beyond 32 bits count: 2**32 + 1 and 1 differ
    let s = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 53 random bits. */
  next(): number {
    return ((this.uint32() >>> 5) * 67108864 + (this.uint32() >>> 6)) / 9007199254740992;
  }
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Indices of the k largest logits, in no particular order (a min-heap of size k). */
function topKIndices(logits: Float32Array, k: number): number[] {
  const heap: number[] = [];
  const less = (i: number, j: number) =>
    logits[heap[i]] < logits[heap[j]] || (logits[heap[i]] === logits[heap[j]] && heap[i] > heap[j]);
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j], heap[i]]);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(l, m)) m = l;
      if (r < heap.length && less(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let id = 0; id < logits.length; id++) {
    if (heap.length < k) {
      heap.push(id);
      for (let i = heap.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!less(i, p)) break;
        swap(i, p);
        i = p;
      }
    } else if (logits[id] > logits[heap[0]]) {
      heap[0] = id;
      down(0);
    }
  }
  return heap;
}

/** The next token id: greedy at temperature 0, else a draw from the filtered distribution. */
export function sampleToken(logits: Float32Array, options: SamplingOptions, rng: Rng): number {
  if (options.temperature <= 0) return argmax(logits);
  const v = logits.length;
  let ids: number[] =
    options.topK > 0 && options.topK < v ? topKIndices(logits, options.topK) : Array.from({ length: v }, (_, i) => i);
  let max = -Infinity;
  for (const id of ids) if (logits[id] > max) max = logits[id];
  let probs = ids.map((id) => Math.exp((logits[id] - max) / options.temperature));
  if (options.topP < 1) {
    // most likely first (ties by id, so the order never depends on the engine's sort)
    const order = ids.map((_, i) => i).sort((x, y) => probs[y] - probs[x] || ids[x] - ids[y]);
    const total = probs.reduce((a, b) => a + b, 0);
    const kept: number[] = [];
    let cumulative = 0;
    for (const i of order) {
      kept.push(i);
      cumulative += probs[i] / total;
      if (cumulative >= options.topP) break;
    }
    ids = kept.map((i) => ids[i]);
    probs = kept.map((i) => probs[i]);
  }
  let total = 0;
  for (const p of probs) total += p;
  let r = rng.next() * total;
  for (let i = 0; i < ids.length; i++) {
    r -= probs[i];
    if (r < 0) return ids[i];
  }
  return ids[ids.length - 1];
}
