// GPT-2's vocab.json + merges.txt, rebuilt from js-tiktoken's ranks for the Hugging Face and GGUF
// exports: Hugging Face's own GPT-2 tokenizer (transformers, Python) reading them must encode any
// text exactly as wordplay's GPT-2 tokenizer does. Needs the trainer's Python environment.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { trainerInvocation } from '../../src/core/common/pythonEnv';
import { GPT2_MERGES_FILE, GPT2_VOCAB_FILE, writeGpt2Files } from '../../src/core/prepare/gpt2Files';
import { gpt2 } from '../../src/core/prepare/tokenizer';
import { mixedText, tempDir } from './helpers';

test("transformers' GPT2TokenizerFast on the written files encodes like js-tiktoken", () => {
  const dir = tempDir();
  writeGpt2Files(dir);
  const merges = fs.readFileSync(path.join(dir, GPT2_MERGES_FILE), 'utf8').trimEnd().split('\n');
  // OpenAI's merges.txt: a version line and 50,000 merges, the first two of them these
  assert.equal(merges.length, 50_001);
  assert.deepEqual(merges.slice(1, 3), ['Ġ t', 'Ġ a']);
  const text = mixedText();
  const textFile = path.join(dir, 'text.txt');
  fs.writeFileSync(textFile, text);
  const script = [
    'import json, sys',
    'from transformers import GPT2TokenizerFast',
    't = GPT2TokenizerFast(vocab_file=sys.argv[1], merges_file=sys.argv[2])',
    'text = open(sys.argv[3], encoding="utf-8", newline="").read()',
    'print(json.dumps({"ids": t.encode(text), "size": len(t), "eos": t.convert_tokens_to_ids("<|endoftext|>")}))',
  ].join('\n');
  const inv = trainerInvocation([]);
  const out = execFileSync(
    inv.command,
    ['-c', script, path.join(dir, GPT2_VOCAB_FILE), path.join(dir, GPT2_MERGES_FILE), textFile],
    {
      env: inv.env,
      maxBuffer: 1 << 28,
    },
  );
  const python = JSON.parse(out.toString()) as { ids: number[]; size: number; eos: number };
  assert.equal(python.size, gpt2().vocabSize);
  assert.equal(python.eos, gpt2().endOfText);
  const ours = gpt2().encode(text);
  assert.ok(ours.length > 5_000, `${ours.length} tokens of mixed text`);
  assert.deepEqual(python.ids, ours);
});
