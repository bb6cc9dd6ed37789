// `wordplay export` beyond ONNX, through the CLI's own code: a run whose tokenizer is GPT-2's
// exports as a GGUF file that carries GPT-2's whole vocabulary and merges, which the CLI writes
// for the trainer (it has none; gpt2Files.test.ts holds those files to js-tiktoken's encoding).
// The trainer's own tests (trainer/tests/test_hf_export.py, test_gguf_export.py) hold each
// format's logits and tokenizers to ours; here the Node side's part is checked.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { exportModel } from '../../src/cli/export';
import { UserError } from '../../src/core/common/errors';
import { trainerInvocation } from '../../src/core/common/pythonEnv';
import { prepare } from '../../src/core/prepare/prepare';
import { gpt2 } from '../../src/core/prepare/tokenizer';
import { defaultExportTarget, exportArguments } from '../../src/core/train/exportTarget';
import { startTrainer } from '../../src/core/train/trainerProcess';
import { SHAKESPEARE, tempDir } from './helpers';
import { skipWithoutTorch as skip, tinyConfig } from './trainerFixtures';

// made here, not in before(): a folder made there would go when that hook ends
const dir = tempDir();
const runDir = path.join(dir, 'run');

before(async () => {
  if (skip) return;
  const corpus = path.join(dir, 'corpus.txt');
  fs.writeFileSync(corpus, fs.readFileSync(SHAKESPEARE, 'utf8').slice(0, 20_000));
  await prepare({ input: corpus, tokenizer: 'gpt2', out: path.join(dir, 'data') });
  const config = tinyConfig(dir, ['train.max_iters=2']);
  const trainer = startTrainer({ config, runDir, env: { ...process.env, WORDPLAY_SKIP_EXPORT: '1' } });
  assert.equal((await trainer.done).exitCode, 0);
});

/** Runs Python with the trainer's environment; its stdout parsed as JSON. */
function python(script: string, ...args: string[]): unknown {
  const inv = trainerInvocation([]);
  return JSON.parse(
    execFileSync(inv.command, ['-c', script, ...args], { env: inv.env, maxBuffer: 1 << 26 }).toString(),
  );
}

test(
  '--format gguf of a GPT-2-tokenizer run carries the whole vocabulary and its merges',
  { skip, timeout: 180_000 },
  async () => {
    // no --out: the run folder, under the run's name
    assert.equal(await exportModel.run(['--run', runDir, '--format', 'gguf']), 0);
    const file = path.join(runDir, `${path.basename(runDir)}.gguf`);
    const read = python(
      [
        'import json, sys',
        'from gguf import GGUFReader',
        'r = GGUFReader(sys.argv[1])',
        'f = lambda k: r.fields[k]',
        'print(json.dumps({"tokens": len(f("tokenizer.ggml.tokens").data), "merges": len(f("tokenizer.ggml.merges").data),',
        '  "eos": int(f("tokenizer.ggml.eos_token_id").parts[-1][0])}))',
      ].join('\n'),
      file,
    ) as { tokens: number; merges: number; eos: number };
    assert.deepEqual(read, { tokens: gpt2().vocabSize, merges: 50_000, eos: gpt2().endOfText });
  },
);

test('bad export options are refused before the trainer starts, naming the option', async () => {
  const run = (...args: string[]) => exportModel.run(['--run', tempDir(), ...args]);
  await assert.rejects(
    run('--format', 'safetensors'),
    (e: Error) => e instanceof UserError && /--format must be one of onnx, hf, gguf, peft/.test(e.message),
  );
  await assert.rejects(
    run('--out', 'x'),
    (e: Error) => e instanceof UserError && /--out is for --format hf, gguf or peft/.test(e.message),
  );
  await assert.rejects(
    run('--from', 'gpt2', '--format', 'hf'),
    (e: Error) => e instanceof UserError && /--from writes a run folder/.test(e.message),
  );
});

test("--format peft: the adapters alone, into the run folder's peft/, with no GPT-2 vocabulary", () => {
  const run = tempDir();
  const exported = exportArguments(run, 'peft');
  assert.deepEqual(exported.args, ['export', '--run', run, '--format', 'peft', '--out', path.join(run, 'peft')]);
  fs.mkdirSync(path.join(run, 'peft'));
  assert.equal(defaultExportTarget(run, 'peft'), path.join(run, 'peft-2'));
});
