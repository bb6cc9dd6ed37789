import { UserError } from '../core/errors';
import type { Subcommand } from './args';
import { benchGeneration } from './benchGeneration';
import { benchPrepare } from './benchPrepare';
import { benchTraining } from './benchTraining';

const benches: Record<string, (args: string[]) => Promise<number>> = {
  prepare: benchPrepare,
  training: benchTraining,
  generation: benchGeneration,
};

const usage = `Usage: wordplay bench <prepare | training | generation> [options]

  prepare     prepare's MB/s, char and GPT-2, on tiny Shakespeare repeated to 100 MB
  training    the trainer's tokens/s and MFU for a preset (medians after warm-up)
  generation  KV-cached ONNX generation against recomputing the context each step

Each prints JSON on its last line; "wordplay bench <name> --help" gives its options.`;

export const bench: Subcommand = {
  summary: 'measure prepare, training or generation speed',
  usage,
  async run(args) {
    const [name, ...rest] = args;
    const run = name ? benches[name] : undefined;
    if (!run) throw new UserError(`${name ? `unknown benchmark "${name}"` : 'which benchmark?'}\n\n${usage}`);
    return run(rest);
  },
};
