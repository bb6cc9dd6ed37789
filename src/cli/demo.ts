// `wordplay demo`, the README's main job: the whole pipeline on tiny Shakespeare, composed of
// the same subcommands a user would type.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasetFiles } from '../core/prepare/dataset';
import { defaultRunDir } from '../core/run/runDir';
import { parseOptions, type Subcommand } from './args';
import { complete } from './complete';
import { prepare } from './prepare';
import { train } from './train';

const usage = `Usage: wordplay demo [--max-iters N]

Prepares tiny Shakespeare (char-level) into data/shakespeare-char (reused when present),
trains the shakespeare-char-cpu preset on the CPU into a new folder under runs/ (a few
minutes), exports it, and prints a completion of "ROMEO:". --max-iters shortens training.`;

export const demo: Subcommand = {
  summary: 'prepare tiny Shakespeare, train on the CPU, export, complete "ROMEO:"',
  usage,
  async run(args) {
    const opts = parseOptions(args, { 'max-iters': { type: 'string' } }, usage);
    const dataset = path.resolve('data', 'shakespeare-char');
    step('1/3', `Preparing tiny Shakespeare into ${dataset}`);
    if (fs.existsSync(path.join(dataset, datasetFiles.meta))) console.error('  (already prepared: reusing it)');
    else await prepare.run(['--input', 'shakespeare', '--tokenizer', 'char', '--out', dataset]);

    const runDir = defaultRunDir('demo');
    step('2/3', `Training shakespeare-char-cpu on the CPU into ${runDir}`);
    const overrides = ['--set', `data.dataset=${dataset}`, '--set', 'train.device=cpu'];
    if (opts['max-iters']) overrides.push('--set', `train.max_iters=${opts['max-iters']}`);
    const trained = await train.run(['--config', 'shakespeare-char-cpu', '--run-dir', runDir, ...overrides]);
    if (trained) return trained;

    step('3/3', 'Completing "ROMEO:" with the exported model');
    process.stdout.write('ROMEO:');
    const completed = await complete.run(['--model', runDir, '--prompt', 'ROMEO:', '--max-tokens', '300', '--temperature', '0.8', '--top-k', '50']);
    process.stdout.write('\n');
    return completed;
  },
};

function step(counter: string, message: string): void {
  console.error(`\n[wordplay demo ${counter}] ${message}`);
}
