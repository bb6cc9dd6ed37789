// The run card (src/core/run/runCard.ts): two run folders with their config.json, events.jsonl
// and datasets' meta.json, compared row by row as the Compare Runs panel shows them.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/core/common/errors';
import { formatDuration, median, runCard } from '../../src/core/run/runCard';
import type { RunCardRow } from '../../src/core/webview/protocol';
import { tempDir } from './helpers';

const meta = (sha256: string) => ({
  source: ['input.txt'],
  sha256,
  tokenizer: 'char',
  vocab_size: 65,
  dtype: 'uint16',
  documents: 1,
  characters: 1_115_394,
  train_characters: 1_003_854,
  train_tokens: 1_003_854,
  val_tokens: 111_540,
  train_bytes: 1_003_854,
  val_bytes: 111_540,
  created: '2026-12-01T00:00:00Z',
});

function dataset(root: string, name: string, sha256: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta(sha256)));
  return dir;
}

function run(root: string, name: string, config: object, events: object[]): string {
  const dir = path.join(root, 'runs', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e) + '\n').join(''));
  return dir;
}

const start = (time: number, extra: object = {}) => ({
  type: 'start',
  time,
  iter: 0,
  max_iters: 40,
  pid: 1,
  device: 'cpu',
  dtype: 'float32',
  n_params: 1000,
  n_params_total: 1200,
  tokens_per_iter: 64,
  world_size: 1,
  ...extra,
});
const train = (time: number, iter: number, tokensPerS: number) => ({
  type: 'train',
  time,
  iter,
  loss: 3,
  lr: 1e-3,
  dt_ms: 5,
  tokens_per_s: tokensPerS,
  mfu: null,
});
const evalEv = (time: number, iter: number, valLoss: number, extra: object = {}) => ({
  type: 'eval',
  time,
  iter,
  train_loss: 2.5,
  val_loss: valLoss,
  ...extra,
});

const row = (rows: RunCardRow[], label: string) => {
  const found = rows.find((r) => r.label === label);
  assert.ok(found, `a row ${label}`);
  return found;
};

test('two runs of one dataset: the config diff marks the differing key, results and environment are read from the events', () => {
  const root = tempDir('wordplay-card-');
  const data = dataset(root, 'shakespeare-char', 'ab'.repeat(32));
  const config = (lr: number) => ({
    data: { dataset: data },
    model: { n_layer: 2, n_embd: 64 },
    optimizer: { learning_rate: lr },
    train: { max_iters: 40 },
  });
  const a = run(root, 'lr-high', config(0.01), [
    start(100, { torch: '2.5.1', threads: 4 }),
    train(101, 10, 1000),
    train(102, 20, 3000),
    evalEv(103, 20, 2.5, { val_bpb: 3.6 }),
    train(104, 30, 2000),
    evalEv(105, 40, 2.6, { val_bpb: 3.75 }),
    { type: 'done', time: 165, reason: 'finished', iter: 40 },
  ]);
  // an older trainer: no torch version, threads or bits per byte
  const b = run(root, 'lr-low', { ...config(0.001), model: { n_layer: 2, n_embd: 64, dropout: 0.1 } }, [
    start(200),
    train(201, 10, 500),
    evalEv(202, 10, 2.9),
  ]);

  const card = runCard(a, b);
  assert.deepEqual(card.names, ['lr-high', 'lr-low']);
  assert.deepEqual(card.dirs, [path.resolve(a), path.resolve(b)]);
  assert.deepEqual(
    card.config.filter((r) => !r.same),
    [
      { label: 'optimizer.learning_rate', a: '0.01', b: '0.001', same: false },
      { label: 'model.dropout', a: '—', b: '0.1', same: false },
    ],
    'only the keys that differ, a key only one run has included',
  );
  assert.deepEqual(row(card.config, 'model.n_layer'), { label: 'model.n_layer', a: '2', b: '2', same: true });

  assert.equal(card.sameDataset, true);
  assert.equal(row(card.dataset, 'sha256').a, 'ab'.repeat(32));
  assert.ok(
    card.dataset.every((r) => r.same),
    'the same dataset: every row the same',
  );
  assert.deepEqual(row(card.dataset, 'val tokens'), { label: 'val tokens', a: '111,540', b: '111,540', same: true });

  assert.deepEqual(row(card.environment, 'torch'), { label: 'torch', a: '2.5.1', b: '—', same: false });
  assert.deepEqual(row(card.environment, 'threads'), { label: 'threads', a: '4', b: '—', same: false });
  assert.equal(row(card.environment, 'parameters').a, '1,200');

  assert.deepEqual(row(card.results, 'final val loss'), {
    label: 'final val loss',
    a: '2.6000',
    b: '2.9000',
    same: false,
  });
  assert.equal(row(card.results, 'best val loss').a, '2.5000');
  assert.deepEqual(
    [row(card.results, 'best val bits per byte').a, row(card.results, 'best val bits per byte').b],
    ['3.6000', '—'],
  );
  assert.deepEqual([row(card.results, 'wall time').a, row(card.results, 'wall time').b], ['1m 05s', '2s']);
  assert.deepEqual([row(card.results, 'median tokens/s').a, row(card.results, 'median tokens/s').b], ['2,000', '500']);
  assert.deepEqual([row(card.results, 'iterations').a, row(card.results, 'iterations').b], ['40', '10']);
});

test('different datasets are told apart by sha256; a missing meta.json or config.json is named', () => {
  const root = tempDir('wordplay-card-');
  const a = run(root, 'a', { data: { dataset: dataset(root, 'one', '11'.repeat(32)) } }, [start(1)]);
  const b = run(root, 'b', { data: { dataset: dataset(root, 'two', '22'.repeat(32)) } }, [start(1)]);
  const card = runCard(a, b);
  assert.equal(card.sameDataset, false);
  assert.equal(row(card.dataset, 'sha256').same, false);
  assert.equal(row(card.dataset, 'vocabulary').same, true);

  const moved = run(root, 'moved', { data: { dataset: path.join(root, 'gone') } }, [start(1)]);
  const partial = runCard(a, moved);
  assert.equal(partial.sameDataset, null, 'unknown without both meta.json');
  assert.match(row(partial.dataset, 'path').b, /gone \(no meta\.json\)$/);
  assert.equal(row(partial.dataset, 'sha256').b, '—');

  const never = path.join(root, 'runs', 'never');
  fs.mkdirSync(never);
  assert.throws(
    () => runCard(a, never),
    (err: Error) => err instanceof UserError && err.message.includes(path.join(never, 'config.json')),
  );
});

test('median and durations', () => {
  assert.equal(median([]), undefined);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.deepEqual([42, 185, 3725].map(formatDuration), ['42s', '3m 05s', '1h 02m']);
});
