// Compare Completions' model list (src/core/complete/compareModels.ts): a run's own model and
// the exports it kept (exports/iter-*/), labelled from their model.json; folders still being
// written or removed (.tmp-*, .drop-*) are left out. And the panel's messages (protocol.ts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { comparableModels, modelLabel } from '../../src/core/complete/compareModels';
import type { RunSummary } from '../../src/core/run/runs';
import { compareMessageProblem, MAX_COMPARE_COLUMNS } from '../../src/core/webview/protocol';

function model(dir: string, meta: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.onnx'), 'onnx');
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(meta));
}

test('a run with kept exports offers its model and each kept one, by iteration; unfinished folders are skipped', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-compare-'));
  try {
    const a = path.join(root, 'a');
    model(a, { iter: 300, val_loss: 1.5 });
    model(path.join(a, 'exports', 'iter-000300'), { iter: 300, val_loss: 1.5 });
    model(path.join(a, 'exports', 'iter-000100'), { iter: 100, val_loss: 2.25 });
    model(path.join(a, 'exports', '.tmp-iter-000400-12'), { iter: 400, val_loss: 1.4 });
    fs.mkdirSync(path.join(a, 'exports', 'iter-000050')); // being written by hand, no model.onnx
    const b = path.join(root, 'b');
    fs.mkdirSync(b); // no model yet
    const c = path.join(root, 'c');
    model(c, { iter: null, val_loss: null });
    const runs = [
      { dir: a, name: 'a', hasModel: true },
      { dir: b, name: 'b', hasModel: false },
      { dir: c, name: 'c', hasModel: true },
    ] as RunSummary[];
    const models = comparableModels(runs);
    assert.deepEqual(
      models.map((m) => [path.relative(root, m.dir), m.kept, m.iter, m.valLoss]),
      [
        ['a', false, 300, 1.5],
        [path.join('a', 'exports', 'iter-000100'), true, 100, 2.25],
        [path.join('a', 'exports', 'iter-000300'), true, 300, 1.5],
        ['c', false, null, null],
      ],
    );
    assert.equal(modelLabel(models[1]), 'a · iteration 100 · val loss 2.250');
    assert.equal(modelLabel(models[3]), 'c · iteration ? · no val loss');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the panel may post ready and insert with a column number in range, nothing else', () => {
  assert.equal(compareMessageProblem({ type: 'ready' }), undefined);
  assert.equal(compareMessageProblem({ type: 'compare/insert', column: 1 }), undefined);
  assert.ok(compareMessageProblem({ type: 'compare/insert', column: MAX_COMPARE_COLUMNS }));
  assert.ok(compareMessageProblem({ type: 'compare/insert', column: -1 }));
  assert.ok(compareMessageProblem({ type: 'compare/insert', column: 0.5 }));
  assert.ok(compareMessageProblem({ type: 'compare/insert', column: '0' }));
  assert.ok(compareMessageProblem({ type: 'compare/insert', column: 0, text: 'injected' }));
  assert.ok(compareMessageProblem({ type: 'metrics/exportCsv' }));
  assert.ok(compareMessageProblem(null));
});
