// The charts' look, from the VS Code theme: its chart palette, text, grid and hover colours read
// from the CSS variables the editor sets (read again when the theme changes), and the chart.js
// options built from them.
import type { ChartOptions } from 'chart.js';
import { cssVar, themeKind } from '../common';
import { formatTick, formatValue, type ValueKind } from './series';

export interface Theme {
  palette: string[];
  text: string;
  grid: string;
  background: string;
  font: string;
  tooltipBg: string;
  tooltipFg: string;
  tooltipBorder: string;
}

export function readTheme(): Theme {
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
/** A colour with an alpha, from any CSS colour the theme gives (#rgb, #rrggbb, rgb(), names). */
export function withAlpha(color: string, alpha: number): string {
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

/** chart.js options for one chart: no animation (live data), decimated, themed. */
export function chartOptions(theme: Theme, id: ValueKind, yLabel: string): ChartOptions<'line'> {
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
        title: { display: true, text: yLabel, color: theme.text, font: { family: theme.font } },
        ticks: {
          color: theme.text,
          font: { family: theme.font },
          maxTicksLimit: 6,
          callback: (value) => formatTick(id, Number(value)),
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
          label: (item) => `${item.dataset.label}: ${formatValue(id, item.parsed.y ?? NaN)}`,
        },
      },
    },
  };
}
