// `wordplay demo`, the README's main job: the whole pipeline on tiny Shakespeare, composed of
// the same subcommands a user would type.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasetFiles } from '../core/prepare/dataset';
import { defaultRunDir } from '../core/run/runDir';
import { parseOptions } from '../core/common/options';
import type { Subcommand } from './subcommand';
import { complete } from './complete';
import { prepare } from './prepare';
import { train } from './train';

// The demo's schedule: the preset's recipe, its learning rate decayed over these iterations
// instead of its 700 (the preset leaves lr_decay_iters to max_iters): val loss about 1.78 in
// about two minutes on a 2-core CPU, where the whole preset takes about five for about 1.64.
const DEMO_ITERS = 350;

const usage = `Usage: wordplay demo [--max-iters ${DEMO_ITERS}]

Prepares tiny Shakespeare (char-level) into data/shakespeare-char (reused when present),
trains the shakespeare-char-cpu preset's recipe on the CPU for --max-iters iterations into a
new folder under runs/ (about two minutes), exports it, and prints a completion of "ROMEO:".`;

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
    const iters = opts['max-iters'] ?? String(DEMO_ITERS);
    step('2/3', `Training shakespeare-char-cpu for ${iters} iterations on the CPU into ${runDir}`);
    const overrides = [
      '--set',
      `data.dataset=${dataset}`,
      '--set',
      'train.device=cpu',
      '--set',
      `train.max_iters=${iters}`,
    ];
    const trained = await train.run(['--config', 'shakespeare-char-cpu', '--run-dir', runDir, ...overrides]);
    if (trained) return trained;

    step('3/3', 'Completing "ROMEO:" with the exported model');
    process.stdout.write('ROMEO:');
    const completed = await complete.run([
      '--model',
      runDir,
      '--prompt',
      'ROMEO:',
      '--max-tokens',
      '300',
      '--temperature',
      '0.8',
      '--top-k',
      '50',
    ]);
    process.stdout.write('\n');
    return completed;
  },
};

function step(counter: string, message: string): void {
  console.error(`\n[wordplay demo ${counter}] ${message}`);
}
