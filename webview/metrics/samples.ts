// The samples timeline under the charts: the text each shown run wrote at its evaluations,
// newest first, with a filter for one run. Rebuilt only when what it would show changed, so a live
// run does not reset its scrolling on every poll.
import { el } from '../common';
import type { MetricsState, RunSeries } from '../../src/core/webview/protocol';

export class SamplesTimeline {
  readonly section: HTMLElement;
  private readonly runFilter = el('select', { id: 'sample-run' });
  private readonly list = el('ol', { class: 'timeline', 'aria-label': 'Samples, newest first' });
  private drawn = '';
  /** The runs last rendered, for the filter to render again. */
  private shown: RunSeries[] = [];

  constructor(
    private readonly state: MetricsState,
    saveState: () => void,
    private readonly color: (runId: string) => string,
  ) {
    this.section = el(
      'section',
      { class: 'samples', 'aria-labelledby': 'samples-heading' },
      el(
        'div',
        { class: 'samples-head' },
        el('h2', { id: 'samples-heading' }, 'Samples over time'),
        el('label', { for: 'sample-run' }, 'Run'),
        this.runFilter,
      ),
      el('p', { class: 'muted samples-note' }, 'The text each run wrote at its evaluations, newest first.'),
      this.list,
    );
    this.runFilter.addEventListener('change', () => {
      state.sampleRun = this.runFilter.value;
      saveState();
      this.render(this.shown);
    });
  }

  /** Shows the samples of `runs` (the visible ones), or of the one the filter chose. */
  render(runs: RunSeries[]): void {
    this.shown = runs;
    const state = this.state;
    const visible = runs.filter((r) => r.samples.length);
    if (state.sampleRun && !visible.some((r) => r.id === state.sampleRun)) state.sampleRun = '';
    const chosen = visible.filter((r) => !state.sampleRun || r.id === state.sampleRun);
    const drawn = JSON.stringify([
      visible.map((r) => [r.id, r.samples.length, r.samples.at(-1)?.iter]),
      state.sampleRun,
    ]);
    if (drawn === this.drawn) return;
    this.drawn = drawn;
    this.section.hidden = visible.length === 0;
    this.runFilter.replaceChildren(
      el('option', { value: '', selected: state.sampleRun === '' }, 'All runs'),
      ...visible.map((r) => el('option', { value: r.id, selected: state.sampleRun === r.id }, r.name)),
    );
    const entries = chosen.flatMap((run) => run.samples.map((sample) => ({ run, sample })));
    entries.sort((a, b) => b.sample.iter - a.sample.iter);
    this.list.replaceChildren(
      ...entries.map(({ run, sample }) => {
        const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
        swatch.style.backgroundColor = this.color(run.id);
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

  /** Draws again on the next render: the theme changed the swatches' colours. */
  invalidate(): void {
    this.drawn = '';
  }
}
