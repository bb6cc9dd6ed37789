// `wordplay bench generation [--json]`: the KV-cached ONNX engine against the same model
// generating without a cache (the whole context again every step, as nanoGPT's generate()),
// side by side in one process, on a preset's model (default: shakespeare-char, 6 layers, 6 heads,
// 384 wide, block 256, in its architecture), char vocabulary of 65. The model is freshly
// initialised and exported by the trainer's Python (a trained one costs the same), 500 new
// tokens from a 100-token prompt.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/core/common/errors';
import { complete } from '../src/core/complete/generate';
import { clearModelCache, loadGenerationModel, type GenerationModel } from '../src/core/complete/modelSession';
import { INT8_FILE, MODEL_FILE } from '../src/core/complete/modelFiles';
import { loadConfig, type RunConfig } from '../src/core/train/config';
import { trainerInvocation } from '../src/core/common/pythonEnv';
import { numberOption, parseOptions } from '../src/core/common/options';
import { fixed, type Benchmark } from './benchmark';

export const benchGenerationUsage = `Usage: wordplay bench generation [--json] [--config shakespeare-char] [--against CONFIG] [--runs 3] [--tokens 500] [--threads N] [--no-int8]

Generation speed with the KV cache (model.onnx, fp32, and its int8 copy) against recomputing
the context every step, medians over --runs, for the model of --config (a preset or a config
file: its model group). --against: also the model of another config, its cached runs
interleaved with --config's in the same process (against_tokens_per_s, ratio_vs_against). The last line is JSON: tokens_per_s,
first_token_ms, baseline_tokens_per_s, speedup_vs_no_cache, and the int8 figures.`;

// tiny Shakespeare's 65 characters, in the order prepare sorts them
const VOCAB = [..."\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"];
const PROMPT = `First Citizen:
Before we proceed any further, hear me speak.

All:
Speak, speak.

First Citizen:
You are all resolved rather to die than to famish?`;

