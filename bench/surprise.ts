// `wordplay bench surprise [--json]`: Model Surprise's scoring (src/core/complete/surprise.ts)
// of 2,000 tokens of tiny Shakespeare with a preset's model (default: shakespeare-char-cpu, the
// demo model: 4 layers, 128 wide, block 64, char vocabulary of 65), freshly initialised and
// exported by the trainer's Python (a trained one costs the same). The time is from the text
// to every token's loss, probability and top 5, session already loaded: median of --runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/core/common/errors';
import { clearModelCache, loadGenerationModel } from '../src/core/complete/modelSession';
import { MODEL_FILE } from '../src/core/complete/modelFiles';
import { scoreText } from '../src/core/complete/surprise';
import { shakespeareText } from '../src/core/prepare/shakespeare';
import { loadConfig } from '../src/core/train/config';
import { numberOption, parseOptions } from '../src/core/common/options';
import { exportBenchModel } from './generation';
import type { Benchmark } from './benchmark';

export const benchSurpriseUsage = `Usage: wordplay bench surprise [--json] [--config shakespeare-char-cpu] [--runs 7] [--tokens 2000] [--threads N]

Model Surprise's scoring of --tokens characters of tiny Shakespeare with the model of --config
(a preset or a config file: its model group), medians over --runs. The last line is JSON:
score_ms, tokens, windows, ms_per_1000_tokens.`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchSurprise(args: string[]): Promise<number> {
  const opts = parseOptions(
    args,
    {
      json: { type: 'boolean' },
      config: { type: 'string' },
      runs: { type: 'string' },
      tokens: { type: 'string' },
      threads: { type: 'string' },
    },
    benchSurpriseUsage,
  );
  const runs = numberOption(opts.runs, 'runs', 7);
  const tokens = numberOption(opts.tokens, 'tokens', 2000);
  const threads = opts.threads === undefined ? undefined : numberOption(opts.threads, 'threads', 1);
  if (!Number.isInteger(runs) || runs < 1) throw new UserError('--runs must be at least 1.');
  if (!Number.isInteger(tokens) || tokens < 2) throw new UserError('--tokens must be at least 2.');
  const say = (line: string) => (opts.json ? console.error(line) : console.log(line));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-surprise-'));
  try {
    const config = opts.config ?? 'shakespeare-char-cpu';
    const shape = loadConfig(config).config.model;
    const described = `${config}: n_layer=${shape.n_layer} n_head=${shape.n_head} n_embd=${shape.n_embd} block_size=${shape.block_size}`;
    say(`exporting a freshly initialised char model (${described}) ...`);
    await exportBenchModel(work, false, shape);
    const model = await loadGenerationModel(path.join(work, MODEL_FILE), { threads });
    // a char model: one token per character
    const text = shakespeareText().toString('utf8').slice(0, tokens);
    // warm-up: the first runs of a session allocate its buffers
    for (let i = 0; i < 2; i++) await scoreText(model, text);
    const times: number[] = [];
    let windows = 0;
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      const s = await scoreText(model, text);
      times.push(performance.now() - started);
      if (s.tokens.length !== tokens - 1) throw new Error(`scored ${s.tokens.length} tokens, not ${tokens - 1}`);
      windows = s.windows;
      say(
        `run ${r + 1}/${runs}: ${times[r].toFixed(1)} ms (${s.windows} windows, ${s.bitsPerByte.toFixed(3)} bits/byte)`,
      );
    }
    const ms = median(times);
    console.log(
      JSON.stringify({
        model: `${described} vocab=65 (fp32 model.onnx)`,
        tokens,
        windows,
        runs,
        threads: model.threads,
        cpus: os.cpus().length,
        score_ms: Number(ms.toFixed(1)),
        ms_per_1000_tokens: Number(((1000 * ms) / tokens).toFixed(1)),
      }),
    );
    return 0;
  } finally {
    clearModelCache();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---- in BENCHMARKS.md (bench/benchmark.ts)

export const benchmarks: Benchmark[] = [
  {
    name: 'surprise',
    args: ['bench', 'surprise', '--json', '--runs', '7'],
    rows: [
      {
        figure:
          'Model Surprise: 2,000 tokens scored (loss, probability, top 5), `shakespeare-char-cpu` shape, fp32, session loaded',
        goal: '≤ 200 ms (#19)',
        value: (r) => `${r.score_ms} ms (${r.windows} windows of block_size), median of ${r.runs}`,
        met: (r) => r.score_ms <= 200,
      },
    ],
  },
];
