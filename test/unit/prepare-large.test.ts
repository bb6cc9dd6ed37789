// A corpus larger than we would hold in memory: 1 GB of text prepared in a child process,
// whose peak resident memory must stay under 500 MB.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { SHAKESPEARE, tempDir } from './helpers';

test('1 GB of text is prepared with bounded memory', () => {
  const dir = tempDir();
  const input = path.join(dir, 'corpus.txt');
  const unit = fs.readFileSync(SHAKESPEARE);
  const fd = fs.openSync(input, 'w');
  let bytes = 0;
  while (bytes < 1e9) bytes += fs.writeSync(fd, unit);
  fs.closeSync(fd);
  const out = path.join(dir, 'ds');
  const script = `
    const { prepare } = require(${JSON.stringify(path.join(packageRoot, 'src', 'core', 'prepare', 'prepare.ts'))});
    prepare({ input: ${JSON.stringify(input)}, tokenizer: 'char', out: ${JSON.stringify(out)} }).then((r) => {
      console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024, meta: r.meta }));
    });`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', cwd: packageRoot });
  assert.equal(child.status, 0, child.stderr);
  const { maxRssMb, meta } = JSON.parse(child.stdout.trim().split('\n').pop()!);
  assert.equal(meta.characters, bytes);
  assert.equal(meta.train_tokens + meta.val_tokens, bytes);
  assert.equal(fs.statSync(path.join(out, 'train.bin')).size, 2 * meta.train_tokens);
  assert.ok(maxRssMb < 500, `peak RSS ${maxRssMb.toFixed(0)} MB`);
  console.log(`# 1 GB prepared with a peak RSS of ${maxRssMb.toFixed(0)} MB`);
});
