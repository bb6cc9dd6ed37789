// `wordplay bench prepare`: prepare's throughput on tiny Shakespeare repeated to 100 MB, char
// and GPT-2, median of several runs (goals on one core: char >= 100 MB/s, GPT-2 >= 5 MB/s).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepare } from '../src/core/prepare/prepare';
import { shakespeareText } from '../src/core/prepare/shakespeare';
import { numberOption, parseOptions } from '../src/cli/args';

export const benchPrepareUsage = `Usage: wordplay bench prepare [--mb 100] [--runs 3]`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchPrepare(args: string[]): Promise<number> {
  const opts = parseOptions(args, { mb: { type: 'string' }, runs: { type: 'string' } }, benchPrepareUsage);
  const targetBytes = numberOption(opts.mb, 'mb', 100) * 1e6;
  const runs = numberOption(opts.runs, 'runs', 3);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-bench-prepare-'));
  try {
    const source = shakespeareText();
    const corpus = path.join(work, 'corpus.txt');
    const fd = fs.openSync(corpus, 'w');
    for (let written = 0; written < targetBytes; written += source.length) fs.writeSync(fd, source);
    fs.closeSync(fd);
    const megabytes = fs.statSync(corpus).size / 1e6;
    const result: Record<string, unknown> = { input_mb: Number(megabytes.toFixed(1)), runs };
    for (const tokenizer of ['char', 'gpt2'] as const) {
      const rates: number[] = [];
      for (let r = 0; r < runs; r++) {
        const out = path.join(work, `ds-${tokenizer}`);
        fs.rmSync(out, { recursive: true, force: true });
        const started = process.hrtime.bigint();
        await prepare({ input: corpus, tokenizer, out });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        rates.push(megabytes / seconds);
        console.error(`${tokenizer} run ${r + 1}/${runs}: ${(megabytes / seconds).toFixed(1)} MB/s`);
      }
      result[`${tokenizer}_mb_per_s`] = Number(median(rates).toFixed(1));
    }
    result.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
