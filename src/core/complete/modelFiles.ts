// The completion model on disk: model.onnx and model.json beside it, as the trainer's export
// writes them. What model.json says it is and the names of model.onnx's inputs and outputs are
// schemas/model.json's, the contract the trainer's export writes to. This module finds and checks
// the files; nothing here loads onnxruntime.
import * as fs from 'node:fs';
import * as path from 'node:path';
import contract from '../../../schemas/model.json';
import layout from '../../../schemas/run-files.json';
import { UserError } from '../common/errors';
import { hfVocabSize } from '../prepare/hfTokenizer';
import { parseTokenizerSpec, tokenizerFromSpec, type TokenizerSpec } from '../prepare/tokenizer';

export const MODEL_FILE = layout.run.onnx;
export const META_FILE = layout.run.model_json;
/** The int8 copy `wordplay export --quantize int8` writes beside MODEL_FILE. */
export const INT8_FILE = layout.run.onnx_int8;
/** model.onnx's input names (per-layer ones are prefixes: past_key_0, past_key_1, …). */
export const INPUTS = contract.inputs;
/** model.onnx's output names, per-layer ones likewise. */
export const OUTPUTS = contract.outputs;

/** Whether the model can score every position of a text in one run (Model Surprise). */
export function scoresAllPositions(meta: ModelMeta): boolean {
  return meta.outputs.includes(OUTPUTS.all_logits) && (meta.flag_inputs ?? []).includes(INPUTS.all_positions);
}

export interface ModelMeta {
  /** schemas/model.json's format and version. */
  format: string;
  format_version: number;
  architecture: {
    n_layer: number;
    n_head: number;
    n_embd: number;
    block_size: number;
    vocab_size: number;
    bias?: boolean;
    /** Key/value heads (grouped-query attention when fewer than n_head); absent before it: n_head. */
    n_kv_head?: number;
    /** Each head's size; absent before it: n_embd / n_head. */
    head_dim?: number;
  };
  block_size: number;
  vocab_size: number;
  tokenizer: TokenizerSpec;
  iter: number | null;
  val_loss: number | null;
  /** Where weights exported as they are, untrained, come from (`export --from`: gpt2… or a
   *  Hugging Face folder's absolute path); absent for a trained run's model. */
  pretrained?: string;
  /** Input names: input_ids, position_ids, then past_key_<i>, past_value_<i> per layer. */
  inputs: string[];
  /** Output names: logits, present_key_<i>, present_value_<i> per layer, then new_key_<i>,
   *  new_value_<i> per layer (the new tokens' keys/values only), then all_logits in models
   *  exported since Model Surprise (every position's logits when all_positions is true). */
  outputs: string[];
  /** Bool scalar inputs besides `inputs`, false for generation: all_positions, in models
   *  that have all_logits. */
  flag_inputs?: string[];
  /** Keys/values are (batch, seq, width = n_kv_head * head_dim), sequence-major: the key/value
   *  heads only (n_kv_head filled in as n_head where an older model.json lacks it). */
  kv_cache: {
    layout: 'batch,seq,n_embd';
    n_layer: number;
    n_head: number;
    n_kv_head: number;
    head_dim: number;
    width: number;
  };
}

export interface ModelFiles {
  onnx: string;
  meta: string;
}

/** The fix for a model file that is missing, damaged or from another version: every error about one ends with it. */
export const exportHint = 'Export it again with "wordplay export --run <run dir>".';

/** A run dir (holding model.onnx) or an .onnx file; model.json lies beside the .onnx. */
export function resolveModelFiles(target: string): ModelFiles {
  const resolved = path.resolve(target);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch {
    throw new UserError(`${resolved} does not exist: give a run directory or its model.onnx.`);
  }
  const onnx = stat.isDirectory() ? path.join(resolved, MODEL_FILE) : resolved;
  if (!fs.existsSync(onnx)) {
    throw new UserError(`${onnx} is missing: the run has no exported model yet. ${exportHint}`);
  }
  return { onnx, meta: path.join(path.dirname(onnx), META_FILE) };
}