const EXPORT_SCRIPT = `
import json, sys, torch
from pathlib import Path
from wordplay_trainer.export.onnx_model import export_model
from wordplay_trainer.train.model import GPT, GPTConfig
out, vocab, quantize, shape = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3] or None, json.loads(sys.argv[4])
torch.manual_seed(1337)
model = GPT(GPTConfig(vocab_size=len(vocab), **shape))
export_model(model, out, {"type": "char", "vocab": vocab}, {"iter": 0}, quantize=quantize)
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

export async function exportBenchModel(dir: string, int8: boolean, shape: RunConfig['model']): Promise<void> {
  const inv = trainerInvocation([]);
  const args = ['-c', EXPORT_SCRIPT, dir, JSON.stringify(VOCAB), int8 ? 'int8' : '', JSON.stringify(shape)];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(inv.command, args, { env: inv.env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) =>
      reject(new UserError(`could not run ${inv.command}: ${err.message}. Run "wordplay setup".`)),
    );
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new UserError(`exporting the benchmark model failed (exit ${code}).`);
}

interface Measure {
  tokensPerS: number;
  firstTokenMs: number;
}

async function measure(
  model: GenerationModel,
  prompt: string,
  tokens: number,
  cache: boolean,
  seed: number,
): Promise<Measure> {
  const started = performance.now();
  const s = await complete(model, { prompt, maxTokens: tokens, temperature: 0.8, seed, cache });
  const seconds = (performance.now() - started) / 1000;
  if (s.tokens !== tokens) throw new Error(`generated ${s.tokens} tokens, not ${tokens}`);
  return { tokensPerS: s.tokens / seconds, firstTokenMs: s.firstTokenMs };
}

export async function benchGeneration(args: string[]): Promise<number> {
  const opts = parseOptions(
    args,
    {
      json: { type: 'boolean' },
      config: { type: 'string' },
      against: { type: 'string' },
      runs: { type: 'string' },
      tokens: { type: 'string' },
      threads: { type: 'string' },
      'no-int8': { type: 'boolean' },
    },
    benchGenerationUsage,
  );
  const runs = numberOption(opts.runs, 'runs', 3);
  const tokens = numberOption(opts.tokens, 'tokens', 500);
  const threads = opts.threads === undefined ? undefined : numberOption(opts.threads, 'threads', 1);
  const int8 = !opts['no-int8'];
  if (!Number.isInteger(runs) || runs < 1) throw new UserError('--runs must be at least 1.');
  if (!Number.isInteger(tokens) || tokens < 1) throw new UserError('--tokens must be at least 1.');
  const say = (line: string) => (opts.json ? console.error(line) : console.log(line));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-generation-'));
  try {
    const config = opts.config ?? 'shakespeare-char';
    const shape = loadConfig(config).config.model;
    const describe = (name: string, m: RunConfig['model']) =>
      `${name}: n_layer=${m.n_layer} n_head=${m.n_head} n_embd=${m.n_embd} block_size=${m.block_size} position=${m.position} norm=${m.norm} qk_norm=${m.qk_norm} mlp=${m.mlp} tie_embeddings=${m.tie_embeddings}`;
    const described = describe(config, shape);
    say(`exporting a freshly initialised char model (${described}) ...`);
    await exportBenchModel(work, int8, shape);
    const againstDir = path.join(work, 'against');
    const againstShape = opts.against === undefined ? undefined : loadConfig(opts.against).config.model;
    if (opts.against !== undefined && againstShape) {
      say(`exporting the model to compare with (${describe(opts.against, againstShape)}) ...`);
      await exportBenchModel(againstDir, false, againstShape);
    }
    let t = performance.now();
    const model = await loadGenerationModel(path.join(work, MODEL_FILE), { threads });
    const loadMs = performance.now() - t;
    t = performance.now();
    const quant = int8 ? await loadGenerationModel(path.join(work, INT8_FILE), { threads }) : undefined;
    const int8LoadMs = performance.now() - t;
    const against = againstShape
      ? await loadGenerationModel(path.join(againstDir, MODEL_FILE), { threads })
      : undefined;
    const ids = model.tokenizer.encode(PROMPT).slice(0, 100);
    const prompt = model.tokenizer.decode(ids);
    // warm-up: first runs of a session allocate its buffers
    await measure(model, prompt, 32, true, 0);
    await measure(model, prompt, 4, false, 0);
    if (quant) await measure(quant, prompt, 32, true, 0);
    if (against) await measure(against, prompt, 32, true, 0);
    const cached: Measure[] = [];
    const baseline: Measure[] = [];
    const quantized: Measure[] = [];
    const compared: Measure[] = [];
    for (let r = 0; r < runs; r++) {
      cached.push(await measure(model, prompt, tokens, true, r + 1));
      if (against) compared.push(await measure(against, prompt, tokens, true, r + 1));
      if (quant) quantized.push(await measure(quant, prompt, tokens, true, r + 1));
      baseline.push(await measure(model, prompt, tokens, false, r + 1));
      const last = (xs: Measure[]) => (xs.length ? `${xs[xs.length - 1].tokensPerS.toFixed(0)} tok/s` : '-');
      say(
        `run ${r + 1}/${runs}: cached ${last(cached)} (first token ${cached[r].firstTokenMs.toFixed(1)} ms), int8 ${last(quantized)}, no cache ${last(baseline)}`,
      );
    }
    // the first token alone, more times: prefill of the 100-token prompt + one sample
    const firstToken = async (m: GenerationModel) => {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) times.push((await complete(m, { prompt, maxTokens: 1, seed: i })).firstTokenMs);
      return median(times);
    };
    const firstMs = await firstToken(model);
    const int8FirstMs = quant ? await firstToken(quant) : 0;
    const tps = median(cached.map((m) => m.tokensPerS));
    const base = median(baseline.map((m) => m.tokensPerS));
    const result: Record<string, unknown> = {
      model: `${described} vocab=65 (fp32 model.onnx)`,
      prompt_tokens: ids.length,
      new_tokens: tokens,
      runs,
      threads: model.threads,
      cpus: os.cpus().length,
      tokens_per_s: round(tps),
      first_token_ms: round(firstMs, 2),
      baseline_tokens_per_s: round(base),
      baseline_first_token_ms: round(median(baseline.map((m) => m.firstTokenMs)), 2),
      speedup_vs_no_cache: round(tps / base, 2),
      session_load_ms: round(loadMs),
    };
    if (quant) {
      const q = median(quantized.map((m) => m.tokensPerS));
      Object.assign(result, {
        int8_tokens_per_s: round(q),
        int8_first_token_ms: round(int8FirstMs, 2),
        int8_speedup_vs_no_cache: round(q / base, 2),
        int8_session_load_ms: round(int8LoadMs),
      });
    }
    if (against && opts.against) {
      const a = median(compared.map((m) => m.tokensPerS));
      Object.assign(result, {
        against: describe(opts.against, againstShape!),
        against_tokens_per_s: round(a),
        ratio_vs_against: round(tps / a, 3),
      });
    }
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    clearModelCache();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---- in BENCHMARKS.md (bench/benchmark.ts)

export const benchmarks: Benchmark[] = [
  {
    name: 'generation',
    args: ['bench', 'generation', '--json', '--runs', '5', '--against', 'nanogpt-shakespeare-char'],
    rows: [
      {
        figure:
          'generation tokens/s, KV cache, fp32: today’s architecture (`shakespeare-char`) over GPT-2’s (`nanogpt-shakespeare-char`), same shape, runs interleaved',
        goal: '≥ 0.95× (#16: no slower, within the noise of a shared machine)',
        value: (r) =>
          `${fixed(r.ratio_vs_against, 2)}× (${fixed(r.tokens_per_s)} against ${fixed(r.against_tokens_per_s)} tokens/s, medians of ${r.runs})`,
        met: (r) => r.ratio_vs_against >= 0.95,
      },
      {
        figure: 'generation tokens/s, KV cache, fp32',
        goal: '≥ 300 tokens/s on a 2-core CPU (#4)',
        value: (r) =>
          `${fixed(r.tokens_per_s)} tokens/s (median of ${r.runs} runs of ${r.new_tokens} tokens after a ${r.prompt_tokens}-token prompt; ${r.threads} onnxruntime threads)`,
        met: (r) => r.tokens_per_s >= 300,
      },
      {
        figure: 'generation first token, fp32, session loaded',
        goal: '≤ 30 ms (#4)',
        value: (r) => `${fixed(r.first_token_ms)} ms (median of 10; session load ${fixed(r.session_load_ms)} ms)`,
        met: (r) => r.first_token_ms <= 30,
      },
      {
        figure: 'generation speed-up over no cache, fp32',
        goal: '≥ 10× at 500 tokens (#4)',
        value: (r) => `${fixed(r.speedup_vs_no_cache)}× (no cache: ${fixed(r.baseline_tokens_per_s)} tokens/s)`,
        met: (r) => r.speedup_vs_no_cache >= 10,
      },
      {
        figure: 'generation tokens/s, KV cache, int8 (`--quantize int8`)',
        goal: '≥ 300 tokens/s (#4, which names int8 weights as a way there)',
        value: (r) => `${fixed(r.int8_tokens_per_s)} tokens/s (median of ${r.runs} runs)`,
        met: (r) => r.int8_tokens_per_s >= 300,
      },
      {
        figure: 'generation first token, int8, session loaded',
        goal: '≤ 30 ms (#4)',
        value: (r) => `${fixed(r.int8_first_token_ms)} ms (session load ${fixed(r.int8_session_load_ms)} ms)`,
        met: (r) => r.int8_first_token_ms <= 30,
      },
      {
        figure: 'generation speed-up over no cache, int8',
        goal: '≥ 10× at 500 tokens (#4)',
        value: (r) => `${fixed(r.int8_speedup_vs_no_cache)}× (over the fp32 no-cache baseline)`,
        met: (r) => r.int8_speedup_vs_no_cache >= 10,
      },
    ],
  },
];
