// Fuzzing the run-config validator (fast-check, a fixed seed and number of runs each): whatever a
// config file, a config object or a --set holds, the outcome is a ConfigError naming every
// problem's key, or a valid config; never another exception.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fc from 'fast-check';
import { ConfigError, loadConfig, validateConfig } from '../../src/core/train/config';
import { schemaPath } from '../../src/core/common/paths';
import { fuzz } from './fuzzing';
import { tempDir } from './helpers';

interface Node {
  type?: string;
  properties?: Record<string, Node>;
}
const schema = JSON.parse(fs.readFileSync(schemaPath('run-config'), 'utf8')) as Node;
const groups = Object.entries(schema.properties ?? {}).filter(([, s]) => s.type === 'object');
const keys = groups.flatMap(([group, s]) => Object.keys(s.properties ?? {}).map((key) => [group, key] as const));

const tiny = () => ({
  data: { dataset: '/data/ds' },
  model: { n_layer: 1, n_head: 2, n_embd: 16, block_size: 16 },
  train: { batch_size: 4, max_iters: 20, device: 'cpu' },
  optimizer: { learning_rate: 0.003, min_lr: 0.0003 },
});
// the same names the prototype has: a key must be looked up as the object's own
const awkwardNames = fc.constantFrom(
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '',
  ' ',
  'model',
  'n_layer',
);
const name = fc.oneof(awkwardNames, fc.string({ maxLength: 8 }));
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(0, -1, 1.5, 1e308, -0, 2 ** 53 + 2, '', 'auto', null, true),
);

/** Whether a --set names group.key of the schema. */
function knownKey(set: string): boolean {
  const eq = set.indexOf('=');
  return eq >= 0 && keys.some(([group, key]) => `${group}.${key}` === set.slice(0, eq).trim());
}

/** A valid tiny config with a few keys (known or not, at any level) set to arbitrary values. */
const mutatedConfig = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom(...keys), value).map(([[group, key], v]) => (c: Record<string, unknown>) => {
        const g = c[group];
        if (g && typeof g === 'object' && !Array.isArray(g)) (g as Record<string, unknown>)[key] = v;
        else c[group] = { [key]: v };
      }),
      fc
        .tuple(fc.constantFrom(...groups.map(([g]) => g)), name, value)
        .map(([group, key, v]) => (c: Record<string, unknown>) => {
          c[group] = { ...(c[group] as object), [key]: v };
        }),
      fc.tuple(name, value).map(([key, v]) => (c: Record<string, unknown>) => {
        Object.defineProperty(c, key, { value: v, enumerable: true, writable: true, configurable: true });
      }),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((edits) => {
    const c: Record<string, unknown> = tiny();
    for (const edit of edits) edit(c);
    return c;
  });

function checkProblems(problems: { key: string; message: string }[]): void {
  for (const p of problems) {
    assert.ok(typeof p.key === 'string' && p.key.length > 0, `a problem without a key: ${JSON.stringify(p)}`);
    assert.ok(
      typeof p.message === 'string' && p.message.length > 0,
      `a problem without a message: ${JSON.stringify(p)}`,
    );
  }
}

/** A ConfigError naming keys, or a valid config that is plain JSON and validates again. */
function checkOutcome(load: () => ReturnType<typeof loadConfig>): void {
  let config;
  try {
    config = load().config;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${(err as Error)?.stack ?? String(err)}`);
    assert.ok(err.problems.length > 0);
    checkProblems(err.problems);
    return;
  }
  const json = JSON.stringify(config);
  assert.deepEqual(JSON.parse(json), config, 'the config is plain JSON');
  assert.deepEqual(validateConfig(JSON.parse(json)), []);
}

test('validateConfig: any JSON value gives a list of named problems, never an exception', (t) => {
  fuzz(
    t,
    fc.property(fc.oneof(mutatedConfig, fc.dictionary(name, value)), (config) => {
      checkProblems(validateConfig(config));
    }),
    5000,
  );
});

test('loadConfig: any config file gives a valid config or a ConfigError', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'fuzz.wordplay.json');
  fuzz(
    t,
    fc.property(
      fc.oneof(
        mutatedConfig.map((c) => JSON.stringify(c)),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.string({ unit: 'binary', maxLength: 60 }),
      ),
      (text) => {
        fs.writeFileSync(file, text);
        checkOutcome(() => loadConfig(file, [], dir));
      },
    ),
    500,
  );
});

test('loadConfig: any --set gives a valid config or a ConfigError', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'tiny.wordplay.json');
  fs.writeFileSync(file, JSON.stringify(tiny()));
  const raw = fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.constantFrom(
      'nan',
      'inf',
      '-inf',
      '1e999',
      '1_000',
      ' 3',
      '0x10',
      'null',
      'None',
      'true',
      'off',
      '-1',
      '1.5',
      '',
    ),
  );
  const override = fc.oneof(
    fc.tuple(fc.constantFrom(...keys), raw).map(([[group, key], v]) => `${group}.${key}=${v}`),
    fc
      .tuple(fc.oneof(fc.constantFrom(...groups.map(([g]) => g)), name), name, raw)
      .map(([g, k, v]) => `${g}.${k}=${v}`),
    fc.string({ maxLength: 20 }),
  );
  fuzz(
    t,
    fc.property(fc.array(override, { maxLength: 4 }), (sets) => {
      checkOutcome(() => loadConfig(file, sets, dir));
      // a --set of a key the schema lacks is refused, whatever its name
      if (sets.some((s) => !knownKey(s))) assert.throws(() => loadConfig(file, sets, dir), ConfigError);
    }),
    2000,
  );
});
