// The options of the commands that start a run (`wordplay train`, `wordplay submit`): --config,
// --set and --run-dir, and how they become a valid configuration and a run folder.
import * as path from 'node:path';
import { UserError } from '../core/common/errors';
import { defaultRunDir } from '../core/run/runDir';
import { loadConfig, type RunConfig } from '../core/train/config';

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
