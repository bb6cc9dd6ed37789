// Issue 7's editor logic without an editor: prompt selection, insertion position, one undo
// group and cancellation, driven by the real engine on a small model exported by Python.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { completionTarget, streamInsert, undoStops } from '../../src/core/complete/completionTarget';
import { generate } from '../../src/core/complete/generate';
import { packageRoot } from '../../src/core/common/paths';
import { trainerInvocation } from '../../src/core/common/pythonEnv';
import { listRuns, summarizeRun } from '../../src/core/run/runs';
import { tempDir } from './helpers';

const modelDir = tempDir('wordplay-completion-');

before(() => {
  const inv = trainerInvocation([]);
  const result = spawnSync(
    inv.command,
    [path.join(packageRoot, 'trainer', 'tests', 'make_reference.py'), '--out', modelDir, '--steps', '1'],
    {
      env: inv.env,
      encoding: 'utf8',
    },
  );
  assert.equal(result.status, 0, result.stderr);
});

test('with a selection, the selection is the prompt and the text goes right after it', () => {
  const text = 'Enter ROMEO: and more';
  assert.deepEqual(completionTarget(text, { start: 6, end: 12 }, 1000), { prompt: 'ROMEO:', insertAt: 12 });
});

test('without one, the text before the cursor (bounded) is the prompt and the text goes at the cursor', () => {
  const text = 'abcdefghij';
  assert.deepEqual(completionTarget(text, { start: 7, end: 7 }, 1000), { prompt: 'abcdefg', insertAt: 7 });
  assert.deepEqual(completionTarget(text, { start: 7, end: 7 }, 3), { prompt: 'efg', insertAt: 7 });
  // never half a surrogate pair
  assert.deepEqual(completionTarget('a😀bc', { start: 5, end: 5 }, 3), { prompt: 'bc', insertAt: 5 });
  assert.deepEqual(completionTarget('a😀bc', { start: 5, end: 5 }, 4), { prompt: '😀bc', insertAt: 5 });
});

/** A document as a string, with the undo stops of every edit recorded. */
function fakeDocument(text: string) {
  const doc = {
    text,
    edits: [] as { offset: number; text: string; undoStopBefore: boolean; undoStopAfter: boolean }[],
  };
  const insert = async (offset: number, piece: string, stops: { undoStopBefore: boolean; undoStopAfter: boolean }) => {
    doc.text = doc.text.slice(0, offset) + piece + doc.text.slice(offset);
    doc.edits.push({ offset, text: piece, ...stops });
    return true;
  };
  return { doc, insert };
}

test('streamed pieces land in order at the insertion point, as one undo group', async () => {
  const before = 'Enter ROMEO:| and the rest';
  const { doc, insert } = fakeDocument(before);
  const target = completionTarget(before, { start: 6, end: 12 }, 1000);
  const inserted = await streamInsert(
    generate(modelDir, { prompt: target.prompt, maxTokens: 30, seed: 3 }),
    target.insertAt,
    insert,
  );
  assert.ok(inserted.length > 0);
  assert.equal(doc.text, `Enter ROMEO:${inserted}| and the rest`);
  assert.ok(doc.edits.length > 1, 'streamed in several edits');
  // one undo group: an undo stop before the first edit only, none after any of them
  assert.deepEqual(
    doc.edits.map((e) => [e.undoStopBefore, e.undoStopAfter]),
    doc.edits.map((_, i) => [i === 0, false]),
  );
  assert.deepEqual(undoStops(0), { undoStopBefore: true, undoStopAfter: false });
});

test('cancelling stops the stream within one token and releases the model', async () => {
  const { doc, insert } = fakeDocument('');
  const abort = new AbortController();
  let edits = 0;
  const inserted = await streamInsert(
    generate(modelDir, { prompt: 'to be', maxTokens: 500, seed: 1, signal: abort.signal }),
    0,
    async (o, t, s) => {
      if (++edits === 3) abort.abort();
      return insert(o, t, s);
    },
  );
  assert.ok(doc.edits.length <= 4, `${doc.edits.length} edits after cancelling at the third`);
  assert.equal(doc.text, inserted);
  // the model's cache was given back: a new generation runs at once
  const again = generate(modelDir, { prompt: 'x', maxTokens: 2, seed: 1 });
  assert.equal((await again.next()).done, false);
  await again.return(undefined as never);
});

