// The completion model on disk: model.onnx and model.json beside it, as the trainer's export
// writes them. What model.json says it is and the names of model.onnx's inputs and outputs are
// schemas/model.json's, the contract the trainer's export writes to. This module finds and checks
// the files; nothing here loads onnxruntime.
import * as fs from 'node:fs';
import * as path from 'node:path';
import contract from '../../../schemas/model.json';
import layout from '../../../schemas/run-files.json';
import { UserError } from '../common/errors';
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
  /** Keys/values are (batch, seq, width = n_head * head_dim), sequence-major. */
  kv_cache: { layout: 'batch,seq,n_embd'; n_layer: number; n_head: number; head_dim: number; width: number };
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
  if (a.n_embd % a.n_head !== 0) throw bad(`n_embd ${a.n_embd} is not a multiple of n_head ${a.n_head}`);
  const kv = value.kv_cache as ModelMeta['kv_cache'] | undefined;
  if (!kv || kv.layout !== 'batch,seq,n_embd')
    throw bad('"kv_cache" has a layout this version of wordplay does not read (batch,seq,n_embd)');
  if (
    kv.n_layer !== a.n_layer ||
    kv.n_head !== a.n_head ||
    kv.head_dim !== a.n_embd / a.n_head ||
    kv.width !== a.n_embd
  ) {
    throw bad('"kv_cache" disagrees with "architecture"');
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
  if (tokenizer.type !== 'gpt2' && tokenizerFromSpec(tokenizer).vocabSize !== a.vocab_size) {
    throw bad(
      `the ${tokenizer.type} tokenizer has ${tokenizerFromSpec(tokenizer).vocabSize} tokens but the model's vocab_size is ${a.vocab_size}`,
    );
  }
  return { ...(value as unknown as ModelMeta), tokenizer };
}
