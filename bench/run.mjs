// `npm run bench [-- --only name,...]`: runs every benchmark as a child process, keeps the raw
// results in bench/results.json and regenerates the table of BENCHMARKS.md from them (the part
// between its two "generated" markers; the hand-written sections around it are kept), and its
// GPU check section from bench/gpu-check.json (`npm run gpu-check`, bench/gpuCheck.mjs).
// `npm run bench -- --render` runs nothing: it regenerates both from the files as they are
// (after copying in a gpu-check.json from a GPU machine, say).
//
// Each benchmark is the command a person would type: `wordplay bench …` printing JSON on its
// last line, `wordplay train` for the time to a loss, `npm run package` for the VSIX sizes.
// Each result records the machine, the date and the load average while it ran, because these
// figures come from shared machines: `--only` reruns some benchmarks and keeps the others'
// results (and their machines and dates) as they were. A benchmark that needs a GPU keeps its
// earlier result on a machine without one.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, watchLoad, writeBenchmarks } from './report.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const cliPath = path.join(root, 'dist', 'cli.js');
const resultsPath = path.join(root, 'bench', 'results.json');

const say = (line) => console.error(`[bench] ${line}`);

// --- running children --------------------------------------------------------------------

/** Runs a command with its stderr shown as progress; its stdout is shown too and returned. */
function run(command, args, { env, onChild } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? signal, stdout }));
    onChild?.(child);
  });
}

/** `node <args>`; its result is the JSON object on the last line of its stdout. */
async function nodeJson(args, what) {
  const { code, stdout } = await run(process.execPath, args);
  if (code !== 0) throw new Error(`${what} exited with ${code}`);
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** `wordplay <args>`, printing JSON on its last line. */
const wordplayJson = (args) => nodeJson([cliPath, ...args], `wordplay ${args.join(' ')}`);

// --- the time to a validation loss -------------------------------------------------------

const readEvents = (file) =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line) => {
          try {
            return [JSON.parse(line)];
          } catch {
            return []; // the torn last line of a file being written
          }
        })
    : [];

/**
 * Trains a preset on tiny Shakespeare (char-level, prepared into a temporary folder) until its
 * first evaluation at or under `target`, then stops it gracefully: the rest of the run would
 * not change the figure. The figure is the time between the `start` event (the trainer
 * ready, the model built) and that `eval` event, as events.jsonl records them.
 */
