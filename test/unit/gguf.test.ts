// `wordplay export --format gguf` in llama.cpp itself: node-llama-cpp's prebuilt llama.cpp loads the
// file the trainer writes for a short real run and, greedy, continues a prompt with the very text
// our own ONNX engine generates from the same checkpoint: the demo preset's architecture (qwen3)
// and GPT-2's with a char vocabulary, and arcee (rope + rmsnorm + relu2) with a trained BPE, whose
// tokenization llama.cpp must reproduce too. Skipped, saying why, without the trainer's Python or
// when node-llama-cpp's binary cannot load on the machine; under CI either fails instead.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Llama } from 'node-llama-cpp';
import { trainerInvocation } from '../../src/core/common/pythonEnv';
import { complete } from '../../src/core/complete/generate';
import { loadGenerationModel } from '../../src/core/complete/modelSession';
import { prepare } from '../../src/core/prepare/prepare';
import { missingPrerequisite, tempDir } from './helpers';
import { skipWithoutTorch as skip, tinyDataset } from './trainerFixtures';

const BLOCK = 64;
const NEW_TOKENS = 40; // prompt + new tokens stay within the block: llama.cpp never slides a window

let loaded: Promise<Llama | string> | undefined;

/** llama.cpp on the CPU, or why it cannot load here. */
function llamaCpp(): Promise<Llama | string> {
  // imported when needed: node-llama-cpp is an ES module with top-level await, which the
  // CommonJS these tests compile to cannot require
  loaded ??= import('node-llama-cpp')
    .then(({ getLlama, LlamaLogLevel }) => getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error }))
    .catch((e: Error) => `node-llama-cpp's prebuilt llama.cpp cannot load on this machine: ${e.message}`);
  return loaded;
}

function python(args: string[]): void {
  const inv = trainerInvocation(args);
  const r = spawnSync(inv.command, inv.args, {
    env: { ...inv.env, OMP_NUM_THREADS: '1' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `python -m wordplay_trainer ${args.join(' ')} failed:\n${r.stderr}`);
}

/** 100 iterations on `dataset` (model.onnx is written when training ends), then model.gguf. */
function trainAndExport(dir: string, dataset: string, model: object): { run: string; gguf: string } {
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      data: { dataset },
      model: {
        n_layer: 2,
        n_head: 2,
        n_embd: 64,
        block_size: BLOCK,
        dropout: 0,
        bias: false,
        zero_init: true,
        ...model,
      },
      train: {
        batch_size: 8,
        max_iters: 100,
        eval_interval: 100,
        eval_iters: 2,
        log_interval: 50,
        sample_tokens: 0,
        device: 'cpu',
        compile: 'false',
      },
      optimizer: { name: 'muon', learning_rate: 0.004, min_lr: 0.0004, warmup_iters: 10 },
    }),
  );
  const run = path.join(dir, 'run');
  python(['train', '--config', config, '--run-dir', run]);
  const gguf = path.join(dir, 'model.gguf');
  python(['export', '--run', run, '--format', 'gguf', '--out', gguf]);
  return { run, gguf };
}

/** The prompt's token ids and the text of `NEW_TOKENS` greedy tokens, from llama.cpp. */
async function llamaGreedy(llama: Llama, gguf: string, prompt: string): Promise<{ ids: number[]; text: string }> {
  const model = await llama.loadModel({ modelPath: gguf });
  try {
    // one thread: with its default, llama.cpp's spinning workers took 10 s for these 40 tokens
    // of a tiny model on a busy 2-core machine, 30 ms with one
    const context = await model.createContext({ contextSize: BLOCK, threads: 1 });
    const ids = model.tokenize(prompt);
    const out = [];
    for await (const token of context.getSequence().evaluate(ids, { temperature: 0 })) {
      out.push(token);
      if (out.length === NEW_TOKENS) break;
    }
    return { ids: [...ids], text: model.detokenize(out) };
  } finally {
    await model.dispose();
  }
}

async function sameGreedyText(t: TestContext, dataset: string, model: object, prompts: string[]): Promise<void> {
  const llama = await llamaCpp();
  if (typeof llama === 'string') {
    return t.skip(
      missingPrerequisite(
        llama,
        `npm ci installs node-llama-cpp with its prebuilt binary for ${process.platform}-${process.arch} (@node-llama-cpp/${process.platform}-${process.arch})`,
      ),
    );
  }
  const { run, gguf } = trainAndExport(tempDir('wordplay-gguf-'), dataset, model);
  const ours = await loadGenerationModel(run);
  for (const prompt of prompts) {
    const theirs = await llamaGreedy(llama, gguf, prompt);
    assert.deepEqual(theirs.ids, ours.tokenizer.encode(prompt), `the prompt ${JSON.stringify(prompt)} as tokens`);
    const { text } = await complete(ours, { prompt, maxTokens: NEW_TOKENS, temperature: 0 });
    assert.equal(theirs.text, text, `greedy after ${JSON.stringify(prompt)}`);
  }
}

const charPrompts = ['First', 'All:\n', 'Speak, sp'];

test(
  'the demo architecture (qwen3), char vocabulary: llama.cpp generates our greedy text',
  { skip, timeout: 300_000 },
  async (t) => {
    const preset = { position: 'rope', norm: 'rmsnorm', qk_norm: true, mlp: 'swiglu', tie_embeddings: true };
    await sameGreedyText(t, await tinyDataset(path.join(tempDir('wordplay-gguf-data-'), 'data')), preset, charPrompts);
  },
);

test(
  "GPT-2's architecture, char vocabulary: llama.cpp generates our greedy text",
  { skip, timeout: 300_000 },
  async (t) => {
    const gpt2 = { position: 'learned', norm: 'layernorm', qk_norm: false, mlp: 'gelu', tie_embeddings: true };
    await sameGreedyText(t, await tinyDataset(path.join(tempDir('wordplay-gguf-data-'), 'data')), gpt2, charPrompts);
  },
);

test(
  'arcee (rope + rmsnorm + relu2, untied), trained BPE: llama.cpp tokenizes and generates as we do',
  { skip, timeout: 300_000 },
  async (t) => {
    const dir = tempDir('wordplay-gguf-bpe-');
    const corpus = path.join(dir, 'corpus.txt');
    fs.writeFileSync(
      corpus,
      "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\nYou're 42 times 1234 o'er it!\n\n".repeat(
        60,
      ),
    );
    const { dir: dataset } = await prepare({
      input: corpus,
      tokenizer: 'bpe',
      vocabSize: 300,
      out: path.join(dir, 'data'),
    });
    const arcee = { position: 'rope', norm: 'rmsnorm', qk_norm: false, mlp: 'relu2', tie_embeddings: false };
    await sameGreedyText(t, dataset, arcee, ['First', "You're 42 times 12345 o'er  it!\n\n\tAll:", 'Speak, sp']);
  },
);
