import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/core/common/errors';
import {
  isManagedEnvReady,
  managedEnv,
  pythonVersion,
  requirementsHash,
  resolvePython,
  setupManagedEnv,
  trainerInvocation,
} from '../../src/core/common/pythonEnv';
import { trainerDir } from '../../src/core/common/paths';
import { tempDir } from './helpers';

test('the managed environment lives in the cache, keyed by the requirements hash', () => {
  const cache = tempDir();
  const env = managedEnv({ WORDPLAY_CACHE_DIR: cache });
  assert.equal(env.dir, path.join(cache, `python-${requirementsHash()}`));
  assert.match(requirementsHash(), /^[0-9a-f]{16}$/);
  assert.equal(isManagedEnvReady({ WORDPLAY_CACHE_DIR: cache }), false);
});

test('python resolution: WORDPLAY_PYTHON, then a ready managed environment, then PATH', () => {
  const cache = tempDir();
  assert.deepEqual(resolvePython({ WORDPLAY_PYTHON: '/opt/py/bin/python', WORDPLAY_CACHE_DIR: cache }), {
    path: '/opt/py/bin/python',
    source: 'WORDPLAY_PYTHON',
  });
  assert.equal(resolvePython({ WORDPLAY_CACHE_DIR: cache }).source, 'PATH');
  const { dir, python } = managedEnv({ WORDPLAY_CACHE_DIR: cache });
  fs.mkdirSync(dir, { recursive: true });
  assert.equal(
    resolvePython({ WORDPLAY_CACHE_DIR: cache }).source,
    'PATH',
    'an environment without its marker is unfinished',
  );
  fs.writeFileSync(path.join(dir, 'wordplay-env.json'), '{}');
  assert.deepEqual(resolvePython({ WORDPLAY_CACHE_DIR: cache }), { path: python, source: 'managed environment' });
});

test('the trainer runs from this package with PYTHONPATH, whatever the interpreter', () => {
  const run = trainerInvocation(['probe'], { WORDPLAY_PYTHON: 'py', PYTHONPATH: '/elsewhere' });
  assert.equal(run.command, 'py');
  assert.deepEqual(run.args, ['-m', 'wordplay_trainer', 'probe']);
  assert.equal(run.env.PYTHONPATH, [trainerDir, '/elsewhere'].join(path.delimiter));
});

test('a missing or old interpreter is a clear error', async () => {
  assert.throws(
    () => pythonVersion('/nonexistent/python'),
    (e: unknown) => e instanceof UserError && /WORDPLAY_PYTHON/.test(e.message),
  );
  const old = path.join(tempDir(), 'python2');
  fs.writeFileSync(old, '#!/bin/sh\necho 2.7.18\n', { mode: 0o755 });
  assert.throws(() => pythonVersion(old), /2\.7\.18.*too old/);
  const cache = tempDir();
  await assert.rejects(
    setupManagedEnv({ step: () => {} }, { basePython: old, env: { WORDPLAY_CACHE_DIR: cache } }),
    /too old/,
  );
  assert.deepEqual(fs.readdirSync(cache), [], 'nothing created');
});

test('setup is a no-op when the environment is ready, and says so', async () => {
  const cache = tempDir();
  const { dir } = managedEnv({ WORDPLAY_CACHE_DIR: cache });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'wordplay-env.json'), '{}');
  const steps: string[] = [];
  await setupManagedEnv(
    { step: (m) => steps.push(m) },
    { basePython: '/nonexistent', env: { WORDPLAY_CACHE_DIR: cache } },
  );
  assert.match(steps.join('\n'), /up to date/);
});
