// A pretrained train.init_from's config stage (src/core/train/hfConfig.ts, through loadConfig):
// test/cases/pretrained-rules.json, the cases the trainer's train/hf_config.py runs too, word for
// word; and a hub name read from the Hugging Face cache the trainer downloads into.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../src/core/train/config';
import cases from '../cases/pretrained-rules.json';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-hfconfig-'));
}

/** The case's value with {folder} made the model folder's path. */
function placed<T>(value: T, folder: string): T {
  return JSON.parse(JSON.stringify(value).split('{folder}').join(folder)) as T;
}

function load(config: unknown, dir: string, set: string[] = []) {
  const file = path.join(dir, 'run.wordplay.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return loadConfig(file, set, dir).config;
}

for (const c of cases.cases) {
  test(`pretrained rules case: ${c.name}`, () => {
    const dir = tmp();
    const folder = path.join(dir, 'model');
    if (c.folder !== null || !JSON.stringify(c.config).includes('nothing')) fs.mkdirSync(folder);
    if (c.folder !== null) fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify(c.folder));
    let got: string[][] = [];
    let model: Record<string, unknown> = {};
    try {
      model = load(placed(c.config, folder), dir, c.set).model;
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      got = err.problems.map((p) => [p.key, p.message]);
    }
    assert.deepEqual(got, placed(c.problems, folder));
    const expected = (c as { model?: Record<string, unknown> }).model ?? {};
    if (!got.length) assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, model[k]])), expected);
  });
}

test('a hub name is read from the Hugging Face cache; one not there yet names the command that fetches it', () => {
  const dir = tmp();
  const snapshot = path.join(dir, 'hub', 'models--tiny--llama', 'snapshots', 'abc');
  fs.mkdirSync(snapshot, { recursive: true });
  fs.mkdirSync(path.join(dir, 'hub', 'models--tiny--llama', 'refs'));
  fs.writeFileSync(path.join(dir, 'hub', 'models--tiny--llama', 'refs', 'main'), 'abc');
  const llama = cases.cases.find((c) => c.folder?.model_type === 'llama')!.folder!;
  fs.writeFileSync(path.join(snapshot, 'config.json'), JSON.stringify(llama));
  const saved = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = path.join(dir, 'hub');
  try {
    const config = load({ train: { init_from: 'tiny/llama' } }, dir);
    assert.equal(config.train.init_from, 'tiny/llama');
    assert.deepEqual([config.model.n_kv_head, config.model.position], [2, 'rope']);
    // a folder of that name wins
    fs.mkdirSync(path.join(dir, 'tiny', 'llama'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'tiny', 'llama', 'config.json'),
      JSON.stringify({ ...llama, num_hidden_layers: 3 }),
    );
    const local = load({ train: { init_from: 'tiny/llama' } }, dir);
    assert.deepEqual([local.train.init_from, local.model.n_layer], [path.join(dir, 'tiny', 'llama'), 3]);
    assert.throws(
      () => load({ train: { init_from: 'tiny/absent' } }, dir),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems[0].key === 'train.init_from' &&
        err.problems[0].message.includes('wordplay export --from tiny/absent'),
    );
  } finally {
    if (saved === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = saved;
  }
});
