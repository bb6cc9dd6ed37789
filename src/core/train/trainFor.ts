// Train for…: a run sized for a dataset and a number of minutes. The trainer's `size` command
// (trainer/wordplay_trainer/commands/size.py, its rule train/sizing.py) measures this machine's
// throughput for a family of model shapes (kept in the cache folder, so a second plan starts at
// once) and prints the plan as JSON: the run config, train.time_budget_s set, with its shape,
// parameters, estimated tokens and expected val loss; or a refusal naming the shortest budget that
// trains anything. This module runs it and words the plan, for `wordplay train --dataset
// --minutes` and the palette's Train for….
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { UserError } from '../common/errors';
import { trainerInvocation } from '../common/pythonEnv';
import { safeName } from '../common/names';
import { applyOverrides, ConfigError, validateConfig, type RunConfig } from './config';
import { formatCount } from './estimate';

/** The size command's plan (commands/size.py writes it). */
export interface TrainForPlan {
  config: Record<string, unknown>;
  dataset: string;
  tokenizer: string;
  device: string;
  machine: string;
  budget_s: number;
  shape: { n_layer: number; n_head: number; n_embd: number; block_size: number };
  /** The blocks' parameters (what the rule sizes), and every parameter. */
  params: number;
  params_total: number;
  batch_size: number;
  gradient_accumulation_steps: number;
  tokens_per_step: number;
  tokens_per_s: number;
  train_s: number;
  steps: number;
  /** Tokens the run is expected to train on. */
  tokens: number;
  epochs: number;
  expected_val_loss: number;
  calibration_s: number;
  cached_shapes: number;
}

/** Why `text` is not a budget in minutes, or undefined when it is one (fractions allowed). */
export function minutesProblem(text: string): string | undefined {
  const minutes = text.trim() === '' ? NaN : Number(text);
  return Number.isFinite(minutes) && minutes > 0
    ? undefined
    : 'must be a positive number of minutes (0.5 is 30 seconds)';
}

/** --minutes as a number, or a UserError naming it. */
export function parseMinutes(text: string | undefined): number {
  if (text === undefined) throw new UserError('--minutes is required with --dataset: how long to train, in minutes.');
  const problem = minutesProblem(text);
  if (problem) throw new UserError(`--minutes ${problem}, got "${text}".`);
  return Number(text);
}

/** The name of a run (and of its config file) trained on `dataset` for `minutes`:
 *  shakespeare-char-5min, shakespeare-char-0.25min. */
export function trainForName(dataset: string, minutes: number): string {
  return safeName(`${path.basename(path.resolve(dataset))}-${minutes}min`);
}

export interface SizeOptions {
  dataset: string;
  minutes: number;
  /** train.device to size for (default auto). */
  device?: string;
  /** Measure this machine again instead of reading the calibration cache. */
  recalibrate?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Aborting stops the calibration; the promise then resolves with undefined. */
  signal?: AbortSignal;
  /** Each line the size command prints for people (what it calibrates). */
  onLine?: (line: string) => void;
}

/** Runs the size command: the plan, undefined when aborted, or a UserError (the refusal with the
 *  shortest budget that works, or the trainer's own words). */
export function sizeRun(options: SizeOptions): Promise<TrainForPlan | undefined> {
  const args = ['size', '--dataset', path.resolve(options.dataset), '--minutes', String(options.minutes)];
  args.push('--device', options.device ?? 'auto');
  if (options.recalibrate) args.push('--recalibrate');
  const inv = trainerInvocation(args, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(inv.command, inv.args, {
      env: inv.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    let stdout = '';
    const said: string[] = [];
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (data: string) => (stdout += data));
    child.stderr.setEncoding('utf8').on('data', (data: string) => {
      const lines = (pending + data).split(/\r?\n/);
      pending = lines.pop()!;
      for (const line of lines.filter(Boolean)) {
        options.onLine?.(line);
        said.push(line);
      }
    });
    child.on('error', (err) => {
      if (err.name === 'AbortError') return; // 'close' follows
      reject(
        new UserError(
          `could not run the trainer's Python (${inv.command}): ${err.message}. Run "wordplay setup" first, or set WORDPLAY_PYTHON.`,
        ),
      );
    });
    child.on('close', (code) => {
      if (options.signal?.aborted) return resolve(undefined);
      if (pending) said.push(pending);
      let result: (TrainForPlan & { refused?: string }) | undefined;
      try {
        result = code === 0 || code === 3 ? JSON.parse(stdout) : undefined;
      } catch {
        result = undefined;
      }
      if (result?.refused) return reject(new UserError(result.refused));
      if (code === 0 && result) return resolve(result);
      const own = said
        .filter((l) => l.startsWith('wordplay size: '))
        .map((l) => l.replace(/^wordplay size: (error: )?/, ''));
      reject(new UserError(`sizing the run failed: ${own.join('\n') || said.slice(-6).join('\n') || `exit ${code}`}`));
    });
  });
}