async function timeToLoss({ preset, target, device }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-loss-'));
  try {
    const dataset = path.join(work, 'data');
    const runDir = path.join(work, 'run');
    const events = path.join(runDir, 'events.jsonl');
    const prepared = await run(process.execPath, [cliPath, 'prepare', '--input', 'shakespeare', '--tokenizer', 'char', '--out', dataset]);
    if (prepared.code !== 0) throw new Error(`preparing tiny Shakespeare exited with ${prepared.code}`);
    const reached = () => readEvents(events).find((e) => e.type === 'eval' && e.val_loss <= target);
    const started = Date.now();
    let poll;
    const trained = await run(
      process.execPath,
      [cliPath, 'train', '--config', preset, '--run-dir', runDir, '--set', `data.dataset=${dataset}`, '--set', `train.device=${device}`],
      {
        env: { WORDPLAY_SKIP_EXPORT: '1' }, // the export is not part of the figure
        onChild: (child) => {
          poll = setInterval(() => {
            if (!reached()) return;
            clearInterval(poll);
            child.kill('SIGINT'); // `wordplay train` then stops the trainer gracefully
          }, 1000);
        },
      },
    );
    clearInterval(poll);
    const all = readEvents(events);
    const start = all.find((e) => e.type === 'start');
    const hit = reached();
    if (!start || (!hit && trained.code !== 0)) throw new Error(`wordplay train exited with ${trained.code}`);
    if (!hit) {
      const best = all.filter((e) => e.type === 'eval').sort((a, b) => a.val_loss - b.val_loss)[0];
      return { preset, target, device: start.device, reached: false, max_iters: start.max_iters, best_val_loss: best?.val_loss, best_iter: best?.iter };
    }
    return {
      preset,
      target,
      device: start.device,
      reached: true,
      seconds: hit.time - start.time,
      iter: hit.iter,
      val_loss: hit.val_loss,
      // from spawning `wordplay train` to the same event: Python's start-up and imports included
      command_seconds: hit.time - started / 1000,
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// --- formatting ----------------------------------------------------------------------------

const int = (x) => Math.round(x).toLocaleString('en-US');
const fixed = (x, digits = 1) => Number(x).toFixed(digits);
const lossValue = (r) =>
  r.reached
    ? `${fixed(r.seconds)} s (val ${fixed(r.val_loss, 3)} at iteration ${int(r.iter)}; ${fixed(r.command_seconds)} s from the command), one run`
    : `not reached in ${int(r.max_iters)} iterations (best val ${fixed(r.best_val_loss, 3)} at iteration ${int(r.best_iter)})`;
const trainingValue = (r) =>
  `${int(r.tokens_per_s)} tokens/s (median of ${r.iters} iterations after ${r.warmup_iters} warm-up; ${r.device}, ${r.dtype}, ${r.compile ? 'compiled' : 'not compiled'}, ${r.data === 'synthetic' ? 'random tokens' : 'the preset’s dataset'})`;
const recipeTarget = (p) => (p.target_s === null ? 'not reached' : `${fixed(p.target_s)} s at iteration ${int(p.target_iter)}`);
const recipeRatioValue = (r) =>
  `${r.ratio === null ? 'n/a: ours never reached it' : `${fixed(r.ratio, 2)}×`} (ours ${recipeTarget(r.candidate)}, nanoGPT’s ${recipeTarget(r.baseline)}` +
  `${r.baseline_reference === 'whole run' ? `, so over its whole run of ${fixed(r.baseline.wall_s)} s` : ''}), medians of ${r.runs} runs${r.pinned ? '' : ', one after the other (unpinned)'}`;
const percent = (x) => `${fixed(100 * x)}%`;
const gpuMfu = (r) => (r.mfu === null ? `n/a: no peak known for ${r.device}` : percent(r.mfu));
const firstCompletionValue = (r) =>
  `${fixed(r.total_ms)} ms (onnxruntime-node ${fixed(r.ort_require_ms)}, session ${fixed(r.session_ms)}, prompt to first token ${fixed(r.first_token_ms)}; slowest ${fixed(r.max_total_ms)})`;

const tokenizerRows = [
  ['char', 'char'],
  ['gpt2', 'GPT-2 (50,257 tokens)'],
  ['bpe-1024', 'trained BPE, 1,024 tokens'],
  ['bpe-4096', 'trained BPE, 4,096'],
  ['bpe-8192', 'trained BPE, 8,192'],
  ['bpe-16384', 'trained BPE, 16,384'],
];
const tokenizerValue = (r, name) => {
  const t = r.tokenizers.find((x) => x.name === name);
  if (!t) return 'not in this result';
  if (t.val_bpb === null) return `no figure: stopped after ${int(t.iters)} of ${int(t.max_iters)} iterations`;
  return (
    `${fixed(t.val_bpb, 3)} bits per byte (val loss ${fixed(t.val_loss, 3)} per token, ${fixed(t.tokens_per_byte, 3)} tokens per byte; ` +
    `${int(t.iters)} iterations in ${fixed(t.train_cpu_s ?? t.train_s)} CPU s, ${int(t.tokens_per_cpu_s ?? t.tokens_per_s)} tokens per CPU s` +
    `${t.prepare_default ? '; the size prepare picks for this corpus' : ''})`
  );
};

// --- the benchmarks ------------------------------------------------------------------------

const noGpu = (machine) => (machine.gpus.length ? undefined : 'no GPU on this machine');

/**
 * Each benchmark: its name for --only; what it runs (`args` of `wordplay`, or `measure` with the
 * `command` shown for it), with an optional step `before`; when it cannot run here
 * (`unavailable`); the GPU check's step whose result stands in for its own unless it measured
 * later (`gpuCheck`, bench/gpuCheck.mjs); and its rows: a figure, the goal with the issue that
 * set it, the value from the result and, where there is a goal, whether the value meets it. The
 * order is the table's and the order they run in.
 */
const benchmarks = [
  {
    name: 'prepare',
    args: ['bench', 'prepare', '--runs', '5', '--large-mb', '1000'],
    rows: [
      {
        figure: 'prepare, char-level',
        goal: '≥ 100 MB/s on one core (#2)',
        value: (r) => `${fixed(r.char_mb_per_s)} MB/s (median of ${r.runs} runs, ${fixed(r.input_mb)} MB of tiny Shakespeare repeated)`,
        met: (r) => r.char_mb_per_s >= 100,
      },
      {
        figure: 'prepare, GPT-2 BPE',
        goal: '≥ 5 MB/s on one core (#2)',
        value: (r) => `${fixed(r.gpt2_mb_per_s)} MB/s (median of ${r.runs} runs, same input)`,
        met: (r) => r.gpt2_mb_per_s >= 5,
      },
      {
        figure: 'prepare, trained BPE: training the tokenizer (the `training tokenizer` phase: the trainer’s Python, rustbpe, one thread)',
        goal: '≥ 10 MB/s on one core (#17)',
        value: (r) =>
          r.bpe
            ? `${fixed(r.bpe.train_mb_per_s)} MB/s of training text (median of ${r.runs} runs: ${fixed(r.bpe.train_mb)} MB in ${fixed(r.bpe.train_s, 2)} s; vocab ${int(r.bpe.vocab_size)}; ` +
              `its Python: ${fixed(r.bpe.child.cores, 2)} cores of CPU time over its wall time)`
            : 'not in this result',
        met: (r) => r.bpe?.train_mb_per_s >= 10,
      },
      {
        figure: 'prepare, trained BPE: encoding (the `encoding` phase, both splits)',
        goal: '≥ 5 MB/s on one core (#17)',
        value: (r) =>
          r.bpe
            ? `${fixed(r.bpe.encode_mb_per_s)} MB/s (median of ${r.runs} runs: ${fixed(r.input_mb)} MB in ${fixed(r.bpe.encode_s, 2)} s; the whole prepare ${fixed(r.bpe.mb_per_s)} MB/s)`
            : 'not in this result',
        met: (r) => r.bpe?.encode_mb_per_s >= 5,
      },
      {
        figure: 'prepare, peak memory of the benchmark process',
        goal: '< 500 MB RSS (#2)',
        value: (r) => `${int(r.peak_rss_mb)} MB RSS (${fixed(r.input_mb)} MB input, ${r.bpe ? 'char, GPT-2 and trained BPE' : 'both tokenizers'}; 1 GB: the next row)`,
        met: (r) => r.peak_rss_mb < 500,
      },
      {
        figure: 'prepare, trained BPE, peak memory: the trainer’s Python (tokenizer training) and prepare’s process',
        goal: 'memory bounded for 1 GB of text (#17): each under #2’s 500 MB',
        value: (r) =>
          r.large
            ? `1 GB (${fixed(r.large.input_mb, 0)} MB, vocab ${int(r.large.vocab_size)}): Python ${int(r.large.child.peak_rss_mb)} MB, prepare ${int(r.large.node_peak_rss_mb)} MB RSS ` +
              `(a process of its own); ${fixed(r.input_mb)} MB: Python ${int(r.bpe.child_peak_rss_mb)} MB. The 1 GB run: ${fixed(r.large.train_mb_per_s)} MB/s training, ` +
              `${fixed(r.large.encode_mb_per_s)} MB/s encoding, once`
            : 'not in this result',
        met: (r) => r.large?.child.peak_rss_mb < 500 && r.large?.node_peak_rss_mb < 500,
      },
    ],
  },
  {
    name: 'training',
    args: ['bench', 'training', '--config', 'shakespeare-char-cpu', '--iters', '50', '--warmup', '10'],
    rows: [
      { figure: 'training tokens/s, `shakespeare-char-cpu`, CPU', goal: '—', value: trainingValue },
      { figure: 'training MFU, `shakespeare-char-cpu`, CPU', goal: '—', value: (r) => (r.mfu === null ? 'n/a on CPU (no peak FLOPs to compare with)' : percent(r.mfu)) },
    ],
  },
  {
    name: 'time-to-loss',
    command: 'WORDPLAY_SKIP_EXPORT=1 wordplay train --config shakespeare-char-cpu --set data.dataset=<tiny Shakespeare, char>',
    measure: () => timeToLoss({ preset: 'shakespeare-char-cpu', target: 1.88, device: 'cpu' }),
    rows: [
      {
        figure: 'training time to val loss ≤ 1.88, `shakespeare-char-cpu`, CPU (`start` to `eval` event)',
        goal: 'as little wall time as possible (#3; nanoGPT’s CPU recipe takes 2,000 iterations)',
        value: lossValue,
      },
    ],
  },
  {
    name: 'recipe',
    args: ['bench', 'recipe', '--runs', '2'],
    rows: [
      {
        figure: 'training recipe, CPU: time to val loss ≤ 1.88, `shakespeare-char-cpu` over nanoGPT’s `nanogpt-shakespeare-char-cpu`, side by side, one core and one thread each',
        goal: '≤ 0.4× (#16), at no more parameters',
        value: recipeRatioValue,
        met: (r) => r.ratio !== null && r.ratio <= 0.4 && r.candidate.n_params <= r.baseline.n_params,
      },
      {
        figure: 'the same: `shakespeare-char-cpu`’s val loss at the wall time of nanoGPT’s recipe',
        goal: '≤ 1.70 (#16)',
        value: (r) =>
          `${r.candidate_val_at_baseline_wall === null ? 'no eval by then' : fixed(r.candidate_val_at_baseline_wall, 3)} at ${fixed(r.baseline.wall_s)} s ` +
          `(its own run: ${fixed(r.candidate.wall_s)} s, final val ${fixed(r.candidate.final_val, 3)}; nanoGPT’s final val ${fixed(r.baseline.final_val, 3)}), median of ${r.runs} runs`,
        met: (r) => r.candidate_val_at_baseline_wall !== null && r.candidate_val_at_baseline_wall <= 1.7,
      },
    ],
  },
  {
    name: 'tokenizers',
    args: ['bench', 'tokenizers'],
    rows: [
      ...tokenizerRows.map(([name, label], i) => ({
        figure:
          i === 0
            ? `tokenizers: val bits per byte after the same 180 s of one core each (CPU time), the same model (\`shakespeare-char-cpu\`’s architecture at block 128), Python’s standard library’s code; ${label}`
            : `the same, ${label}`,
        goal: '—',
        value: (r) => tokenizerValue(r, name),
      })),
      {
        figure: 'the same: the lowest val bits per byte',
        goal: 'the trained BPE gives the lowest bpb (#17)',
        value: (r) => {
          const of = (name) => r.tokenizers.find((t) => t.name === name);
          return `${r.lowest ?? 'none'}, ${fixed(r.lowest_bpb, 3)} (char ${fixed(of('char')?.val_bpb, 3)}, GPT-2 ${fixed(of('gpt2')?.val_bpb, 3)}); ${fixed(r.corpus.mb)} MB of \`.py\` files (${int(r.corpus.files)}), Python ${r.corpus.python}`;
        },
        met: (r) => r.bpe_lowest,
      },
    ],
  },
  {
    name: 'generation',
    args: ['bench', 'generation', '--json', '--runs', '5', '--against', 'nanogpt-shakespeare-char'],
    rows: [
      {
        figure: 'generation tokens/s, KV cache, fp32: today’s architecture (`shakespeare-char`) over GPT-2’s (`nanogpt-shakespeare-char`), same shape, runs interleaved',
        goal: '≥ 0.95× (#16: no slower, within the noise of a shared machine)',
        value: (r) => `${fixed(r.ratio_vs_against, 2)}× (${fixed(r.tokens_per_s)} against ${fixed(r.against_tokens_per_s)} tokens/s, medians of ${r.runs})`,
        met: (r) => r.ratio_vs_against >= 0.95,
      },
      {
        figure: 'generation tokens/s, KV cache, fp32',
        goal: '≥ 300 tokens/s on a 2-core CPU (#4)',
        value: (r) => `${fixed(r.tokens_per_s)} tokens/s (median of ${r.runs} runs of ${r.new_tokens} tokens after a ${r.prompt_tokens}-token prompt; ${r.threads} onnxruntime threads)`,
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
  {
    name: 'activation',
    // the bundle the VSIX ships (minified); `npm run build` leaves an unminified one
    async before() {
      const { code } = await run(process.execPath, ['esbuild.mjs', '--production']);
      if (code !== 0) throw new Error(`esbuild.mjs --production exited with ${code}`);
    },
    args: ['bench', 'activation', '--runs', '15'],
    rows: [
      {
        figure: 'activation: require `dist/extension.js` (production) + `activate()`, fresh process',
        goal: '< 50 ms (#7)',
        value: (r) =>
          `${fixed(r.total_ms)} ms (median of ${r.runs}: require ${fixed(r.require_ms)}, activate ${fixed(r.activate_ms)}; slowest ${fixed(r.max_total_ms)}; ${int(r.bytes / 1000)} kB bundle)`,
        met: (r) => r.total_ms < 50,
      },
    ],
  },
  {
    name: 'surprise',
    args: ['bench', 'surprise', '--json', '--runs', '7'],
    rows: [
      {
        figure: 'Model Surprise: 2,000 tokens scored (loss, probability, top 5), `shakespeare-char-cpu` shape, fp32, session loaded',
        goal: '≤ 200 ms (#19)',
        value: (r) => `${r.score_ms} ms (${r.windows} windows of block_size), median of ${r.runs}`,
        met: (r) => r.score_ms <= 200,
      },
    ],
  },
  {
    name: 'first-completion',
    args: ['bench', 'first-completion', '--runs', '11'],
    rows: [
      {
        figure: 'first completion to its first token, onnxruntime loading included, fresh process, `shakespeare-char-cpu` shape, fp32',
        goal: '≤ 300 ms (#7)',
        value: (r) => `${firstCompletionValue(r['model.onnx'])}, median of ${r.runs}`,
        met: (r) => r['model.onnx'].total_ms <= 300,
      },
      {
        figure: 'the same, int8',
        goal: '≤ 300 ms (#7)',
        value: (r) => `${firstCompletionValue(r['model.int8.onnx'])}, median of ${r.runs}`,
        met: (r) => r['model.int8.onnx'].total_ms <= 300,
      },
    ],
  },
  {
    name: 'dashboard',
    command: 'node --import tsx bench/dashboard.ts --seconds 60 --runs 5',
    measure: () => nodeJson(['--import', 'tsx', 'bench/dashboard.ts', '--seconds', '60', '--runs', '5'], 'bench/dashboard.ts'),
    rows: [
      {
        figure: 'metrics dashboard under 2,000 events/s for 60 s (the load test’s scenario): frames per second in the page',
        goal: '> 10 (#21, from the load test)',
        value: (r) => `${fixed(r.load.fps)} frames/s (${int(r.load.frames)} frames in ${r.load.seconds} s, headless Chromium)`,
        met: (r) => r.load.fps > 10,
      },
      {
        figure: 'the same: frame time, 95th percentile',
        goal: '< 100 ms (#21, from the load test)',
        value: (r) => `${fixed(r.load.p95_frame_ms)} ms (median ${fixed(r.load.p50_frame_ms)}, slowest ${fixed(r.load.max_frame_ms)})`,
        met: (r) => r.load.p95_frame_ms < 100,
      },
      {
        figure: 'metrics page: a run of 100,000 points, from metrics/reset to the first draw',
        goal: '< 15 s (#21, from the webview test)',
        value: (r) => `${fixed(r.first_draw.median_ms / 1000, 2)} s (median of ${r.first_draw.runs}; slowest ${fixed(r.first_draw.max_ms / 1000, 2)})`,
        met: (r) => r.first_draw.median_ms < 15_000,
      },
    ],
  },
  {
    name: 'stop',
    args: ['bench', 'stop', '--runs', '3'],
    rows: [
      {
        figure: 'graceful stop of `shakespeare-char-cpu` training, SIGINT (Stop Training, Ctrl-C): signal to exit, checkpoint and export included',
        goal: '< 15 s (#21, from the trainer’s stop test)',
        value: (r) => `${fixed(r.sigint_exit_ms / 1000, 2)} s (median of ${r.runs}; to the \`done\` event ${fixed(r.sigint_done_ms / 1000, 2)} s; slowest exit ${fixed(r.sigint_max_exit_ms / 1000, 2)})`,
        met: (r) => r.sigint_exit_ms < 15_000,
      },
      {
        figure: 'the same, SIGTERM',
        goal: '< 15 s (#21, from the trainer’s stop test)',
        value: (r) => `${fixed(r.sigterm_exit_ms / 1000, 2)} s (median of ${r.runs}; to the \`done\` event ${fixed(r.sigterm_done_ms / 1000, 2)} s; slowest exit ${fixed(r.sigterm_max_exit_ms / 1000, 2)})`,
        met: (r) => r.sigterm_exit_ms < 15_000,
      },
    ],
  },
  {
    name: 'vsix',
    command: 'npm run package',
    async measure() {
      const started = Date.now();
      const { code } = await run(process.execPath, ['scripts/package.mjs']);
      if (code !== 0) throw new Error(`scripts/package.mjs exited with ${code}`);
      const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
      const pattern = new RegExp(`^wordplay-(.+)-${version.replaceAll('.', '\\.')}\\.vsix$`);
      const sizes = {};
      for (const file of fs.readdirSync(path.join(root, 'out')).sort()) {
        const stat = fs.statSync(path.join(root, 'out', file));
        const target = file.match(pattern)?.[1];
        if (target && stat.mtimeMs >= started) sizes[target] = stat.size; // this run's, not older ones
      }
      return { version, bytes: sizes };
    },
    rows: [
      {
        figure: 'VSIX size per platform (`out/*.vsix`)',
        goal: '—',
        value: (r) => Object.entries(r.bytes).map(([target, bytes]) => `${target} ${fixed(bytes / 1e6)} MB`).join(', '),
      },
    ],
  },
  {
    name: 'training-shakespeare-gpu',
    unavailable: noGpu,
    gpuCheck: 'bench_shakespeare_char',
    args: ['bench', 'training', '--config', 'shakespeare-char', '--set', 'train.device=cuda'],
    rows: [
      { figure: 'training tokens/s, `shakespeare-char`, GPU', goal: '—', value: trainingValue },
      { figure: 'training MFU, `shakespeare-char`, GPU', goal: '—', value: gpuMfu },
    ],
  },
  {
    name: 'training-gpt2-gpu',
    unavailable: noGpu,
    gpuCheck: 'bench_gpt2_124m',
    args: ['bench', 'training', '--config', 'gpt2-124m', '--set', 'train.device=cuda'],
    rows: [
      { figure: 'training tokens/s, `gpt2-124m` (block 1024), GPU', goal: '—', value: trainingValue },
      {
        figure: 'training MFU, `gpt2-124m`, GPU',
        goal: '≥ 45% on one H100, bf16, compiled (#3)',
        value: gpuMfu,
        met: (r) => r.mfu !== null && r.mfu >= 0.45,
      },
    ],
  },
  {
    name: 'time-to-loss-gpu',
    unavailable: noGpu,
    command: 'WORDPLAY_SKIP_EXPORT=1 wordplay train --config shakespeare-char --set data.dataset=<tiny Shakespeare, char> --set train.device=cuda',
    measure: () => timeToLoss({ preset: 'shakespeare-char', target: 1.47, device: 'cuda' }),
    rows: [
      {
        figure: 'training time to val loss ≤ 1.47, `shakespeare-char`, GPU (`start` to `eval` event)',
        goal: '< 30 s on one H100 (#16; nanoGPT’s recipe: < 60 s, #3)',
        value: lossValue,
        met: (r) => r.reached && r.seconds < 30,
      },
    ],
  },
];
for (const b of benchmarks) b.command ??= `wordplay ${b.args.join(' ')}`;

// --- main ----------------------------------------------------------------------------------

function parseOnly(argv) {
  if (argv.includes('--render')) return [];
  const i = argv.indexOf('--only');
  if (i < 0) return benchmarks.map((b) => b.name);
  const names = (argv[i + 1] ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
  if (!names.length || unknown.length) {
    console.error(`usage: node bench/run.mjs [--only <name,...> | --render]; names: ${benchmarks.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  return names;
}

const only = parseOnly(process.argv.slice(2));
const results = fs.existsSync(resultsPath) ? JSON.parse(fs.readFileSync(resultsPath, 'utf8')) : {};
const machine = only.length ? describeMachine() : null;
const failed = [];
const startedAll = Date.now();
for (const b of benchmarks.filter((x) => only.includes(x.name))) {
  const date = new Date().toISOString();
  const reason = b.unavailable?.(machine);
  if (reason) {
    say(`${b.name}: not measured here (${reason})${results[b.name]?.result ? '; keeping the earlier result' : ''}`);
    if (!results[b.name]?.result) results[b.name] = { notMeasured: reason, machine, date };
  } else {
    say(`${b.name}: ${b.command}`);
    const started = Date.now();
    const load = watchLoad();
    try {
      await b.before?.();
      const result = await (b.measure ? b.measure() : wordplayJson(b.args));
      results[b.name] = { result, command: b.command, machine, date, seconds: (Date.now() - started) / 1000, load: load() };
      say(`${b.name}: done in ${fixed((Date.now() - started) / 1000)} s`);
    } catch (err) {
      load();
      failed.push(b.name);
      say(`${b.name}: FAILED (${err.message})${results[b.name]?.result ? '; keeping the earlier result' : ''}`);
      if (!results[b.name]?.result) results[b.name] = { notMeasured: `the benchmark failed (${err.message})`, machine, date };
    }
  }
  // after each benchmark, so that an interrupted run keeps what it measured
  fs.mkdirSync(path.dirname(resultsPath), { recursive: true });
  fs.writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  writeBenchmarks(results, benchmarks);
}
if (!only.length) writeBenchmarks(results, benchmarks);
say(`BENCHMARKS.md regenerated in ${fixed((Date.now() - startedAll) / 60000)} min${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
process.exitCode = failed.length ? 1 : 0;
