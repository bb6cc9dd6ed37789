// schemas/names.json's rules, run on test/cases/names.json (trainer/tests/test_names.py runs the
// same cases): safe names, run folder names at a given local time, next free names.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import cases from '../cases/names.json';
import { nextFreeName, nextFreePath, runFolderName, safeName } from '../../src/core/common/names';

for (const c of cases.safe) {
  test(`safe name of ${JSON.stringify(c.name)}: ${c.safe}`, () => {
    assert.equal(safeName(c.name), c.safe);
  });
}

for (const c of cases.run_folder) {
  test(`run folder of ${c.config} at ${c.time.join(',')}: ${c.folder}`, () => {
    const [year, month, day, hour, minute, second] = c.time;
    assert.equal(runFolderName(c.config, new Date(year, month - 1, day, hour, minute, second)), c.folder);
  });
}

for (const c of cases.next_free) {
  test(`next free name for ${c.stem}${c.ext} beside [${c.existing.join(', ')}]: ${c.name}`, () => {
    assert.equal(
      nextFreeName(c.stem, c.ext, (name) => c.existing.includes(name)),
      c.name,
    );
  });
}

test('next free path: a file or a folder on disk takes a name', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-names-'));
  try {
    fs.mkdirSync(path.join(dir, 'hf'));
    fs.writeFileSync(path.join(dir, 'hf-2'), '');
    assert.equal(nextFreePath(dir, 'hf'), path.join(dir, 'hf-3'));
    assert.equal(nextFreePath(dir, 'run', '.gguf'), path.join(dir, 'run.gguf'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
