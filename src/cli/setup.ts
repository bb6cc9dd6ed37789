// `wordplay setup`: the trainer's Python environment, made or brought up to date (pythonEnv.ts).
import { setupManagedEnv } from '../core/common/pythonEnv';
import { parseOptions } from '../core/common/options';
import type { Subcommand } from './subcommand';

const usage = `Usage: wordplay setup [--python <interpreter>] [--deepspeed] [--verbose]

Creates (or reuses) the Python virtual environment with the trainer's requirements
(PyTorch, safetensors, numpy, onnx, transformers, onnxruntime) in the wordplay cache folder,
keyed by the hash of trainer/requirements.txt. --python picks the interpreter that builds it
(default python3; WORDPLAY_BASE_PYTHON also sets it). --deepspeed also installs DeepSpeed
(trainer/requirements-deepspeed.txt) for distributed.backend deepspeed, once.`;

export const setup: Subcommand = {
  summary: 'create or update the Python environment for training',
  usage,
  async run(args) {
    const opts = parseOptions(
      args,
      { python: { type: 'string' }, deepspeed: { type: 'boolean' }, verbose: { type: 'boolean' } },
      usage,
    );
    const started = Date.now();
    const env = await setupManagedEnv(
      {
        step: (message) => console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`),
        log: opts.verbose ? (line) => console.error(`    ${line}`) : undefined,
      },
      { basePython: opts.python, deepspeed: opts.deepspeed },
    );
    console.log(env.python);
  },
};
