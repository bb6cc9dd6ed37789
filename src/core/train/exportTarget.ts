// The trainer's export of a run in each format it writes (schemas/model.json's export_formats):
// onnx, model.onnx + model.json in the run folder (for completion); hf, a folder transformers
// loads; gguf, one file for llama.cpp, Ollama and LM Studio; peft, a LoRA run's adapters alone
// for PEFT on its base model (adapter_config.json + adapter_model.safetensors). The CLI and the
// Runs tree both build the trainer's arguments here. A run whose tokenizer is gpt2 needs GPT-2's vocabulary for hf and
// gguf, which the trainer does not have: it is written from js-tiktoken's ranks into a temporary
// folder first (gpt2Files.ts), for every run, since it takes a second and reading the checkpoint's
// tokenizer to skip it would not.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import model from '../../../schemas/model.json';
import { nextFreePath } from '../common/names';
import { writeGpt2Files } from '../prepare/gpt2Files';

export type ExportFormat = 'onnx' | 'hf' | 'gguf' | 'peft';
export const EXPORT_FORMATS = model.export_formats as readonly ExportFormat[];

/** Where an hf, gguf or peft export goes when no place is named: beside the checkpoint in the
 *  run folder (hf/, <run>.gguf, peft/), under the next free name (hf-2/, <run>-2.gguf) when taken,
 *  since the trainer never writes over an earlier export. */
export function defaultExportTarget(runDir: string, format: 'hf' | 'gguf' | 'peft'): string {
  return format === 'gguf'
    ? nextFreePath(runDir, path.basename(path.resolve(runDir)), '.gguf')
    : nextFreePath(runDir, format);
}

export interface ExportArguments {
  /** For `python -m wordplay_trainer` (trainerInvocation). */
  args: string[];
  /** Removes the temporary GPT-2 vocabulary; call once the trainer has ended. */
  cleanup(): void;
}

export function exportArguments(
  runDir: string,
  format: ExportFormat,
  out?: string,
  quantize?: 'int8',
): ExportArguments {
  const args = ['export', '--run', runDir, ...(quantize ? ['--quantize', quantize] : [])];
  if (format === 'onnx') return { args, cleanup: () => undefined };
  // the adapters alone: no tokenizer goes with them
  if (format === 'peft')
    return {
      args: [...args, '--format', format, '--out', out ?? defaultExportTarget(runDir, format)],
      cleanup: () => undefined,
    };
  const vocabulary = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-gpt2-'));
  writeGpt2Files(vocabulary);
  return {
    args: [
      ...args,
      '--format',
      format,
      '--out',
      out ?? defaultExportTarget(runDir, format),
      '--gpt2-tokenizer',
      vocabulary,
    ],
    cleanup: () => fs.rmSync(vocabulary, { recursive: true, force: true }),
  };
}
