// Shared by the fault-injection tests: the seeded random instants, the real trainer on a tiny
// config over tiny Shakespeare, and the checks of what a run dir must hold after any crash.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, type RunConfig } from '../../src/core/train/config';
import { prepare } from '../../src/core/prepare/prepare';
import { runPaths } from '../../src/core/run/runDir';
import type { TrainerProcess } from '../../src/core/train/trainerProcess';
import { SHAKESPEARE } from '../unit/helpers';

export const FAULT_SEED = Number(process.env.WORDPLAY_FAULT_SEED ?? 20_250_611);

/** A seeded generator of numbers in [0, 1) (mulberry32): the same instants on every run. */
export function seededRandom(seed = FAULT_SEED): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** For node:test's skip option: false, or why the trainer cannot run here (under CI it throws). */
export { skipWithoutTorch } from '../unit/trainerFixtures';

/** The trainer's environment for tests: no ONNX export at the end, one thread per process. */
export const trainerEnv = { ...process.env, WORDPLAY_SKIP_EXPORT: '1', OMP_NUM_THREADS: '1' };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Tiny Shakespeare, char-level, prepared as the extension does. */
export async function shakespeareDataset(dir: string): Promise<string> {
  return (await prepare({ input: SHAKESPEARE, tokenizer: 'char', out: path.join(dir, 'shakespeare-char') })).dir;
}

/** A config file in dir over the dataset, loaded (validated, defaults filled) with --set overrides. */
export function configFor(
  dir: string,
  dataset: string,
  base: Record<string, Record<string, unknown>>,
  sets: string[] = [],
): RunConfig {
  const file = path.join(dir, 'fault.wordplay.json');
  fs.writeFileSync(file, JSON.stringify({ ...base, data: { dataset } }));
  return loadConfig(file, sets).config;
}

/** safetensors: an 8-byte little-endian header length, a JSON header, then the tensors' bytes,
 *  which must fill the file exactly (a torn write leaves it short). */
function checkSafetensors(file: string): void {
  const bytes = fs.readFileSync(file);
  assert.ok(bytes.length >= 8, `${file} is truncated`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { data_offsets?: [number, number] }
  >;
  const end = Math.max(0, ...Object.values(header).map((t) => t.data_offsets?.[1] ?? 0));
  assert.equal(bytes.length, 8 + headerLength + end, `${file}: the tensors do not fill the file`);
}

/** The checkpoint a resume would load (checkpoint/, else the newest checkpoint.old-* a swap
 *  left), checked complete; its iteration. Undefined when the run has none. */
export function loadableCheckpoint(runDir: string): { folder: string; iteration: number } | undefined {
  const root = runPaths(runDir).root;
  const old = fs
    .readdirSync(root)
    .filter((name) => name.startsWith('checkpoint.old-'))
    .map((name) => path.join(root, name))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  const folder = [runPaths(runDir).checkpoint, ...old].find((f) => fs.existsSync(f));
  if (!folder) return undefined;
  const state = JSON.parse(fs.readFileSync(path.join(folder, 'state.json'), 'utf8')) as { iteration: number };
  assert.ok(Number.isInteger(state.iteration), `${folder}/state.json has no iteration`);
  checkSafetensors(path.join(folder, 'model.safetensors'));
  checkSafetensors(path.join(folder, 'optimizer.safetensors'));
  JSON.parse(fs.readFileSync(path.join(folder, 'optimizer.json'), 'utf8'));
  return { folder, iteration: state.iteration };
}

/** Checks that events.jsonl from byte `from` holds only whole JSON lines, except perhaps a torn
 *  last one; returns how many events there were. */
export function checkEventLines(file: string, from = 0): number {
  const lines = fs.readFileSync(file).subarray(from).toString('utf8').split('\n');
  lines.pop(); // '' when the file ends a line; else a torn line, which is allowed
  // an empty line: a resumed run ending the torn line an earlier one left (before `from`)
  const whole = lines.filter((line) => line !== '');
  for (const line of whole)
    assert.doesNotThrow(() => JSON.parse(line), `a broken line in the middle of ${file}: ${line}`);
  return whole.length;
}

/** Kills a trainer's process group if the trainer has not ended (for `finally`: once it has,
 *  its group id may already belong to someone else). */
export function killIfRunning(trainer: TrainerProcess | undefined): void {
  if (trainer && trainer.child.exitCode === null && trainer.child.signalCode === null) trainer.kill();
}

/** The files a checkpoint write had left half-done when it was cut off. */
export const partialCheckpoints = (runDir: string) =>
  fs.readdirSync(runDir).filter((name) => name.startsWith('checkpoint.tmp-'));