/** "4×128" */
export function shapeText(plan: TrainForPlan): string {
  return `${plan.shape.n_layer}×${plan.shape.n_embd}`;
}

/** "Train 4×128 (0.79 M parameters) for 5 min, ≈1.23 M tokens, expected val loss ≈1.55". */
export function planSummary(plan: TrainForPlan): string {
  const minutes = plan.budget_s / 60;
  return (
    `Train ${shapeText(plan)} (${formatCount(plan.params)} parameters) for ${minutes} min, ` +
    `≈${formatCount(plan.tokens)} tokens, expected val loss ≈${plan.expected_val_loss.toFixed(2)}`
  );
}

/** What a plan's U-net skips (model.skip_connections: they win on time on char datasets, commands/size.py) cost
 *  in exports; undefined where it has none. */
export function exportsNote(plan: TrainForPlan): string | undefined {
  const model = plan.config.model as { skip_connections?: boolean } | undefined;
  return model?.skip_connections
    ? 'ONNX export only: its U-net skips (model.skip_connections) have no Hugging Face or GGUF class; model.skip_connections false trains one that has'
    : undefined;
}

/** The plan as the CLI prints it before training. */
export function planLines(plan: TrainForPlan): string[] {
  const s = plan.shape;
  const exports = exportsNote(plan);
  const batch =
    plan.gradient_accumulation_steps > 1
      ? `${plan.batch_size} × ${plan.gradient_accumulation_steps} accumulated`
      : `${plan.batch_size}`;
  const calibrated =
    plan.calibration_s > 0
      ? `measured in ${plan.calibration_s.toFixed(1)} s`
      : 'from the calibration cache (wordplay train --recalibrate measures again)';
  return [
    `plan for ${plan.budget_s / 60} min on ${plan.device} (${plan.machine}):`,
    `  model      ${s.n_layer} layers × ${s.n_embd} wide, ${s.n_head} heads, block ${s.block_size}: ${formatCount(plan.params)} parameters in the blocks (${formatCount(plan.params_total)} in all)`,
    `  batch      ${batch} sequences of ${s.block_size} tokens (${plan.tokens_per_step.toLocaleString('en-US')} tokens a step)`,
    `  tokens     ≈${formatCount(plan.tokens)} in ≈${plan.steps.toLocaleString('en-US')} steps (${plan.epochs.toFixed(2)} epochs) at ${Math.round(plan.tokens_per_s).toLocaleString('en-US')} tokens/s, ${calibrated}`,
    `  val loss   ≈${plan.expected_val_loss.toFixed(2)} expected (fitted on tiny Shakespeare; other text differs)`,
    `  budget     ${plan.budget_s} s (train.time_budget_s), evaluations and the export included`,
    ...(exports ? [`  exports    ${exports} (--set model.skip_connections=false)`] : []),
  ];
}

/** The plan's config with `overrides` applied: valid, every default filled. */
/** Seconds from the trainer's spawn to the start of its budget's clock (Python and PyTorch
 *  loading: 2–3 s measured on the development VM). */
export const TRAINER_START_S = 3;

/** The budget left for the trainer of `wordplay train --minutes`, whose minutes count from the
 *  command's start: what sizing (and calibrating) took, and the trainer's start, come off them. */
export function budgetLeft(minutes: number, spentSeconds: number): number {
  const left = Math.round((minutes * 60 - spentSeconds - TRAINER_START_S) * 10) / 10;
  if (left <= 0)
    throw new UserError(
      `--minutes ${minutes} was spent sizing the run (${spentSeconds.toFixed(1)} s); give more minutes.`,
    );
  return left;
}

/** The plan's config with `overrides` (--set) applied; `budgetS`, when given, replaces
 *  train.time_budget_s unless an override sets it. */
export function planConfig(plan: TrainForPlan, overrides: string[] = [], budgetS?: number): RunConfig {
  const config = structuredClone(plan.config);
  if (budgetS !== undefined) (config.train as Record<string, unknown>).time_budget_s = budgetS;
  applyOverrides(config, overrides);
  const problems = validateConfig(config);
  if (problems.length) throw new ConfigError(problems);
  return config as unknown as RunConfig;
}
