// A tiny dataset and config for tests that run the real trainer, and the reason to skip them
// when no Python with PyTorch is found.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, type RunConfig } from '../../src/core/train/config';
import { resolvePython } from '../../src/core/common/pythonEnv';

const python = resolvePython().path;
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
export const skipWithoutTorch = hasTorch ? false : `no Python with PyTorch (${python}); run "wordplay setup" or set WORDPLAY_PYTHON`;

/** A char-level dataset dir as `wordplay prepare` writes it. */
export function tinyDataset(dir: string): string {
  const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n'.repeat(60);
  const vocab = [...new Set(text)].sort();
  const ids = Uint16Array.from([...text].map((c) => vocab.indexOf(c)));
  const n = Math.floor(text.length * 0.9);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'train.bin'), Buffer.from(ids.slice(0, n).buffer));
  fs.writeFileSync(path.join(dir, 'val.bin'), Buffer.from(ids.slice(n).buffer));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ type: 'char', vocab }));
  fs.writeFileSync(
    path.join(dir, 'meta.json'),
    JSON.stringify({ source: ['test'], tokenizer: 'char', vocab_size: vocab.length, dtype: 'uint16', train_tokens: n, val_tokens: text.length - n }),
  );
  return dir;
}

/** tiny.wordplay.json in dir (dataset dir/data), loaded with `sets` applied. */
export function tinyConfig(dir: string, sets: string[] = []): RunConfig {
  const file = path.join(dir, 'tiny.wordplay.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      data: { dataset: 'data' },
      model: { n_layer: 1, n_head: 2, n_embd: 16, block_size: 16 },
      train: { batch_size: 4, max_iters: 100000, eval_interval: 100000, eval_iters: 2, log_interval: 1, sample_tokens: 0, device: 'cpu', compile: 'false' },
      optimizer: { learning_rate: 0.003, min_lr: 0.0003, warmup_iters: 2 },
    }),
  );
  return loadConfig(file, sets).config;
}
