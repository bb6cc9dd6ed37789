// A tiny dataset and config for tests that run the real trainer, and the reason to skip them
// when no Python with PyTorch is found (under CI, where it must be there, a failure instead).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, type RunConfig } from '../../src/core/train/config';
import { resolvePython } from '../../src/core/common/pythonEnv';
import { prepare } from '../../src/core/prepare/prepare';
import { missingPrerequisite } from './helpers';

const python = resolvePython().path;
// found, not imported (which takes seconds): a PyTorch that is there but broken fails the tests
const hasTorch =
  spawnSync(python, ['-c', 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)'], {
    stdio: 'ignore',
  }).status === 0;
/** For node:test's skip option: false, or why the trainer cannot run here. */
export const skipWithoutTorch = hasTorch
  ? false
  : missingPrerequisite(
      `no Python with PyTorch (${python})`,
      'make one with "wordplay setup --deepspeed" (npm test runs it), or set WORDPLAY_PYTHON to a Python with PyTorch',
    );

/** A char-level dataset of a few Shakespeare lines in dir, made by `wordplay prepare`'s own code
 *  (the text beside it, in dir.txt). */
export async function tinyDataset(dir: string): Promise<string> {
  const text = `${dir}.txt`;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.writeFileSync(
    text,
    'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n'.repeat(60),
  );
  return (await prepare({ input: text, tokenizer: 'char', out: dir })).dir;
}

/** tiny.wordplay.json in dir (dataset dir/data), loaded with `sets` applied. */
export function tinyConfig(dir: string, sets: string[] = []): RunConfig {
  const file = path.join(dir, 'tiny.wordplay.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      data: { dataset: 'data' },
      model: { n_layer: 1, n_head: 2, n_embd: 16, block_size: 16 },
      train: {
        batch_size: 4,
        max_iters: 100000,
        eval_interval: 100000,
        eval_iters: 2,
        log_interval: 1,
        sample_tokens: 0,
        device: 'cpu',
        compile: 'false',
      },
      optimizer: { learning_rate: 0.003, min_lr: 0.0003, warmup_iters: 2 },
    }),
  );
  return loadConfig(file, sets).config;
}
