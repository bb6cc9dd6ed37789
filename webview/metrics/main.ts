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
  type Point,
} from 'chart.js';
import '../common.css';
import './style.css';
import { el, onHostMessage, onThemeChange, vscodeApi } from '../common';
import type { MetricsState, MetricsToHost } from '../../src/core/webview/protocol';
import { datasetsFor, emptyText, runColor, summaryText, type Runs } from './chartData';
import { chartOptions, readTheme } from './chartTheme';
import { SamplesTimeline } from './samples';
import { appendSeries, type ValueKind } from './series';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Decimation);

const vscode = vscodeApi<MetricsState>();
const post = (message: MetricsToHost) => vscode.postMessage(message);
const state: MetricsState = {
  smoothing: 0.6,
  showRaw: true,
  hiddenRuns: [],
  sampleRun: '',
  runs: [],
  ...vscode.getState(),
};
const saveState = () => vscode.setState(state);

const runs: Runs = new Map();
let theme = readTheme();
const colorOf = (runId: string) => runColor(runs, theme, runId);

interface ChartView {
  id: ValueKind;
  title: string;
  yLabel: string;
  chart?: Chart<'line', Point[]>;
  canvas: HTMLCanvasElement;
  summary: HTMLElement;
  empty: HTMLElement;
}
const chartDefs: { id: ValueKind; title: string; yLabel: string; description: string }[] = [
  {
    id: 'loss',
    title: 'Loss',
    yLabel: 'loss',
    description:
      'Train loss (faint: raw, solid: smoothed) and val loss at evaluations (dashed, dots) against iteration; a run with a target val loss shows it as a dotted line.',
  },
  {
    id: 'bpb',
    title: 'Val bits per byte',
    yLabel: 'bits per byte',
    description:
      'Val loss in bits per byte of text at evaluations against iteration. Unlike loss per token it does not depend on the tokenizer, so char, GPT-2 and BPE runs compare on it.',
  },
  { id: 'lr', title: 'Learning rate', yLabel: 'learning rate', description: 'Learning rate against iteration.' },
  {
    id: 'tokens',
    title: 'Throughput',
    yLabel: 'tokens/s',
    description: 'Training tokens per second against iteration.',
  },
  {
    id: 'mfu',
    title: 'MFU',
    yLabel: 'MFU %',
    description: "Model FLOPs utilisation (percent of the GPU's peak) against iteration.",
  },
];
const views = new Map<ValueKind, ChartView>();

// ---------------------------------------------------------------- page

const app = document.getElementById('app')!;
const runList = el('ul', { class: 'runs', 'aria-label': 'Runs shown' });
const emptyNote = el(
  'p',
  { class: 'empty muted' },
  'No runs shown yet. Start a training run, or choose runs that wrote events.jsonl.',
);
const forecast = el('p', { class: 'forecast', id: 'loss-forecast', hidden: true });
const samples = new SamplesTimeline(state, saveState, colorOf);
const smoothing = el('input', {
  type: 'range',
  id: 'smoothing',
  min: 0,
  max: 0.99,
  step: 0.01,
  value: state.smoothing,
  'aria-describedby': 'smoothing-value',
});
const smoothingValue = el('output', { id: 'smoothing-value', for: 'smoothing' }, state.smoothing.toFixed(2));
const showRaw = el('vscode-checkbox', { id: 'show-raw', checked: state.showRaw }, 'Raw train loss') as HTMLElement & {
  checked: boolean;
};

