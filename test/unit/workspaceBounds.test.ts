import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConfigError, type RunConfig } from '../../src/core/train/config';
import { boundsProblems, checkBounds, insideBounds, realPath } from '../../src/core/train/workspaceBounds';
import { tempDir } from './helpers';

/** A workspace folder, a sibling whose name starts alike, and a folder elsewhere. */
function layout() {
  const base = tempDir();
  const ws = path.join(base, 'proj');
  const sibling = path.join(base, 'proj2');
  const elsewhere = path.join(base, 'elsewhere');
  for (const d of [path.join(ws, 'data', 'ds'), path.join(ws, 'runs'), sibling, elsewhere])
    fs.mkdirSync(d, { recursive: true });
  return { base, ws, sibling, elsewhere };
}

const configWith = (dataset: string, init_from = 'scratch') =>
  ({ data: { dataset }, train: { init_from } }) as RunConfig;

test('paths inside the workspace, existing or not yet, are inside', () => {
  const { ws } = layout();
  const bounds = { roots: [ws] };
  assert.ok(insideBounds(ws, bounds));
  assert.ok(insideBounds(path.join(ws, 'data', 'ds'), bounds));
  assert.ok(insideBounds(path.join(ws, 'runs', 'not-yet', 'deeper'), bounds));
  assert.ok(insideBounds(path.join(ws, 'runs', '..', 'data'), bounds));
  assert.deepEqual(boundsProblems(configWith(path.join(ws, 'data', 'ds')), path.join(ws, 'runs', 'r1'), bounds), []);
});

test('.., absolute paths and a sibling with the same prefix are outside', () => {
  const { ws, sibling, elsewhere } = layout();
  const bounds = { roots: [ws] };
  assert.equal(insideBounds(path.join(ws, '..', 'elsewhere'), bounds), false);
  assert.equal(insideBounds(path.join(ws, 'runs', '..', '..', 'proj2'), bounds), false);
  assert.equal(insideBounds(sibling, bounds), false);
  assert.equal(insideBounds(elsewhere, bounds), false);
  assert.equal(insideBounds('/', bounds), false);
});

test('symbolic links are followed: a link inside that leads out is outside', () => {
  const { ws, elsewhere, base } = layout();
  const bounds = { roots: [ws] };
  fs.symlinkSync(elsewhere, path.join(ws, 'escape'));
  assert.equal(insideBounds(path.join(ws, 'escape'), bounds), false);
  assert.equal(insideBounds(path.join(ws, 'escape', 'run', 'new'), bounds), false);
  // a link to where nothing is yet: writing through it would create its target outside
  fs.symlinkSync(path.join(base, 'not-yet'), path.join(ws, 'dangling'));
  assert.equal(realPath(path.join(ws, 'dangling', 'x')), path.join(realPath(base), 'not-yet', 'x'));
  assert.equal(insideBounds(path.join(ws, 'dangling', 'x'), bounds), false);
  // a cycle of links does not hang
  fs.symlinkSync(path.join(ws, 'loop-b'), path.join(ws, 'loop-a'));
  fs.symlinkSync(path.join(ws, 'loop-a'), path.join(ws, 'loop-b'));
  assert.equal(typeof insideBounds(path.join(ws, 'loop-a', 'x'), bounds), 'boolean');
  // a workspace opened through a link is the folder it points to
  fs.symlinkSync(ws, path.join(base, 'ws-link'));
  assert.ok(insideBounds(path.join(ws, 'data'), { roots: [path.join(base, 'ws-link')] }));
  assert.ok(insideBounds(path.join(base, 'ws-link', 'data'), bounds));
});

test('a folder the person chose outside, and any workspace folder of several, are allowed', () => {
  const { ws, sibling, elsewhere } = layout();
  assert.ok(insideBounds(path.join(elsewhere, 'runs', 'r1'), { roots: [ws], allowed: [elsewhere] }));
  assert.equal(insideBounds(sibling, { roots: [ws], allowed: [elsewhere] }), false);
  assert.ok(insideBounds(path.join(sibling, 'data'), { roots: [ws, sibling] }));
});

test('a run config that reaches outside is refused with each key named', () => {
  const { ws, elsewhere } = layout();
  const bounds = { roots: [ws] };
  const config = configWith(path.join(ws, '..', 'elsewhere', 'ds'), path.join(elsewhere, 'gpt2-folder'));
  const problems = boundsProblems(config, path.join(elsewhere, 'run'), bounds);
  assert.deepEqual(
    problems.map((p) => p.key),
    ['run dir', 'data.dataset', 'train.init_from'],
  );
  assert.match(problems[1].message, /is outside the workspace .*proj/);
  assert.throws(
    () => checkBounds(config, path.join(ws, 'runs', 'r'), bounds),
    (err: unknown) => err instanceof ConfigError && err.problems.length === 2,
  );
  // init_from keywords and hub names are no paths; with no workspace folder nothing is inside
  for (const init of ['gpt2', 'Qwen/Qwen3-0.6B'])
    assert.deepEqual(
      boundsProblems(configWith(path.join(ws, 'data', 'ds'), init), path.join(ws, 'runs', 'r'), bounds),
      [],
    );
  assert.equal(
    boundsProblems(configWith(path.join(ws, 'data', 'ds')), path.join(ws, 'runs', 'r'), { roots: [] }).length,
    2,
  );
  checkBounds(config, path.join(elsewhere, 'run'), { roots: [ws], allowed: [elsewhere] });
});
