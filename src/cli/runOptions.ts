// The options of the commands that start a run (`wordplay train`, `wordplay submit`): --config,
// --set and --run-dir, and how they become a valid configuration and a run folder; and
// `wordplay train`'s --dataset and --minutes, a run sized for a time (core/train/trainFor.ts).
import * as path from 'node:path';
import { UserError } from '../core/common/errors';
import { defaultRunDir } from '../core/run/runDir';
import { loadConfig, type RunConfig } from '../core/train/config';
import { budgetLeft, parseMinutes, planConfig, planLines, sizeRun, trainForName } from '../core/train/trainFor';

export const runOptions = {
  config: { type: 'string' },
  set: { type: 'string', multiple: true },
  'run-dir': { type: 'string' },
} as const;

export const runOptionsUsage = `  --config   a *.wordplay.json config file, or a preset: shakespeare-char-cpu, shakespeare-char,
             nanogpt-shakespeare-char-cpu, nanogpt-shakespeare-char, gpt2-finetune, gpt2-124m
  --set      override one key, e.g. --set train.max_iters=300 (repeatable)
  --run-dir  the run folder (default: runs/<YYYYMMDD-HHMMSS>-<config name>); with
             --set train.init_from=resume, the run to continue`;

/** The config (--set applied, then `overrides`), valid, and the absolute run folder; refused
 *  here, before anything is started, when invalid. */
export function loadRun(
  opts: { config?: string; set?: string[]; 'run-dir'?: string },
  usage: string,
  overrides: string[] = [],
): { config: RunConfig; runDir: string } {
  if (!opts.config) throw new UserError(`--config is required.\n\n${usage}`);
  const { config, name } = loadConfig(opts.config, [...(opts.set ?? []), ...overrides]);
  return { config, runDir: path.resolve(opts['run-dir'] ?? defaultRunDir(name)) };
}

export const trainForOptions = {
  dataset: { type: 'string' },
  minutes: { type: 'string' },
  recalibrate: { type: 'boolean' },
} as const;

export const trainForUsage = `  --dataset      a prepared dataset folder: train a model sized for it and --minutes, on this
                 machine (a few seconds measure its speed the first time; kept in the cache)
  --minutes      the time budget in minutes, everything included (0.5 is 30 seconds)
  --recalibrate  measure this machine's speed again instead of reading the cache`;

/** The config sized for --dataset and --minutes (its plan printed on stderr; --set applied after
 *  it) and the run folder (default: runs/<stamp>-<dataset>-<N>min); a UserError when the budget
 *  is too short, naming the shortest that works. */
export async function loadTrainFor(
  opts: {
    config?: string;
    set?: string[];
    'run-dir'?: string;
    dataset?: string;
    minutes?: string;
    recalibrate?: boolean;
  },
  usage: string,
): Promise<{ config: RunConfig; runDir: string }> {
  if (opts.config) throw new UserError(`--config and --dataset/--minutes are two ways to train: give one.\n\n${usage}`);
  const minutes = parseMinutes(opts.minutes);
  if (!opts.dataset)
    throw new UserError(`--dataset is required with --minutes: a prepared dataset folder.\n\n${usage}`);
  // a device given with --set is the one to size for
  const device = (opts.set ?? []).map((s) => /^\s*train\.device\s*=(.*)$/.exec(s)?.[1]?.trim()).find(Boolean);
  process.stderr.write(`wordplay: sizing a run for ${opts.dataset} and ${minutes} min ...\n`);
  const plan = await sizeRun({
    dataset: opts.dataset,
    minutes,
    device,
    recalibrate: opts.recalibrate,
    onLine: (line) => process.stderr.write(`${line}\n`),
  });
  if (!plan) throw new UserError('sizing was interrupted; nothing was trained.');
  process.stderr.write(`${planLines(plan).join('\n')}\n`);
  // --minutes counts from this command's start: sizing took some of them
  const config = planConfig(plan, opts.set ?? [], budgetLeft(minutes, process.uptime()));
  process.stderr.write(`wordplay: ${config.train.time_budget_s} s left for the trainer after sizing\n`);
  const name = trainForName(opts.dataset, minutes);
  return { config, runDir: path.resolve(opts['run-dir'] ?? defaultRunDir(name)) };
}
