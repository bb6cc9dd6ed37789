// The dashboard's data on the host: a run's events.jsonl folded into columns (what the webview
// charts), kept for replays (thinned beyond MAX_POINTS, see thinSeries.ts) and as deltas for
// live appends, with where the run is worded as everywhere else (progress.ts); and the CSV
// export, written from the events themselves.
import * as path from 'node:path';
import type { RunSeries } from '../webview/protocol';
import type { RunEvent } from './events';
import { positionText, TrainProgress } from './progress';
import { thinSeries } from './thinSeries';

const emptySeries = (id: string): RunSeries => ({
  id,
  name: path.basename(id),
  status: 'waiting',
  train: { iter: [], loss: [], lr: [], tokensPerS: [], mfu: [] },
  eval: { iter: [], trainLoss: [], valLoss: [], valBpb: [] },
});

export class RunMetrics {
  readonly series: RunSeries;
  private delta: RunSeries;
  private changed = false;
  private readonly progress = new TrainProgress();
  /** Token ids of the latest sample, for decoding when the tokenizer is at hand. */
  sampleTokens: { iter: number; tokens: number[] } | undefined;
  pid: number | undefined;

  constructor(readonly dir: string) {
    this.series = emptySeries(dir);
    this.delta = emptySeries(dir);
  }

  add(events: RunEvent[]): void {
    for (const e of events) {
      this.changed = true;
      this.progress.update(e);
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
      if (e.type === 'sample') this.sampleTokens = { iter: e.iter, tokens: e.tokens };
    }
    this.series.position = this.delta.position = positionText(this.progress.position);
    thinSeries(this.series);
    thinSeries(this.delta);
  }

  setSample(sample: { iter: number; text: string }): void {
    this.series.sample = sample;
    this.delta.sample = sample;
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
      if (e.type === 'train') rows.push([name, 'train', e.iter, e.loss, e.lr, e.tokens_per_s, e.mfu, '', '', ''].map(csvCell).join(','));
      if (e.type === 'eval') rows.push([name, 'eval', e.iter, '', '', '', '', e.train_loss, e.val_loss, e.val_bpb].map(csvCell).join(','));
    }
  }
  return rows.join('\n') + '\n';
}
