// The metrics dashboard: chart.js charts against iteration for every run the host shows (train
// loss raw and smoothed, val loss, val bits per byte, learning rate, tokens/s, MFU), overlaid,
// live, decimated, coloured from the VS Code theme and redrawn when it changes; PNG and CSV
// export through the host; the samples timeline (every kept sample of the shown runs, newest
// first, filterable by run); a text alternative for every chart. A run with
// train.target_val_loss gets a dashed target line on the loss chart and, under it, the host's
// forecast of when val loss gets there.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import {
  Chart,
  Decimation,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
  type Point,
} from 'chart.js';
import '../common.css';
import './style.css';
import { cssVar, el, onHostMessage, onThemeChange, themeKind, vscodeApi } from '../common';
import type { MetricsState, MetricsToHost, RunSeries } from '../../src/core/webview/protocol';
import { appendSeries, emaSmooth, formatTick, formatValue, latest } from './series';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Decimation);

const vscode = vscodeApi<MetricsState>();
const post = (message: MetricsToHost) => vscode.postMessage(message);
const state: MetricsState = { smoothing: 0.6, showRaw: true, hiddenRuns: [], sampleRun: '', runs: [], ...vscode.getState() };
const saveState = () => vscode.setState(state);

const runs = new Map<string, RunSeries>();

type ChartId = 'loss' | 'bpb' | 'lr' | 'tokens' | 'mfu';
interface ChartView {
  id: ChartId;
  title: string;
  yLabel: string;
  chart?: Chart<'line', Point[]>;
  canvas: HTMLCanvasElement;
  summary: HTMLElement;
  empty: HTMLElement;
}
const chartDefs: { id: ChartId; title: string; yLabel: string; description: string }[] = [
  { id: 'loss', title: 'Loss', yLabel: 'loss', description: 'Train loss (faint: raw, solid: smoothed) and val loss at evaluations (dashed, dots) against iteration; a run with a target val loss shows it as a dotted line.' },
  {
    id: 'bpb',
    title: 'Val bits per byte',
    yLabel: 'bits per byte',
    description:
      'Val loss in bits per byte of text at evaluations against iteration. Unlike loss per token it does not depend on the tokenizer, so char, GPT-2 and BPE runs compare on it.',
  },
  { id: 'lr', title: 'Learning rate', yLabel: 'learning rate', description: 'Learning rate against iteration.' },
  { id: 'tokens', title: 'Throughput', yLabel: 'tokens/s', description: 'Training tokens per second against iteration.' },
  { id: 'mfu', title: 'MFU', yLabel: 'MFU %', description: "Model FLOPs utilisation (percent of the GPU's peak) against iteration." },
];
const views = new Map<ChartId, ChartView>();

// ---------------------------------------------------------------- page

