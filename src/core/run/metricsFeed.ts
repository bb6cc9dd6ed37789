// The metrics dashboard's host loop, free of VS Code: follows events.jsonl of the shown runs
// (not the trainer's stdout, so it reattaches after a reload or to a run started in a
// terminal), buffers every metric, decodes every sample with the run's tokenizer (the samples
// timeline), and every POLL_MS posts what is new as one metrics/append message.
// src/train/metricsView.ts posts to its loaded webviews; the load test
// (test/faults/load.test.ts) to a page in Chromium.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostToMetrics, MetricsResetMessage } from '../webview/protocol';
import { EventFollower } from './events';
import { RunMetrics } from './metrics';
import { runPaths } from './runDir';
import type { Tokenizer } from '../prepare/tokenizer';

export const POLL_MS = 500;

export interface MetricsFeedOutput {
  /** Sends a message to every loaded dashboard; the feed does not wait for it. */
  post(message: HostToMetrics): void;
  warn(message: string): void;
  error(message: string): void;
}

interface Followed {
  follower: EventFollower;
  metrics: RunMetrics;
  tokenizer?: Promise<Tokenizer | undefined>;
}

export class MetricsFeed {
  private readonly runs = new Map<string, Followed>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private polling = false;

  constructor(private readonly output: MetricsFeedOutput) {}

  /** The runs followed, in order (the first gets the first theme colour). */
  get runDirs(): string[] {
    return [...this.runs.keys()];
  }

  /** Follows these runs, in this order and each once, keeping what is buffered of those followed
   *  already; reads what they hold now without posting it, and polls while any is followed.
   *  Returns the run folders followed. */
  follow(runDirs: string[]): string[] {
    const wanted = [...new Set(runDirs.map((d) => path.resolve(d)))];
    const next = new Map<string, Followed>();
    for (const dir of wanted) {
      next.set(
        dir,
        this.runs.get(dir) ?? { follower: new EventFollower(runPaths(dir).events), metrics: new RunMetrics(dir) },
      );
    }
    this.runs.clear();
    for (const [dir, f] of next) this.runs.set(dir, f);
    this.poll(true);
    if (wanted.length && !this.timer) this.timer = setInterval(() => this.poll(false), POLL_MS);
    if (!wanted.length && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    return wanted;
  }

  /** Reads what the runs appended; posts it as one metrics/append (unless `quiet`). */
  poll(quiet: boolean): void {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const followed of this.runs.values()) {
        const events = followed.follower.poll();
        if (!events.length) continue;
        followed.metrics.add(events);
        if (followed.metrics.pendingSamples.length) this.decodeSamples(followed);
      }
      if (quiet) return;
      const deltas = [...this.runs.values()].map((f) => f.metrics.takeDelta()).filter((d) => d !== undefined);
      if (deltas.length) this.output.post({ type: 'metrics/append', runs: deltas });
    } catch (err) {
      this.output.error(String(err));
    } finally {
      this.polling = false;
    }
  }

  /** Everything buffered: what a dashboard gets when it loads. */
  snapshot(): MetricsResetMessage {
    return { type: 'metrics/reset', runs: [...this.runs.values()].map((f) => f.metrics.series) };
  }

  /** Posts everything buffered (after the set of runs changed). */
  postReset(): void {
    // deltas already folded into the series: drop them so they are not appended twice
    for (const f of this.runs.values()) f.metrics.takeDelta();
    this.output.post(this.snapshot());
  }

  /** Decodes the samples read so far; callbacks on one promise run in the order they were
   *  added, so the samples stay in file order. */
  private decodeSamples(followed: Followed): void {
    followed.tokenizer ??= this.loadTokenizer(followed.metrics.dir);
    const samples = followed.metrics.pendingSamples.splice(0);
    void followed.tokenizer.then((tokenizer) => {
      const decode = (tokens: number[]) => {
        if (!tokenizer) return `(token ids; the run's tokenizer was not found) ${tokens.join(' ')}`;
        try {
          return tokenizer.decode(tokens);
        } catch (err) {
          return `(could not decode the sample: ${String(err)})`;
        }
      };
      followed.metrics.addSamples(samples.map((s) => ({ iter: s.iter, text: decode(s.tokens) })));
    });
  }

  /** The run's tokenizer: its dataset's (config.json names the dataset), else model.json's. */
  private async loadTokenizer(dir: string): Promise<Tokenizer | undefined> {
    const [{ parseTokenizerSpec, tokenizerFromSpec }, { readDatasetTokenizer }] = await Promise.all([
      import('../prepare/tokenizer'),
      import('../prepare/dataset'),
    ]);
    const paths = runPaths(dir);
    const candidates: (() => Tokenizer)[] = [];
    try {
      const config = JSON.parse(fs.readFileSync(paths.config, 'utf8')) as { data?: { dataset?: string } };
      const dataset = config.data?.dataset;
      if (dataset) candidates.push(() => tokenizerFromSpec(readDatasetTokenizer(path.resolve(dir, dataset))));
    } catch {
      // no config.json yet
    }
    candidates.push(() => {
      const model = JSON.parse(fs.readFileSync(paths.modelJson, 'utf8')) as { tokenizer?: unknown };
      return tokenizerFromSpec(parseTokenizerSpec(model.tokenizer, paths.modelJson));
    });
    for (const candidate of candidates) {
      try {
        return candidate();
      } catch {
        // try the next
      }
    }
    this.output.warn(`no tokenizer found for ${dir}; samples are shown as token ids`);
    return undefined;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
