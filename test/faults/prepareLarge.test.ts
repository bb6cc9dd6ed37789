// A corpus larger than we would hold in memory: WORDPLAY_LARGE_MB of text (default 1000, 1 GB;
// `npm test` runs 300) prepared in a child process, whose peak resident memory must stay under
// 500 MB, and under the corpus's own size, which a prepare that held the text would pass.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { SHAKESPEARE, tempDir } from '../unit/helpers';

const MB = Number(process.env.WORDPLAY_LARGE_MB ?? 1000);
const limitMb = Math.min(500, MB);

test(`${MB} MB of text is prepared in under ${limitMb} MB of memory`, (t) => {
  const dir = tempDir();
  const input = path.join(dir, 'corpus.txt');
  const unit = fs.readFileSync(SHAKESPEARE);
  const fd = fs.openSync(input, 'w');
  let bytes = 0;
  while (bytes < MB * 1e6) bytes += fs.writeSync(fd, unit);
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
  assert.ok(maxRssMb < limitMb, `peak RSS ${maxRssMb.toFixed(0)} MB`);
  t.diagnostic(`${MB} MB prepared with a peak RSS of ${maxRssMb.toFixed(0)} MB`);
});
