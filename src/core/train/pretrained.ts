// A pretrained model as a run of its own, untrained: the trainer's `export --from`
// (trainer/wordplay_trainer/export/pretrained_run.py) writes model.onnx + model.json, config.json and a
// finished events.jsonl into a new run folder, renamed into place whole, which the Runs tree
// lists and completion uses like a trained run's. The hub's models and their shapes are
// schemas/gpt2.json's (GPT-2) and schemas/open-models.json's (Llama, Qwen2, Qwen3); downloading
// them needs the network, a Hugging Face folder does not.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../common/errors';
import { nextFreePath, safeName } from '../common/names';
import { trainerInvocation } from '../common/pythonEnv';
import openModels from '../../../schemas/open-models.json';
import { isHubName } from './hfConfig';
import { GPT2_BLOCK, GPT2_SHAPES, GPT2_VOCAB, formatCount, paramCount } from './estimate';

export interface PretrainedModel {
  name: string;
  /** The transformers class its weights are for. */
  class: string;
  n_layer: number;
  n_head: number;
  n_embd: number;
  /** Every parameter, the position table included. */
  params: number;
}

/** gpt2, gpt2-medium, gpt2-large, gpt2-xl, then the open models, each family smallest first. */
export const PRETRAINED_MODELS: PretrainedModel[] = [
  ...Object.entries(GPT2_SHAPES).map(([name, shape]) => ({
    name,
    class: 'GPT2LMHeadModel',
    ...shape,
    params: paramCount({ ...shape, block_size: GPT2_BLOCK, vocab_size: GPT2_VOCAB, bias: true })[1],
  })),
  ...Object.entries(openModels.models).map(([name, m]) => ({ name, ...m })),
];

/** "124.44 M parameters · 12 layers · 768 wide · GPT2LMHeadModel". */
export function describePretrained(m: PretrainedModel): string {
  return `${formatCount(m.params)} parameters · ${m.n_layer} layers · ${m.n_embd} wide · ${m.class}`;
}

/** <runs folder>/<name>-pretrained, or -2, -3 … after it when that is taken: never an existing
 *  folder. `source` is a hub name or a folder, named by its last part. */
export function pretrainedRunDir(runsFolder: string, source: string): string {
  return nextFreePath(runsFolder, `${safeName(path.basename(path.resolve(source)))}-pretrained`);
}

export interface ExportPretrainedOptions {
  /** A hub name (PRETRAINED_MODELS) or a Hugging Face GPT-2 folder. */
  source: string;
  /** The new run folder (pretrainedRunDir). */
  runDir: string;
  env?: NodeJS.ProcessEnv;
  /** Aborting stops the trainer, which then removes what it wrote; the promise resolves with
   *  undefined. */
  signal?: AbortSignal;
  /** Each line the trainer prints (what it wrote, and its errors). */
  onLine?: (line: string) => void;
}

/** Runs `export --from`; resolves with the run folder (undefined when aborted), or rejects with
 *  a UserError holding the trainer's message. */
export function exportPretrained(options: ExportPretrainedOptions): Promise<string | undefined> {
  const { source, runDir } = options;
  // a folder goes by its absolute path: the trainer's working directory is not the workspace
  const named = PRETRAINED_MODELS.some((m) => m.name === source) || (isHubName(source) && !fs.existsSync(source));
  const from = named ? source : path.resolve(source);
  const inv = trainerInvocation(['export', '--from', from, '--run', runDir], options.env);
  return new Promise((resolve, reject) => {
    // SIGINT, not SIGTERM: Python turns it into an exception, so the trainer removes its
    // temporary folder before it exits
    const child = spawn(inv.command, inv.args, {
      env: inv.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
      killSignal: 'SIGINT',
    });
    const errors: string[] = [];
    const lines = (stream: NodeJS.ReadableStream, keep: boolean) => {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (data: string) => {
        const parts = (pending + data).split(/\r?\n/);
        pending = parts.pop()!;
        for (const line of parts.filter(Boolean)) {
          options.onLine?.(line);
          if (keep) errors.push(line);
        }
      });
    };
    lines(child.stdout, false);
    lines(child.stderr, true);
    child.on('error', (err) => {
      if (err.name === 'AbortError') return; // 'close' follows, once the trainer has cleaned up
      reject(
        new UserError(
          `could not run the trainer's Python (${inv.command}): ${err.message}. Run "wordplay setup" first, or set WORDPLAY_PYTHON.`,
        ),
      );
    });
    child.on('close', (code) => {
      // an export that ended before the cancel reached it wrote the whole run
      if (code === 0) resolve(runDir);
      else if (options.signal?.aborted) resolve(undefined);
      else {
        // the trainer's own words ("wordplay export: …"), else the end of what it printed
        const said = errors
          .filter((l) => l.startsWith('wordplay export: '))
          .map((l) => l.slice('wordplay export: '.length));
        const message = said.length ? said.join('\n') : errors.slice(-6).join('\n') || `exit ${code}`;
        reject(new UserError(`using ${source} failed: ${message}`));
      }
    });
  });
}
