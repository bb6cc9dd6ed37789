// `wordplay setup --deepspeed`: the DeepSpeed extra goes into the managed environment without
// changing its key, once; a changed pin installs it again. The environment's python here is a
// script that records how it was called: pip itself runs in `npm test`'s own
// `setup --deepspeed` (scripts/test.mjs), whose environment the trainer's sharded tests use.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  deepspeedRequirementsFile,
  hasDeepSpeed,
  managedEnv,
  requirementsHash,
  setupManagedEnv,
} from '../../src/core/common/pythonEnv';
import { tempDir } from './helpers';

/** A ready environment whose python appends its arguments to calls.txt and exits with `status`. */
function readyEnv(status = 0) {
  const env = { WORDPLAY_CACHE_DIR: tempDir() };
  const target = managedEnv(env);
  const calls = path.join(target.dir, 'calls.txt');
  fs.mkdirSync(path.dirname(target.python), { recursive: true });
  fs.writeFileSync(path.join(target.dir, 'wordplay-env.json'), '{}');
  fs.writeFileSync(target.python, `#!/bin/sh\necho "$@" >> '${calls}'\nexit ${status}\n`, { mode: 0o755 });
  const called = () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : []);
  return { env, target, called };
}

test(
  'setup --deepspeed pip-installs the extra into the environment once, under the same name',
  { skip: process.platform === 'win32' },
  async () => {
    const { env, target, called } = readyEnv();
    assert.equal(hasDeepSpeed(target), false);
    const steps: string[] = [];
    const again = await setupManagedEnv({ step: (m) => steps.push(m) }, { env, deepspeed: true });
    assert.equal(again.dir, target.dir);
    assert.equal(path.basename(target.dir), `python-${requirementsHash()}`);
    assert.deepEqual(called(), [
      `-m pip install --disable-pip-version-check --progress-bar off -r ${deepspeedRequirementsFile}`,
    ]);
    assert.equal(hasDeepSpeed(target), true);
    await setupManagedEnv({ step: (m) => steps.push(m) }, { env, deepspeed: true });
    assert.equal(called().length, 1, 'installed already: pip is not run again');
    assert.equal(steps.at(-1), 'DeepSpeed is installed');
    await setupManagedEnv({ step: () => {} }, { env });
    assert.equal(called().length, 1, 'without --deepspeed nothing is installed');
    // a marker written for another pin is stale
    fs.writeFileSync(
      path.join(target.dir, 'wordplay-deepspeed.json'),
      JSON.stringify({ requirements: '0000000000000000' }),
    );
    assert.equal(hasDeepSpeed(target), false);
    await setupManagedEnv({ step: () => {} }, { env, deepspeed: true });
    assert.equal(called().length, 2);
  },
);

test('a failed DeepSpeed install says so and leaves no marker', { skip: process.platform === 'win32' }, async () => {
  const { env, target } = readyEnv(1);
  await assert.rejects(
    setupManagedEnv({ step: () => {} }, { env, deepspeed: true }),
    /requirements-deepspeed\.txt.*failed \(exit 1\)/s,
  );
  assert.equal(hasDeepSpeed(target), false);
  assert.ok(fs.existsSync(path.join(target.dir, 'wordplay-env.json')), 'the environment itself is kept');
});
