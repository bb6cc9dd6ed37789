// `wordplay export`: the trainer's export (Python), whose exit code is ours. It writes a run's
// checkpoint as model.onnx + model.json (completion), a Hugging Face folder or a GGUF file, or a
// pretrained GPT-2 as a run folder that completes without training (--from).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/common/errors';
import { trainerInvocation } from '../core/common/pythonEnv';
import { EXPORT_FORMATS, exportArguments, type ExportFormat } from '../core/train/exportTarget';
import { parseOptions } from '../core/common/options';
import type { Subcommand } from './subcommand';

const usage = `Usage: wordplay export --run <run dir> [--quantize int8]
       wordplay export --run <run dir> --format hf [--out <folder>]
       wordplay export --run <run dir> --format gguf [--out <file.gguf>]
       wordplay export --run <run dir> --format peft [--out <folder>]
       wordplay export --from <gpt2 | gpt2-medium | gpt2-large | gpt2-xl | Hugging Face folder> --run <new run dir>

The default writes model.onnx and model.json into the run folder from its checkpoint/, for
"wordplay complete" and the editor. Training exports by itself when it ends or is stopped;
run this after a failed export, or for --quantize int8, which adds model.int8.onnx (about
4x smaller, faster on a CPU, slightly less exact) and reports its size and speed.

--format hf writes a folder transformers loads (AutoModelForCausalLM, AutoTokenizer) with a
model card; --format gguf one file for llama.cpp, Ollama and LM Studio; --format peft a LoRA
run's adapters alone (train.lora), which PEFT loads onto its base model. Without --out they go
into the run folder (hf/, <run>.gguf, peft/). --from writes a pretrained GPT-2 as it is, no
training, into a new run folder, for completion.`;

export const exportModel: Subcommand = {
  summary: 'export a run for completion, Hugging Face, GGUF or PEFT (LoRA); or a pretrained GPT-2 (--from)',
  usage,
  async run(args) {
    const opts = parseOptions(
      args,
      {
        run: { type: 'string' },
        quantize: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        from: { type: 'string' },
      },
      usage,
    );
    if (!opts.run) throw new UserError(`--run is required.\n\n${usage}`);
    if (opts.quantize !== undefined && opts.quantize !== 'int8')
      throw new UserError(`--quantize must be int8, not "${opts.quantize}".`);
    const format = (opts.format ?? 'onnx') as ExportFormat;
    if (!EXPORT_FORMATS.includes(format))
      throw new UserError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, not "${opts.format}".`);
    const runDir = path.resolve(opts.run);
    if (opts.from !== undefined) {
      if (opts.format !== undefined || opts.out !== undefined)
        throw new UserError('--from writes a run folder for completion; export that run with --format afterwards.');
      return runTrainer([
        'export',
        '--from',
        opts.from,
        '--run',
        runDir,
        ...(opts.quantize ? ['--quantize', opts.quantize] : []),
      ]);
    }
    if (!fs.existsSync(runDir)) {
      throw new UserError(`${runDir} does not exist: give a run folder (it holds checkpoint/).`);
    }
    if (format === 'onnx' && opts.out !== undefined)
      throw new UserError('--out is for --format hf, gguf or peft: the ONNX export goes into the run folder.');
    const exported = exportArguments(
      runDir,
      format,
      opts.out && path.resolve(opts.out),
      opts.quantize as 'int8' | undefined,
    );
    try {
      return await runTrainer(exported.args);
    } finally {
      exported.cleanup();
    }
  },
};

/** Runs the trainer with args, its output ours; Ctrl+C reaches it as SIGINT. */
function runTrainer(args: string[]): Promise<number> {
  const inv = trainerInvocation(args);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(inv.command, inv.args, { env: inv.env, stdio: ['ignore', 'inherit', 'inherit'] });
    const onSigint = () => child.kill('SIGINT');
    process.once('SIGINT', onSigint);
    child.on('error', (err) => {
      process.removeListener('SIGINT', onSigint);
      reject(
        new UserError(
          `could not run the trainer's Python (${inv.command}): ${err.message}. Run "wordplay setup" first, or set WORDPLAY_PYTHON.`,
        ),
      );
    });
    child.on('close', (code, signal) => {
      process.removeListener('SIGINT', onSigint);
      resolve(code ?? (signal ? 130 : 1));
    });
  });
}
