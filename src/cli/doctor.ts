// `wordplay doctor`: what wordplay would train with here, and each problem with its fix (doctor.ts).
import { doctor as runDoctor, formatDoctor } from '../core/train/doctor';
import { parseOptions } from '../core/common/options';
import type { Subcommand } from './subcommand';

const usage = `Usage: wordplay doctor [--json]

Reports Node.js, the Python interpreter wordplay uses, PyTorch, the devices it can train on
(CUDA name and memory, MPS, CPU threads) and any problem with its fix. Exits 1 when there is
a problem.`;

export const doctor: Subcommand = {
  summary: 'check Node, Python, PyTorch and devices',
  usage,
  async run(args) {
    const opts = parseOptions(args, { json: { type: 'boolean' } }, usage);
    const report = await runDoctor();
    console.log(opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
    return report.problems.length ? 1 : 0;
  },
};
