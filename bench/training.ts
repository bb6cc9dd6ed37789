// `wordplay bench training --config <preset|file> [--iters N] [--warmup N] [--set k=v ...]`:
// runs the trainer's own benchmark (Python + PyTorch only, so the same command runs on a GPU
// box without Node) and prints its JSON on one line.
import { spawn } from 'node:child_process';
import { UserError } from '../src/core/common/errors';
import { trainerInvocation } from '../src/core/common/pythonEnv';
import { parseOptions } from '../src/cli/args';

export const benchTrainingUsage = `Usage: wordplay bench training --config <preset|file> [--iters N] [--warmup N] [--set group.key=value ...]

Training tokens/s and MFU (medians after warm-up) for a config; random tokens stand in for a
missing dataset. The same as: python -m wordplay_trainer bench --config <preset> [--iters N]`;

export async function benchTraining(args: string[]): Promise<number> {
  const opts = parseOptions(
    args,
    {
      config: { type: 'string', default: 'shakespeare-char-cpu' },
      iters: { type: 'string' },
      warmup: { type: 'string' },
      set: { type: 'string', multiple: true },
    },
    benchTrainingUsage,
  );
  const pyArgs = ['bench', '--config', opts.config ?? 'shakespeare-char-cpu'];
  if (opts.iters) pyArgs.push('--iters', opts.iters);
  if (opts.warmup) pyArgs.push('--warmup', opts.warmup);
  for (const s of opts.set ?? []) pyArgs.push('--set', s);
  const inv = trainerInvocation(pyArgs);
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve, reject) => {
    const child = spawn(inv.command, inv.args, { env: inv.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', (err) => reject(new UserError(`could not run ${inv.command}: ${err.message}. Run "wordplay setup".`)));
    child.on('close', (c) => resolve({ code: c ?? 1, stdout: out }));
  });
  if (code !== 0) return code;
  try {
    console.log(JSON.stringify(JSON.parse(stdout)));
  } catch {
    process.stdout.write(stdout);
  }
  return 0;
}