const isInt = (v: unknown, min = 1): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** Reads and checks model.json; every problem is a UserError naming the file. */
export function readModelMeta(file: string): ModelMeta {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${file} is missing: model.onnx needs the model.json written beside it. ${exportHint}`);
  }
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message}). ${exportHint}`);
  }
  const bad = (what: string) => new UserError(`${file}: ${what}. ${exportHint}`);
  if (!value || typeof value !== 'object' || value.format !== contract.format)
    throw bad(`not a wordplay model description (no "format": "${contract.format}")`);
  if (value.format_version !== contract.version) {
    throw bad(
      `format_version ${String(value.format_version)} is not one this version of wordplay reads (${contract.version})`,
    );
  }
  const a = value.architecture as ModelMeta['architecture'] | undefined;
  if (!a || !isInt(a.n_layer) || !isInt(a.n_head) || !isInt(a.n_embd) || !isInt(a.block_size) || !isInt(a.vocab_size)) {
    throw bad('"architecture" needs whole numbers n_layer, n_head, n_embd, block_size and vocab_size');
  }
  if (value.block_size !== a.block_size || value.vocab_size !== a.vocab_size)
    throw bad('block_size or vocab_size disagrees with "architecture"');
  // absent in a model.json written before grouped-query attention and a head size of its own
  const kvHeads = a.n_kv_head ?? a.n_head;
  if (!isInt(kvHeads) || a.n_head % kvHeads !== 0)
    throw bad(
      `"architecture" n_kv_head ${String(a.n_kv_head)} should be a whole number that divides n_head ${a.n_head}`,
    );
  if (a.head_dim === undefined && a.n_embd % a.n_head !== 0)
    throw bad(`n_embd ${a.n_embd} is not a multiple of n_head ${a.n_head}, and "architecture" gives no head_dim`);
  const headDim = a.head_dim ?? a.n_embd / a.n_head;
  if (!isInt(headDim)) throw bad(`"architecture" head_dim ${String(a.head_dim)} should be a whole number`);
  const kv = value.kv_cache as ModelMeta['kv_cache'] | undefined;
  if (!kv || kv.layout !== 'batch,seq,n_embd')
    throw bad('"kv_cache" has a layout this version of wordplay does not read (batch,seq,n_embd)');
  const kvDescribed = { ...kv, n_kv_head: kv.n_kv_head ?? kv.n_head };
  const expected = {
    n_layer: a.n_layer,
    n_head: a.n_head,
    n_kv_head: kvHeads,
    head_dim: headDim,
    width: kvHeads * headDim,
  };
  for (const [key, want] of Object.entries(expected)) {
    const got = kvDescribed[key as keyof typeof expected];
    if (got !== want)
      throw bad(
        `"kv_cache" ${key} is ${String(got)} but "architecture" makes it ${want} (width = n_kv_head * head_dim)`,
      );
  }
  const names = (key: 'inputs' | 'outputs', first: string[], ...groups: string[][]) => {
    const expected = [...first];
    for (const per of groups)
      for (let i = 0; i < a.n_layer; i++) for (const prefix of per) expected.push(`${prefix}${i}`);
    const got = value[key];
    // all_logits came later: a model exported before it generates all the same
    if (key === 'outputs' && Array.isArray(got) && got.length === expected.length + 1)
      expected.push(OUTPUTS.all_logits);
    if (!Array.isArray(got) || got.length !== expected.length || got.some((n, i) => n !== expected[i])) {
      throw bad(
        `"${key}" should be ${expected.slice(0, 4).join(', ')}, ... (${expected.length} names for ${a.n_layer} layers)`,
      );
    }
  };
  names('inputs', [INPUTS.ids, INPUTS.positions], [INPUTS.past_key, INPUTS.past_value]);
  names(
    'outputs',
    [OUTPUTS.logits],
    [OUTPUTS.present_key, OUTPUTS.present_value],
    [OUTPUTS.new_key, OUTPUTS.new_value],
  );
  const flags = value.flag_inputs;
  if (flags !== undefined && !(Array.isArray(flags) && flags.length === 1 && flags[0] === INPUTS.all_positions)) {
    throw bad(`"flag_inputs" should be ["${INPUTS.all_positions}"]`);
  }
  const tokenizer = parseTokenizerSpec(value.tokenizer, `${file} (its "tokenizer")`);
  // a model folder's embedding may have rows past its tokenizer's ids (Qwen pads 151,669 to 151,936)
  const tokens =
    tokenizer.type === 'gpt2'
      ? a.vocab_size
      : tokenizer.type === 'hf'
        ? hfVocabSize(tokenizer.json)
        : tokenizerFromSpec(tokenizer).vocabSize;
  if (tokenizer.type === 'hf' ? tokens > a.vocab_size : tokens !== a.vocab_size) {
    throw bad(`the ${tokenizer.type} tokenizer has ${tokens} tokens but the model's vocab_size is ${a.vocab_size}`);
  }
  return { ...(value as unknown as ModelMeta), kv_cache: kvDescribed, tokenizer };
}