function buildPage(): void {
  const pick = el('vscode-button', { secondary: true, id: 'pick-runs' }, 'Choose Runs…');
  pick.addEventListener('click', () => post({ type: 'metrics/pickRuns' }));
  const csv = el(
    'vscode-button',
    { secondary: true, id: 'export-csv', title: 'Save every metric of the shown runs as CSV' },
    'Export CSV',
  );
  csv.addEventListener('click', () => post({ type: 'metrics/exportCsv' }));
  smoothing.addEventListener('input', () => {
    state.smoothing = Number(smoothing.value);
    smoothingValue.textContent = state.smoothing.toFixed(2);
    saveState();
    redrawAll();
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
  const header = el(
    'header',
    { class: 'toolbar' },
    el('h1', {}, 'Training metrics'),
    el('span', { class: 'spacer' }),
    pick,
    csv,
  );
  const grid = el('div', { class: 'charts' });
  for (const def of chartDefs) {
    const canvas = el('canvas', {
      role: 'img',
      'aria-label': `${def.title} chart`,
      'aria-describedby': `${def.id}-description ${def.id}-summary${def.id === 'loss' ? ' loss-forecast' : ''}`,
    });
    const summary = el('p', { class: 'chart-summary', id: `${def.id}-summary`, 'aria-live': 'off' });
    const empty = el('p', { class: 'chart-empty muted', hidden: true });
    const png = el(
      'vscode-button',
      {
        secondary: true,
        class: 'png',
        'aria-label': `Export the ${def.title.toLowerCase()} chart as PNG`,
        title: 'Export as PNG',
      },
      'PNG',
    );
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
  app.replaceChildren(header, runList, emptyNote, controls, grid, samples.section);
  app.removeAttribute('aria-busy');
  for (const view of views.values())
    view.chart = new Chart(view.canvas, {
      type: 'line',
      data: { datasets: [] },
      options: chartOptions(theme, view.id, view.yLabel),
    });
}

// ---------------------------------------------------------------- drawing

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
    view.chart.data.datasets = datasetsFor(view.id, runs, state, theme);
    const hasData = view.chart.data.datasets.some((d) => d.data.length > 0);
    view.empty.hidden = hasData;
    view.canvas.classList.toggle('no-data', !hasData);
    view.empty.textContent = emptyText(view.id, runs);
    view.chart.update('none');
    view.summary.textContent = summaryText(view.id, runs, state);
  }
  renderRuns();
  renderForecast();
  samples.render([...runs.values()].filter((r) => !state.hiddenRuns.includes(r.id)));
}

function renderRuns(): void {
  emptyNote.hidden = runs.size > 0;
  runList.replaceChildren(
    ...[...runs.values()].map((run) => {
      const box = el(
        'vscode-checkbox',
        { checked: !state.hiddenRuns.includes(run.id), 'data-run': run.id },
        run.name,
      ) as HTMLElement & { checked: boolean };
      box.addEventListener('change', () => {
        state.hiddenRuns = box.checked ? state.hiddenRuns.filter((r) => r !== run.id) : [...state.hiddenRuns, run.id];
        saveState();
        redrawAll();
        // the list was rebuilt: keep keyboard focus on this run's checkbox
        (runList.querySelector(`[data-run="${CSS.escape(run.id)}"]`) as HTMLElement | null)?.focus();
      });
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.backgroundColor = colorOf(run.id);
      const status = el(
        'span',
        { class: `status ${run.status}` },
        [run.status, run.position, run.device].filter(Boolean).join(' · '),
      );
      const item = el('li', { title: run.id }, swatch, el('div', { class: 'run-text' }, box, status));
      if (run.error) item.lastElementChild!.append(el('span', { class: 'run-error', role: 'alert' }, run.error));
      return item;
    }),
  );
}

// ---------------------------------------------------------------- export

function exportPng(id: ValueKind): void {
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
  samples.invalidate(); // its swatches take the new colours
  for (const view of views.values()) {
    if (!view.chart) continue;
    view.chart.options = chartOptions(theme, view.id, view.yLabel);
  }
  redrawAll();
});

buildPage();
redrawAll();
// tests read the charts' data through this (Chart.getChart needs the bundle's Chart class)
(window as unknown as { wordplayCharts: Record<string, Chart<'line', Point[]> | undefined> }).wordplayCharts =
  Object.fromEntries([...views.values()].map((v) => [v.id, v.chart]));
post({ type: 'ready' });
