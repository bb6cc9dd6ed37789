// The dashboard's data on the host: a run's events.jsonl folded into columns (what the webview
// charts), kept for replays (thinned beyond MAX_POINTS, see thinSeries.ts) and as deltas for
// live appends, with where the run is worded as everywhere else (progress.ts) and, for a run
// with train.target_val_loss, the forecast of when it gets there (forecast.ts); and the CSV
// export, written from the events themselves.
import * as path from 'node:path';
import type { RunSeries, SampleText } from '../webview/protocol';
import type { RunEvent } from './events';
import { forecastTarget, forecastText } from './forecast';
import { positionText, TrainProgress } from './progress';
import { thinSeries } from './thinSeries';

const emptySeries = (id: string): RunSeries => ({
  id,
  name: path.basename(id),
  status: 'waiting',
  train: { iter: [], loss: [], lr: [], tokensPerS: [], mfu: [] },
  eval: { iter: [], trainLoss: [], valLoss: [], valBpb: [] },
  samples: [],
});

export class RunMetrics {
  readonly series: RunSeries;
  private delta: RunSeries;
  private changed = false;
  private readonly progress = new TrainProgress();
  /** Token ids of samples read but not yet decoded (the tokenizer loads asynchronously). */
  pendingSamples: { iter: number; tokens: number[] }[] = [];
  pid: number | undefined;
  /** train.target_val_loss from the latest start event, and every eval (unthinned) to forecast it. */
  private target: number | undefined;
  private readonly evals = { iter: [] as number[], valLoss: [] as number[] };

  constructor(readonly dir: string) {
    this.series = emptySeries(dir);
    this.delta = emptySeries(dir);
  }

  add(events: RunEvent[]): void {
    for (const e of events) {
      this.changed = true;
      this.progress.update(e);
      if (e.type === 'start') this.target = e.target_val_loss;
      if (e.type === 'eval') {
        this.evals.iter.push(e.iter);
        this.evals.valLoss.push(e.val_loss);
      }
      for (const s of [this.series, this.delta]) {
        switch (e.type) {
          case 'start':
            s.status = 'running';
            s.maxIters = e.max_iters;
            s.device = e.device;
            s.nParams = e.n_params;
            s.error = undefined;
            this.pid = e.pid;
            break;
          case 'train':
            s.train.iter.push(e.iter);
            s.train.loss.push(e.loss);
            s.train.lr.push(e.lr);
            s.train.tokensPerS.push(e.tokens_per_s);
            s.train.mfu.push(e.mfu ?? null);
            break;
          case 'eval':
            s.eval.iter.push(e.iter);
            s.eval.trainLoss.push(e.train_loss);
            s.eval.valLoss.push(e.val_loss);
            s.eval.valBpb.push(e.val_bpb ?? null);
            break;
          case 'done':
            s.status = e.reason;
            break;
          case 'error':
            s.status = 'error';
            s.error = e.message;
            break;
          default:
            break;
        }
      }
      if (e.type === 'sample') this.pendingSamples.push({ iter: e.iter, tokens: e.tokens });
    }
    this.series.position = this.delta.position = positionText(this.progress.position);
    const maxIters = this.series.maxIters;
    if (this.target !== undefined && maxIters !== undefined) {
      const text = forecastText(this.target, forecastTarget(this.evals, this.target, maxIters));
      this.series.target = this.delta.target = { valLoss: this.target, text };
    }
    thinSeries(this.series);
    thinSeries(this.delta);
  }

  /** Adds decoded samples, in the order their events came. */
  addSamples(samples: SampleText[]): void {
    for (const s of [this.series, this.delta]) {
      s.samples.push(...samples);
      thinSeries(s);
    }
    this.changed = true;
  }

  /** What changed since the last call (undefined when nothing did). */
  takeDelta(): RunSeries | undefined {
    if (!this.changed) return undefined;
    const out = this.delta;
    out.status = this.series.status;
    out.maxIters = this.series.maxIters;
    out.device = this.series.device;
    out.error = this.series.error;
    out.position = this.series.position;
    out.target = this.series.target;
    this.delta = emptySeries(this.dir);
    this.changed = false;
    return out;
  }
}

const csvCell = (v: string | number | null | undefined) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** Every metric of the runs, read from their events (not the thinned series the charts keep),
 *  one row per train or eval event in file order:
 *  run,type,iter,loss,lr,tokens_per_s,mfu,train_loss,val_loss,val_bpb (val_bpb empty where the
 *  run's dataset had no byte counts). */
export function metricsCsv(runs: { name: string; events: RunEvent[] }[]): string {
  const rows = ['run,type,iter,loss,lr,tokens_per_s,mfu,train_loss,val_loss,val_bpb'];
  for (const { name, events } of runs) {
    for (const e of events) {
      if (e.type === 'train')
        rows.push([name, 'train', e.iter, e.loss, e.lr, e.tokens_per_s, e.mfu, '', '', ''].map(csvCell).join(','));
      if (e.type === 'eval')
        rows.push([name, 'eval', e.iter, '', '', '', '', e.train_loss, e.val_loss, e.val_bpb].map(csvCell).join(','));
    }
  }
  return rows.join('\n') + '\n';
}
