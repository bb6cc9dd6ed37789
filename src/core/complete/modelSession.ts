// Loading a model for completion: model.onnx in an onnxruntime-node session, with its model.json
// and tokenizer, checked against each other.
//
// - onnxruntime-node is required on first use only, so the extension activates without it.
// - One session per model file, cached, and loaded again when the file's mtime or size changes;
//   the old session goes once no generation uses it.
// - A loaded model lends one KV cache at a time (kvCache.ts) and keeps it for the next sequence.
import * as fs from 'node:fs';
import * as os from 'node:os';
import type * as OrtModule from 'onnxruntime-node';
import { UserError } from '../common/errors';
import { KvCache } from './kvCache';
import {
  exportHint,
  INPUTS,
  OUTPUTS,
  readModelMeta,
  resolveModelFiles,
  type ModelFiles,
  type ModelMeta,
} from './modelFiles';
import { tokenizerFromSpec, type Tokenizer } from '../prepare/tokenizer';

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
      throw new UserError(
        `onnxruntime-node could not be loaded (${String((err as Error).message ?? err).split('\n')[0]}): reinstall wordplay's dependencies with "npm install".`,
      );
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
    const kv = this.idle ?? new KvCache(this.ort, this.session, this.meta, this.files);
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
  if (hit)
    hit.model.then(
      (m) => m.retire(),
      () => undefined,
    );
  const model = openModel(files, threads, spin);
  sessions.set(slot, { key, model });
  model.catch(() => {
    if (sessions.get(slot)?.model === model) sessions.delete(slot);
  });
  return model;
}

/** Forgets every cached session (tests; the extension on deactivate). */
export function clearModelCache(): void {
  for (const entry of sessions.values())
    entry.model.then(
      (m) => m.retire(),
      () => undefined,
    );
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
    throw new UserError(
      `${files.onnx} could not be loaded (${first}): the file is missing, truncated or not a wordplay model. ${exportHint}`,
    );
  }
  const disagree = (what: string) => {
    void session.release().catch(() => undefined);
    return new UserError(`${files.meta} does not match ${files.onnx}: ${what}. ${exportHint}`);
  };
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((n, i) => n === b[i]);
  if (!same([...session.inputNames].sort(), [...meta.inputs, ...(meta.flag_inputs ?? [])].sort())) {
    throw disagree(
      `the model's inputs are ${session.inputNames.slice(0, 4).join(', ')}${session.inputNames.length > 4 ? ', ...' : ''} (${session.inputNames.length} in all), model.json lists ${meta.inputs.length}`,
    );
  }
  if (!same([...session.outputNames].sort(), [...meta.outputs].sort())) {
    throw disagree(
      `the model's outputs (${session.outputNames.length}) are not the ${meta.outputs.length} model.json lists`,
    );
  }
  const shapeOf = (list: readonly OrtModule.InferenceSession.ValueMetadata[], name: string) => {
    const m = list.find((v) => v.name === name);
    return m && m.isTensor ? m.shape : undefined;
  };
  const logits = shapeOf(session.outputMetadata, OUTPUTS.logits);
  if (logits && typeof logits[1] === 'number' && logits[1] !== meta.vocab_size) {
    throw disagree(`the model gives ${logits[1]} logits, model.json says vocab_size ${meta.vocab_size}`);
  }
  const pastKey = shapeOf(session.inputMetadata, `${INPUTS.past_key}0`);
  if (pastKey && typeof pastKey[2] === 'number' && pastKey[2] !== meta.kv_cache.width) {
    throw disagree(`the model's keys/values are ${pastKey[2]} wide, model.json says ${meta.kv_cache.width}`);
  }
  return new GenerationModel(files, meta, tokenizer, session, ort, threads);
}
