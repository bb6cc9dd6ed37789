// Pure helpers of the dashboard: appending host deltas, smoothing, formatting.
import { thinSeries } from '../../src/core/run/thinSeries';
import type { RunSeries } from '../../src/core/webview/protocol';

/** Appends a delta's points to a run and takes its newer scalar fields. */
export function appendSeries(run: RunSeries, delta: RunSeries): void {
  const push = <T>(into: T[], from: T[]) => {
    for (const v of from) into.push(v);
  };
  push(run.train.iter, delta.train.iter);
  push(run.train.loss, delta.train.loss);
  push(run.train.lr, delta.train.lr);
  push(run.train.tokensPerS, delta.train.tokensPerS);
  push(run.train.mfu, delta.train.mfu);
  push(run.eval.iter, delta.eval.iter);
  push(run.eval.trainLoss, delta.eval.trainLoss);
  push(run.eval.valLoss, delta.eval.valLoss);
  push(run.eval.valBpb, delta.eval.valBpb);
  run.status = delta.status;
  run.name = delta.name;
  if (delta.maxIters !== undefined) run.maxIters = delta.maxIters;
  if (delta.position !== undefined) run.position = delta.position;
  if (delta.device !== undefined) run.device = delta.device;
  if (delta.nParams !== undefined) run.nParams = delta.nParams;
  push(run.samples, delta.samples);
  if (delta.error !== undefined) run.error = delta.error;
  if (delta.target !== undefined) run.target = delta.target;
  thinSeries(run); // a long live run stays light to keep and quick to redraw
}

/** Exponential moving average with TensorBoard's debiasing (the first points are not pulled
 *  towards zero); weight 0 returns the values unchanged. */
export function emaSmooth(values: number[], weight: number): number[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  const out = new Array<number>(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * w + (1 - w) * v;
    n++;
    out[i] = w === 0 ? v : last / (1 - Math.pow(w, n));
  }
  return out;
}

/** The last point whose value is known. */
export function latest(xs: number[], ys: (number | null)[]): { x: number; y: number } | undefined {
  for (let i = Math.min(xs.length, ys.length) - 1; i >= 0; i--) {
    const y = ys[i];
    if (y !== null && Number.isFinite(y)) return { x: xs[i], y };
  }
  return undefined;
}

export type ValueKind = 'loss' | 'bpb' | 'lr' | 'tokens' | 'mfu';

export function formatValue(kind: ValueKind, v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (kind === 'loss' || kind === 'bpb') return v.toFixed(4);
  if (kind === 'lr') return v === 0 ? '0' : Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3);
  if (kind === 'mfu') return v.toFixed(1);
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  return Math.round(v).toLocaleString('en-US');
}

/** Axis tick labels: short. */
export function formatTick(kind: ValueKind, v: number): string {
  if (kind === 'loss' || kind === 'bpb') return Number(v.toPrecision(3)).toString();
  return formatValue(kind, v);
}
