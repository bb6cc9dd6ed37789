// The repository stands alone: no product code, test, script or benchmark names a folder beside
// the clone (a person who clones the project has nothing there). CI also runs every test from a
// clone in an otherwise empty folder (.ci/run), which catches the reads this cannot see.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';

test('nothing in the repository refers to a shared folder beside the clone', () => {
  // the folder's name is spelled in pieces so that this file does not match its own patterns
  const name = ['sha', 'red'].join('');
  const patterns = [`../${name}`, `'${name}'`, `"${name}"`];
  const grep = spawnSync(
    'git',
    [
      'grep',
      '-n',
      '-F',
      ...patterns.flatMap((p) => ['-e', p]),
      '--',
      'src',
      'test',
      'trainer',
      'scripts',
      'bench',
      'webview',
      '.ci',
      'esbuild.mjs',
      'package.json',
    ],
    {
      cwd: packageRoot,
      encoding: 'utf8',
    },
  );
  assert.equal(
    grep.status,
    1,
    `git grep found references outside the repository (exit ${grep.status}):\n${grep.stdout}${grep.stderr}`,
  );
});