test('pieces that arrive while an edit is in flight go in together with the next edit', async () => {
  const { doc, insert } = fakeDocument('');
  async function* fast() {
    for (let i = 0; i < 40; i++) {
      yield String(i % 10);
      await new Promise((r) => setImmediate(r));
    }
  }
  // a slow editor: each edit takes 30 ms, while the pieces come every tick
  const slow = async (o: number, t: string, s: { undoStopBefore: boolean; undoStopAfter: boolean }) => {
    await new Promise((r) => setTimeout(r, 30));
    return insert(o, t, s);
  };
  const inserted = await streamInsert(fast(), 0, slow);
  const expected = Array.from({ length: 40 }, (_, i) => String(i % 10)).join('');
  assert.equal(inserted, expected);
  assert.equal(doc.text, expected);
  assert.ok(doc.edits.length < 10, `${doc.edits.length} edits for 40 pieces`);
});

test('an editor that refuses an edit ends the stream', async () => {
  let calls = 0;
  const inserted = await streamInsert(
    generate(modelDir, { prompt: 'to be', maxTokens: 50, seed: 2 }),
    0,
    async () => ++calls < 2,
  );
  assert.equal(calls, 2);
  assert.ok(inserted.length > 0);
});

function writeRun(root: string, name: string, events: (object | string)[], withModel: boolean): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  // a string is written as it is: a torn line
  fs.writeFileSync(
    path.join(dir, 'events.jsonl'),
    events.map((e) => (typeof e === 'string' ? e : `${JSON.stringify(e)}\n`)).join(''),
  );
  if (withModel) fs.writeFileSync(path.join(dir, 'model.onnx'), '');
  return dir;
}

test('runs are summarised from their events', (t) => {
  const root = tempDir();
  const start = {
    type: 'start',
    time: 1,
    iter: 0,
    max_iters: 100,
    pid: 999_999_999,
    device: 'cpu',
    dtype: 'float32',
    n_params: 1,
    tokens_per_iter: 1,
  };
  const evals = [
    { type: 'eval', time: 2, iter: 50, train_loss: 2.5, val_loss: 2.4 },
    { type: 'eval', time: 3, iter: 100, train_loss: 2.1, val_loss: 2.2 },
  ];
  writeRun(root, 'a-finished', [start, ...evals, { type: 'done', time: 4, reason: 'finished', iter: 100 }], true);
  writeRun(root, 'b-crashed', [start, evals[0], '{"type":"train","ti'], true);
  writeRun(
    root,
    'c-failed',
    [start, { type: 'error', time: 2, message: 'NaN loss' }, { type: 'done', time: 3, reason: 'error' }],
    false,
  );
  // a live process whose command line names the trainer (a pid that does not is never taken for it)
  const trainer = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', 'wordplay_trainer'], {
    stdio: 'ignore',
  });
  t.after(() => trainer.kill('SIGKILL'));
  const running = writeRun(root, 'd-running', [{ ...start, pid: trainer.pid }], false);
  const finished = summarizeRun(path.join(root, 'a-finished'))!;
  assert.equal(finished.state, 'finished');
  assert.equal(finished.bestValLoss, 2.2);
  assert.equal(finished.iter, 100);
  assert.equal(summarizeRun(path.join(root, 'b-crashed'))!.state, 'failed', 'no done event and no process: it died');
  assert.equal(summarizeRun(path.join(root, 'c-failed'))!.error, 'NaN loss');
  assert.equal(summarizeRun(running)!.state, 'running');
  assert.equal(listRuns(root).length, 4);
});
