// What each chart draws for the shown runs: chart.js datasets, one colour a run; and the text
// that stands in for a chart: why it is empty, and the latest values (its text alternative).
import type { ChartDataset, Point } from 'chart.js';
import type { MetricsState, RunSeries } from '../../src/core/webview/protocol';
import { withAlpha, type Theme } from './chartTheme';
import { emaSmooth, formatValue, latest, type ValueKind } from './series';

/** The runs the host shows, by id, in the order they came. */
export type Runs = Map<string, RunSeries>;

/** A run's colour: its place among the runs, in the theme's palette. */
export function runColor(runs: Runs, theme: Theme, id: string): string {
  const index = [...runs.keys()].indexOf(id);
  return theme.palette[(index < 0 ? 0 : index) % theme.palette.length];
}

const points = (xs: number[], ys: (number | null)[], scale = 1): Point[] => {
  const out: Point[] = [];
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y !== null && Number.isFinite(y)) out.push({ x: xs[i], y: y * scale });
  }
  return out;
};

/** One chart's datasets: for each shown run, its lines in its colour. */
export function datasetsFor(
  id: ValueKind,
  runs: Runs,
  state: MetricsState,
  theme: Theme,
): ChartDataset<'line', Point[]>[] {
  const out: ChartDataset<'line', Point[]>[] = [];
  const many = runs.size > 1;
  for (const run of runs.values()) {
    if (state.hiddenRuns.includes(run.id)) continue;
    const color = runColor(runs, theme, run.id);
    const name = (what: string) => (many ? `${run.name} · ${what}` : what);
    const base = { borderColor: color, backgroundColor: color, indexAxis: 'x' as const };
    if (id === 'loss') {
      if (state.showRaw)
        out.push({
          ...base,
          label: name('train (raw)'),
          data: points(run.train.iter, run.train.loss),
          borderColor: withAlpha(color, 0.3),
          borderWidth: 1,
        });
      out.push({
        ...base,
        label: name('train (smoothed)'),
        data: points(run.train.iter, emaSmooth(run.train.loss, state.smoothing)),
        borderWidth: 2,
      });
      out.push({
        ...base,
        label: name('val'),
        data: points(run.eval.iter, run.eval.valLoss),
        borderDash: [6, 4],
        pointRadius: 3,
        borderWidth: 1.5,
      });
      if (run.target)
        out.push({
          ...base,
          label: name('target val'),
          data: targetLine(run, run.target.valLoss),
          borderDash: [2, 3],
          borderWidth: 1.5,
        });
    } else if (id === 'bpb') {
      // a run whose dataset has no byte counts has no points here (its column holds nulls)
      out.push({
        ...base,
        label: name('val bits per byte'),
        data: points(run.eval.iter, run.eval.valBpb),
        pointRadius: 3,
        borderWidth: 1.5,
      });
    } else if (id === 'lr') {
      out.push({ ...base, label: name('lr'), data: points(run.train.iter, run.train.lr) });
    } else if (id === 'tokens') {
      out.push({ ...base, label: name('tokens/s'), data: points(run.train.iter, run.train.tokensPerS) });
    } else {
      out.push({ ...base, label: name('MFU %'), data: points(run.train.iter, run.train.mfu, 100) });
    }
  }
  return out;
}

/** The target as a horizontal line across the iterations the run has covered so far. */
function targetLine(run: RunSeries, y: number): Point[] {
  const iters = [...run.train.iter, ...run.eval.iter];
  if (!iters.length) return [];
  return [
    { x: Math.min(...iters), y },
    { x: Math.max(...iters), y },
  ];
}

/** What an empty chart says: why there is nothing to draw. */
export function emptyText(id: ValueKind, runs: Runs): string {
  const all = [...runs.values()];
  if (id === 'mfu' && all.some((r) => r.train.iter.length > 0))
    return 'MFU is unknown on this device (MPS, or a GPU whose peak is not known).';
  if (id === 'bpb' && all.some((r) => r.eval.iter.length > 0)) {
    return 'No bits per byte: the dataset was prepared before meta.json recorded byte counts. Prepare it again to compare runs across tokenizers.';
  }
  return 'No data yet.';
}

/** The chart's text alternative: the latest values of every shown run. */
export function summaryText(id: ValueKind, runs: Runs, state: MetricsState): string {
  const parts: string[] = [];
  for (const run of runs.values()) {
    if (state.hiddenRuns.includes(run.id)) continue;
    const t = run.train;
    const last = t.iter.length - 1;
    const prefix = runs.size > 1 ? `${run.name}: ` : '';
    if (id === 'bpb') {
      if (run.eval.iter.length === 0) continue;
      const b = latest(run.eval.iter, run.eval.valBpb);
      parts.push(
        b
          ? `${prefix}val ${formatValue('bpb', b.y)} bits per byte at iteration ${b.x}`
          : `${prefix}no bits per byte (its dataset has no byte counts)`,
      );
      continue;
    }
    if (last < 0 && (id !== 'loss' || run.eval.iter.length === 0)) continue;
    if (id === 'loss') {
      const bits: string[] = [];
      if (last >= 0) {
        const smooth = emaSmooth(t.loss, state.smoothing);
        bits.push(
          `iteration ${t.iter[last]}, train loss ${formatValue('loss', t.loss[last])} (smoothed ${formatValue('loss', smooth[last])})`,
        );
      }
      const ev = latest(run.eval.iter, run.eval.valLoss);
      if (ev) bits.push(`val loss ${formatValue('loss', ev.y)} at iteration ${ev.x}`);
      parts.push(prefix + bits.join(', '));
    } else if (id === 'lr')
      parts.push(`${prefix}learning rate ${formatValue('lr', t.lr[last])} at iteration ${t.iter[last]}`);
    else if (id === 'tokens')
      parts.push(`${prefix}${formatValue('tokens', t.tokensPerS[last])} tokens/s at iteration ${t.iter[last]}`);
    else {
      const m = latest(t.iter, t.mfu);
      parts.push(m ? `${prefix}MFU ${formatValue('mfu', m.y * 100)}% at iteration ${m.x}` : `${prefix}MFU unknown`);
    }
  }
  return parts.length ? `Latest: ${parts.join('; ')}.` : 'No data yet.';
}
