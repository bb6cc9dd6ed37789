// `wordplay export --run <dir> [--quantize int8]`: the trainer's export (Python), which writes
// model.onnx + model.json into the run folder; its exit code is ours.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/common/errors';
import { trainerInvocation } from '../core/common/pythonEnv';
import { parseOptions, type Subcommand } from './args';

const usage = `Usage: wordplay export --run <run dir> [--quantize int8]

Writes model.onnx and model.json into the run folder from its checkpoint/, for
"wordplay complete" and the editor. Training exports by itself when it ends or is stopped;
run this after a failed export, or for --quantize int8, which adds model.int8.onnx (about
4x smaller, faster on a CPU, slightly less exact) and reports its size and speed.`;

export const exportModel: Subcommand = {
  summary: 'export a run to model.onnx + model.json for completion',
  usage,
  async run(args) {
    const opts = parseOptions(args, { run: { type: 'string' }, quantize: { type: 'string' } }, usage);
    if (!opts.run) throw new UserError(`--run is required.\n\n${usage}`);
    if (opts.quantize !== undefined && opts.quantize !== 'int8') throw new UserError(`--quantize must be int8, not "${opts.quantize}".`);
    const runDir = path.resolve(opts.run);
    if (!fs.existsSync(runDir)) {
      throw new UserError(`${runDir} does not exist: give a run folder (it holds checkpoint/).`);
    }
    const inv = trainerInvocation(['export', '--run', runDir, ...(opts.quantize ? ['--quantize', opts.quantize] : [])]);
    return new Promise<number>((resolve, reject) => {
      const child = spawn(inv.command, inv.args, { env: inv.env, stdio: ['ignore', 'inherit', 'inherit'] });
      const onSigint = () => child.kill('SIGINT');
      process.once('SIGINT', onSigint);
      child.on('error', (err) => {
        process.removeListener('SIGINT', onSigint);
        reject(new UserError(`could not run the trainer's Python (${inv.command}): ${err.message}. Run "wordplay setup" first, or set WORDPLAY_PYTHON.`));
      });
      child.on('close', (code, signal) => {
        process.removeListener('SIGINT', onSigint);
        resolve(code ?? (signal ? 130 : 1));
      });
    });
  },
};
