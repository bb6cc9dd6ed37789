// The time to a validation loss: a preset trained on tiny Shakespeare (char-level, prepared into a
// temporary folder) until its first evaluation at or under the target, then stopped gracefully,
// since the rest of the run would not change the figure. The figure is the time between the
// `start` event (the trainer ready, the model built) and that `eval` event, as events.jsonl
// records them. `npm run bench` runs it through `wordplay train`, as a person would.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fixed, int, type Benchmark, type Recorded } from './benchmark';
import { cliPath, runCommand } from './spawn';

interface Event {
  type: string;
  time: number;
  iter: number;
  val_loss: number;
  device?: string;
  max_iters?: number;
}

const readEvents = (file: string): Event[] =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line) => {
          try {
            return [JSON.parse(line)];
          } catch {
            return []; // the torn last line of a file being written
          }
        })
    : [];

async function timeToLoss({ preset, target, device }: { preset: string; target: number; device: string }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-loss-'));
  try {
    const dataset = path.join(work, 'data');
    const runDir = path.join(work, 'run');
    const events = path.join(runDir, 'events.jsonl');
    const prepared = await runCommand(process.execPath, [
      cliPath,
      'prepare',
      '--input',
      'shakespeare',
      '--tokenizer',
      'char',
      '--out',
      dataset,
    ]);
    if (prepared.code !== 0) throw new Error(`preparing tiny Shakespeare exited with ${prepared.code}`);
    const reached = () => readEvents(events).find((e) => e.type === 'eval' && e.val_loss <= target);
    const started = Date.now();
    let poll: NodeJS.Timeout | undefined;
    const trained = await runCommand(
      process.execPath,
      [
        cliPath,
        'train',
        '--config',
        preset,
        '--run-dir',
        runDir,
        '--set',
        `data.dataset=${dataset}`,
        '--set',
        `train.device=${device}`,
      ],
      {
        env: { WORDPLAY_SKIP_EXPORT: '1' }, // the export is not part of the figure
        onChild: (child) => {
          poll = setInterval(() => {
            if (!reached()) return;
            clearInterval(poll);
            child.kill('SIGINT'); // `wordplay train` then stops the trainer gracefully
          }, 1000);
        },
      },
    );
    clearInterval(poll);
    const all = readEvents(events);
    const start = all.find((e) => e.type === 'start');
    const hit = reached();
    if (!start || (!hit && trained.code !== 0)) throw new Error(`wordplay train exited with ${trained.code}`);
    if (!hit) {
      const best = all.filter((e) => e.type === 'eval').sort((a, b) => a.val_loss - b.val_loss)[0];
      return {
        preset,
        target,
        device: start.device,
        reached: false,
        max_iters: start.max_iters,
        best_val_loss: best?.val_loss,
        best_iter: best?.iter,
      };
    }
    return {
      preset,
      target,
      device: start.device,
      reached: true,
      seconds: hit.time - start.time,
      iter: hit.iter,
      val_loss: hit.val_loss,
      // from spawning `wordplay train` to the same event: Python's start-up and imports included
      command_seconds: hit.time - started / 1000,
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const lossValue = (r: Recorded) =>
  r.reached
    ? `${fixed(r.seconds)} s (val ${fixed(r.val_loss, 3)} at iteration ${int(r.iter)}; ${fixed(r.command_seconds)} s from the command), one run`
    : `not reached in ${int(r.max_iters)} iterations (best val ${fixed(r.best_val_loss, 3)} at iteration ${int(r.best_iter)})`;

export const benchmarks: Benchmark[] = [
  {
    name: 'time-to-loss',
    command:
      'WORDPLAY_SKIP_EXPORT=1 wordplay train --config shakespeare-char-cpu --set data.dataset=<tiny Shakespeare, char>',
    measure: () => timeToLoss({ preset: 'shakespeare-char-cpu', target: 1.88, device: 'cpu' }),
    rows: [
      {
        figure: 'training time to val loss ≤ 1.88, `shakespeare-char-cpu`, CPU (`start` to `eval` event)',
        goal: 'as little wall time as possible (#3; nanoGPT’s CPU recipe takes 2,000 iterations)',
        value: lossValue,
      },
    ],
  },
  {
    name: 'time-to-loss-gpu',
    gpu: true,
    command:
      'WORDPLAY_SKIP_EXPORT=1 wordplay train --config shakespeare-char --set data.dataset=<tiny Shakespeare, char> --set train.device=cuda',
    measure: () => timeToLoss({ preset: 'shakespeare-char', target: 1.47, device: 'cuda' }),
    rows: [
      {
        figure: 'training time to val loss ≤ 1.47, `shakespeare-char`, GPU (`start` to `eval` event)',
        goal: '< 30 s on one H100 (#16; nanoGPT’s recipe: < 60 s, #3)',
        value: lossValue,
        met: (r) => r.reached && r.seconds < 30,
      },
    ],
  },
];