const app = document.getElementById('app')!;
const runList = el('ul', { class: 'runs', 'aria-label': 'Runs shown' });
const emptyNote = el('p', { class: 'empty muted' }, 'No runs shown yet. Start a training run, or choose runs that wrote events.jsonl.');
const forecast = el('p', { class: 'forecast', id: 'loss-forecast', hidden: true });
const sampleRun = el('select', { id: 'sample-run' });
const sampleList = el('ol', { class: 'timeline', 'aria-label': 'Samples, newest first' });
const samples = el(
  'section',
  { class: 'samples', 'aria-labelledby': 'samples-heading' },
  el('div', { class: 'samples-head' }, el('h2', { id: 'samples-heading' }, 'Samples over time'), el('label', { for: 'sample-run' }, 'Run'), sampleRun),
  el('p', { class: 'muted samples-note' }, 'The text each run wrote at its evaluations, newest first.'),
  sampleList,
);
const smoothing = el('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, value: state.smoothing, 'aria-describedby': 'smoothing-value' });
const smoothingValue = el('output', { id: 'smoothing-value', for: 'smoothing' }, state.smoothing.toFixed(2));
const showRaw = el('vscode-checkbox', { id: 'show-raw', checked: state.showRaw }, 'Raw train loss') as HTMLElement & { checked: boolean };

function buildPage(): void {
  const pick = el('vscode-button', { secondary: true, id: 'pick-runs' }, 'Choose Runs…');
  pick.addEventListener('click', () => post({ type: 'metrics/pickRuns' }));
  const csv = el('vscode-button', { secondary: true, id: 'export-csv', title: 'Save every metric of the shown runs as CSV' }, 'Export CSV');
  csv.addEventListener('click', () => post({ type: 'metrics/exportCsv' }));
  smoothing.addEventListener('input', () => {
    state.smoothing = Number(smoothing.value);
    smoothingValue.textContent = state.smoothing.toFixed(2);
    saveState();
    redrawAll();
  });
  sampleRun.addEventListener('change', () => {
    state.sampleRun = sampleRun.value;
    saveState();
    renderSamples();
  });
  showRaw.addEventListener('change', () => {
    state.showRaw = showRaw.checked;
    saveState();
    redrawAll();
  });
  const controls = el(
    'div',
    { class: 'controls' },
    el('label', { for: 'smoothing', class: 'smoothing-label' }, 'Smoothing'),
    smoothing,
    smoothingValue,
    showRaw,
  );
  const header = el('header', { class: 'toolbar' }, el('h1', {}, 'Training metrics'), el('span', { class: 'spacer' }), pick, csv);
  const grid = el('div', { class: 'charts' });
  for (const def of chartDefs) {
    const canvas = el('canvas', { role: 'img', 'aria-label': `${def.title} chart`, 'aria-describedby': `${def.id}-description ${def.id}-summary${def.id === 'loss' ? ' loss-forecast' : ''}` });
    const summary = el('p', { class: 'chart-summary', id: `${def.id}-summary`, 'aria-live': 'off' });
    const empty = el('p', { class: 'chart-empty muted', hidden: true });
    const png = el('vscode-button', { secondary: true, class: 'png', 'aria-label': `Export the ${def.title.toLowerCase()} chart as PNG`, title: 'Export as PNG' }, 'PNG');
    png.addEventListener('click', () => exportPng(def.id));
    const figure = el(
      'figure',
      { class: 'chart', 'data-chart': def.id, 'aria-labelledby': `${def.id}-title` },
      el('figcaption', {}, el('h2', { id: `${def.id}-title` }, def.title), png),
      el('p', { class: 'visually-hidden', id: `${def.id}-description` }, def.description),
      el('div', { class: 'canvas-box' }, canvas, empty),
      ...(def.id === 'loss' ? [forecast] : []),
      summary,
    );
    grid.append(figure);
    views.set(def.id, { id: def.id, title: def.title, yLabel: def.yLabel, canvas, summary, empty });
  }
  app.replaceChildren(header, runList, emptyNote, controls, grid, samples);
  app.removeAttribute('aria-busy');
  for (const view of views.values()) view.chart = new Chart(view.canvas, { type: 'line', data: { datasets: [] }, options: chartOptions(view) });
}

// ---------------------------------------------------------------- theme

interface Theme {
  palette: string[];
  text: string;
  grid: string;
  background: string;
  font: string;
  tooltipBg: string;
  tooltipFg: string;
  tooltipBorder: string;
}

function readTheme(): Theme {
  const kind = themeKind();
  const dark = kind === 'dark' || kind === 'high-contrast';
  return {
    palette: [
      cssVar('--vscode-charts-blue', dark ? '#3794ff' : '#1a85ff'),
      cssVar('--vscode-charts-orange', dark ? '#d18616' : '#d18616'),
      cssVar('--vscode-charts-green', dark ? '#89d185' : '#388a34'),
      cssVar('--vscode-charts-purple', dark ? '#b180d7' : '#652d90'),
      cssVar('--vscode-charts-red', dark ? '#f14c4c' : '#e51400'),
      cssVar('--vscode-charts-yellow', dark ? '#cca700' : '#bf8803'),
    ],
    text: cssVar('--vscode-charts-foreground', cssVar('--vscode-foreground', dark ? '#cccccc' : '#616161')),
    grid: cssVar('--vscode-charts-lines', dark ? 'rgba(204,204,204,0.25)' : 'rgba(97,97,97,0.25)'),
    background: cssVar('--vscode-editor-background', dark ? '#1e1e1e' : '#ffffff'),
    font: cssVar('--vscode-font-family', 'sans-serif'),
    tooltipBg: cssVar('--vscode-editorHoverWidget-background', dark ? '#252526' : '#f3f3f3'),
    tooltipFg: cssVar('--vscode-editorHoverWidget-foreground', dark ? '#cccccc' : '#616161'),
    tooltipBorder: cssVar('--vscode-editorHoverWidget-border', dark ? '#454545' : '#c8c8c8'),
  };
}
let theme = readTheme();

/** A colour with an alpha, from any CSS colour the theme gives (#rgb, #rrggbb, rgb(), names). */
function withAlpha(color: string, alpha: number): string {
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.fillStyle = '#000';
  probe.fillStyle = color;
  const normal = probe.fillStyle; // #rrggbb or rgba(...)
  if (normal.startsWith('#') && normal.length === 7) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(normal.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const m = /rgba?\(([^)]+)\)/.exec(normal);
  if (m) {
    const [r, g, b] = m[1].split(',').map((s) => s.trim());
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  return color;
}

function chartOptions(view: ChartView): ChartOptions<'line'> {
  return {
    animation: false,
    parsing: false,
    normalized: true,
    responsive: true,
    maintainAspectRatio: false,
    spanGaps: true,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    elements: { point: { radius: 0, hitRadius: 6, hoverRadius: 3 }, line: { borderWidth: 1.5 } },
    scales: {
      x: {
        type: 'linear',
        title: { display: true, text: 'iteration', color: theme.text, font: { family: theme.font } },
        ticks: { color: theme.text, font: { family: theme.font }, maxTicksLimit: 6 },
        grid: { color: theme.grid },
        border: { color: theme.grid },
      },
      y: {
        type: 'linear',
        title: { display: true, text: view.yLabel, color: theme.text, font: { family: theme.font } },
        ticks: {
          color: theme.text,
          font: { family: theme.font },
          maxTicksLimit: 6,
          callback: (value) => formatTick(view.id, Number(value)),
        },
        grid: { color: theme.grid },
        border: { color: theme.grid },
      },
    },
    plugins: {
      legend: { display: false },
      decimation: { enabled: true, algorithm: 'min-max' },
      tooltip: {
        backgroundColor: theme.tooltipBg,
        titleColor: theme.tooltipFg,
        bodyColor: theme.tooltipFg,
        borderColor: theme.tooltipBorder,
        borderWidth: 1,
        titleFont: { family: theme.font },
        bodyFont: { family: theme.font },
        callbacks: {
          title: (items) => (items.length ? `iteration ${items[0].parsed.x}` : ''),
          label: (item) => `${item.dataset.label}: ${formatValue(view.id, item.parsed.y ?? NaN)}`,
        },
      },
    },
  };
}

// ---------------------------------------------------------------- data → datasets

function runColor(id: string): string {
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

function datasetsFor(id: ChartId): ChartDataset<'line', Point[]>[] {
  const out: ChartDataset<'line', Point[]>[] = [];
  const many = runs.size > 1;
  for (const run of runs.values()) {
    if (state.hiddenRuns.includes(run.id)) continue;
    const color = runColor(run.id);
    const name = (what: string) => (many ? `${run.name} · ${what}` : what);
    const base = { borderColor: color, backgroundColor: color, indexAxis: 'x' as const };
    if (id === 'loss') {
      if (state.showRaw) out.push({ ...base, label: name('train (raw)'), data: points(run.train.iter, run.train.loss), borderColor: withAlpha(color, 0.3), borderWidth: 1 });
      out.push({ ...base, label: name('train (smoothed)'), data: points(run.train.iter, emaSmooth(run.train.loss, state.smoothing)), borderWidth: 2 });
      out.push({ ...base, label: name('val'), data: points(run.eval.iter, run.eval.valLoss), borderDash: [6, 4], pointRadius: 3, borderWidth: 1.5 });
      if (run.target) out.push({ ...base, label: name('target val'), data: targetLine(run, run.target.valLoss), borderDash: [2, 3], borderWidth: 1.5 });
    } else if (id === 'bpb') {
      // a run whose dataset has no byte counts has no points here (its column holds nulls)
      out.push({ ...base, label: name('val bits per byte'), data: points(run.eval.iter, run.eval.valBpb), pointRadius: 3, borderWidth: 1.5 });
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

/** The forecast line under the loss chart: each shown run's, from the host. */
function renderForecast(): void {
  const shown = [...runs.values()].filter((r) => r.target && !state.hiddenRuns.includes(r.id));
  forecast.hidden = shown.length === 0;
  forecast.textContent = shown.map((r) => (runs.size > 1 ? `${r.name}: ${r.target!.text}` : r.target!.text)).join('; ');
}

let frame = 0;
/** Redraws at most once per animation frame, however many messages arrive. */
function scheduleRedraw(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    redrawAll();
  });
}

function redrawAll(): void {
  for (const view of views.values()) {
    if (!view.chart) continue;
    view.chart.data.datasets = datasetsFor(view.id);
    const hasData = view.chart.data.datasets.some((d) => d.data.length > 0);
    view.empty.hidden = hasData;
    view.canvas.classList.toggle('no-data', !hasData);
    view.empty.textContent = emptyText(view.id);
    view.chart.update('none');
    view.summary.textContent = summaryText(view.id);
  }
  renderRuns();
  renderForecast();
  renderSamples();
}

/** What an empty chart says: why there is nothing to draw. */
function emptyText(id: ChartId): string {
  const all = [...runs.values()];
  if (id === 'mfu' && all.some((r) => r.train.iter.length > 0)) return 'MFU is unknown on this device (the CPU, or a GPU whose peak is not known).';
  if (id === 'bpb' && all.some((r) => r.eval.iter.length > 0)) {
    return 'No bits per byte: the dataset was prepared before meta.json recorded byte counts. Prepare it again to compare runs across tokenizers.';
  }
  return 'No data yet.';
}

/** The chart's text alternative: the latest values of every shown run. */
function summaryText(id: ChartId): string {
  const parts: string[] = [];
  for (const run of runs.values()) {
    if (state.hiddenRuns.includes(run.id)) continue;
    const t = run.train;
    const last = t.iter.length - 1;
    const prefix = runs.size > 1 ? `${run.name}: ` : '';
    if (id === 'bpb') {
      if (run.eval.iter.length === 0) continue;
      const b = latest(run.eval.iter, run.eval.valBpb);
      parts.push(b ? `${prefix}val ${formatValue('bpb', b.y)} bits per byte at iteration ${b.x}` : `${prefix}no bits per byte (its dataset has no byte counts)`);
      continue;
    }
    if (last < 0 && (id !== 'loss' || run.eval.iter.length === 0)) continue;
    if (id === 'loss') {
      const bits: string[] = [];
      if (last >= 0) {
        const smooth = emaSmooth(t.loss, state.smoothing);
        bits.push(`iteration ${t.iter[last]}, train loss ${formatValue('loss', t.loss[last])} (smoothed ${formatValue('loss', smooth[last])})`);
      }
      const ev = latest(run.eval.iter, run.eval.valLoss);
      if (ev) bits.push(`val loss ${formatValue('loss', ev.y)} at iteration ${ev.x}`);
      parts.push(prefix + bits.join(', '));
    } else if (id === 'lr') parts.push(`${prefix}learning rate ${formatValue('lr', t.lr[last])} at iteration ${t.iter[last]}`);
    else if (id === 'tokens') parts.push(`${prefix}${formatValue('tokens', t.tokensPerS[last])} tokens/s at iteration ${t.iter[last]}`);
    else {
      const m = latest(t.iter, t.mfu);
      parts.push(m ? `${prefix}MFU ${formatValue('mfu', m.y * 100)}% at iteration ${m.x}` : `${prefix}MFU unknown`);
    }
  }
  return parts.length ? `Latest: ${parts.join('; ')}.` : 'No data yet.';
}

function renderRuns(): void {
  emptyNote.hidden = runs.size > 0;
  runList.replaceChildren(
    ...[...runs.values()].map((run) => {
      const box = el('vscode-checkbox', { checked: !state.hiddenRuns.includes(run.id), 'data-run': run.id }, run.name) as HTMLElement & { checked: boolean };
      box.addEventListener('change', () => {
        state.hiddenRuns = box.checked ? state.hiddenRuns.filter((r) => r !== run.id) : [...state.hiddenRuns, run.id];
        saveState();
        redrawAll();
        // the list was rebuilt: keep keyboard focus on this run's checkbox
        (runList.querySelector(`[data-run="${CSS.escape(run.id)}"]`) as HTMLElement | null)?.focus();
      });
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.backgroundColor = runColor(run.id);
      const status = el('span', { class: `status ${run.status}` }, [run.status, run.position, run.device].filter(Boolean).join(' · '));
      const item = el('li', { title: run.id }, swatch, el('div', { class: 'run-text' }, box, status));
      if (run.error) item.lastElementChild!.append(el('span', { class: 'run-error', role: 'alert' }, run.error));
      return item;
    }),
  );
}

let samplesDrawn = '';
/** The timeline: samples of the shown runs (or of the one chosen), newest first. Rebuilt only
 *  when what it would show changed, so a live run does not reset its scrolling every poll. */
function renderSamples(): void {
  const visible = [...runs.values()].filter((r) => !state.hiddenRuns.includes(r.id) && r.samples.length);
  if (state.sampleRun && !visible.some((r) => r.id === state.sampleRun)) state.sampleRun = '';
  const chosen = visible.filter((r) => !state.sampleRun || r.id === state.sampleRun);
  const drawn = JSON.stringify([visible.map((r) => [r.id, r.samples.length, r.samples.at(-1)?.iter]), state.sampleRun]);
  if (drawn === samplesDrawn) return;
  samplesDrawn = drawn;
  samples.hidden = visible.length === 0;
  sampleRun.replaceChildren(
    el('option', { value: '', selected: state.sampleRun === '' }, 'All runs'),
    ...visible.map((r) => el('option', { value: r.id, selected: state.sampleRun === r.id }, r.name)),
  );
  const entries = chosen.flatMap((run) => run.samples.map((sample) => ({ run, sample })));
  entries.sort((a, b) => b.sample.iter - a.sample.iter);
  sampleList.replaceChildren(
    ...entries.map(({ run, sample }) => {
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.backgroundColor = runColor(run.id);
      const label = `${run.name} · iteration ${sample.iter}`;
      return el(
        'li',
        { class: 'sample', 'data-run': run.id, 'data-iter': sample.iter },
        el('p', { class: 'muted' }, swatch, label),
        el('pre', { tabindex: 0, 'aria-label': `Sample of ${label}` }, sample.text),
      );
    }),
  );
}

// ---------------------------------------------------------------- export

function exportPng(id: ChartId): void {
  const chart = views.get(id)?.chart;
  if (!chart) return;
  const source = chart.canvas;
  const out = document.createElement('canvas');
  out.width = source.width;
  out.height = source.height;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = theme.background; // the chart itself is transparent over the theme's background
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(source, 0, 0);
  post({ type: 'metrics/exportPng', chart: id, dataUrl: out.toDataURL('image/png') });
}

// ---------------------------------------------------------------- messages

onHostMessage((message) => {
  if (message.type === 'metrics/reset') {
    runs.clear();
    for (const run of message.runs) runs.set(run.id, run);
    state.runs = message.runs.map((r) => r.id);
    state.hiddenRuns = state.hiddenRuns.filter((id) => runs.has(id));
    saveState();
    scheduleRedraw();
  } else if (message.type === 'metrics/append') {
    for (const delta of message.runs) {
      const run = runs.get(delta.id);
      if (run) appendSeries(run, delta);
      else runs.set(delta.id, delta);
    }
    scheduleRedraw();
  }
});

onThemeChange(() => {
  theme = readTheme();
  samplesDrawn = ''; // its swatches take the new colours
  for (const view of views.values()) {
    if (!view.chart) continue;
    view.chart.options = chartOptions(view);
  }
  redrawAll();
});

buildPage();
redrawAll();
// tests read the charts' data through this (Chart.getChart needs the bundle's Chart class)
(window as unknown as { wordplayCharts: Record<string, Chart<'line', Point[]> | undefined> }).wordplayCharts = Object.fromEntries(
  [...views.values()].map((v) => [v.id, v.chart]),
);
post({ type: 'ready' });
