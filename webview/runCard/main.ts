// The run card: two runs side by side, as src/core/run/runCard.ts words them. The config as a
// diff (differing keys first and marked, the same ones folded in a <details>), the dataset (with
// whether both are the same text), the environment and the results. Layout only: the host sends
// the card once it has read both folders, and again if the panel reloads.
import '../common.css';
import './style.css';
import { el, onHostMessage, vscodeApi } from '../common';
import type { RunCard, RunCardRow, RunCardToHost } from '../../src/core/webview/protocol';

const vscode = vscodeApi<unknown>();
const post = (message: RunCardToHost) => vscode.postMessage(message);
const app = document.getElementById('app')!;

/** A table of rows: label, run a, run b; a differing row is marked in words as well as colour. */
function table(caption: string, names: [string, string], rows: RunCardRow[], markDiffs: boolean): HTMLTableElement {
  return el(
    'table',
    {},
    el('caption', { class: 'visually-hidden' }, caption),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, ''),
        el('th', { scope: 'col' }, names[0]),
        el('th', { scope: 'col' }, names[1]),
      ),
    ),
    el(
      'tbody',
      {},
      ...rows.map((r) => {
        const differs = markDiffs && !r.same;
        const label = el('th', { scope: 'row' }, r.label);
        if (differs) label.append(el('span', { class: 'badge' }, 'differs'));
        return el(
          'tr',
          { class: differs ? 'differs' : undefined, 'data-key': r.label },
          label,
          el('td', {}, r.a),
          el('td', {}, r.b),
        );
      }),
    ),
  );
}

function section(id: string, title: string, ...content: (Node | string)[]): HTMLElement {
  return el('section', { id, 'aria-labelledby': `${id}-title` }, el('h2', { id: `${id}-title` }, title), ...content);
}

function render(card: RunCard): void {
  const differing = card.config.filter((r) => !r.same);
  const same = card.config.filter((r) => r.same);
  const configBody: (Node | string)[] = [
    differing.length
      ? table(`Config keys that differ between ${card.names[0]} and ${card.names[1]}`, card.names, differing, true)
      : el('p', { class: 'muted' }, 'The configs are the same.'),
  ];
  if (same.length) {
    configBody.push(
      el(
        'details',
        { class: 'same-keys' },
        el('summary', {}, `${same.length} keys the same`),
        table('Config keys both runs share', card.names, same, false),
      ),
    );
  }
  const datasetVerdict =
    card.sameDataset === null
      ? el('p', { class: 'verdict warning' }, 'Unknown: a dataset has no meta.json (moved or deleted).')
      : el(
          'p',
          { class: `verdict ${card.sameDataset ? 'same' : 'different'}` },
          card.sameDataset ? 'Same dataset (sha256, tokenizer and vocabulary).' : 'Different datasets.',
        );
  app.replaceChildren(
    el('header', { class: 'toolbar' }, el('h1', {}, `${card.names[0]} vs ${card.names[1]}`)),
    el('p', { class: 'muted dirs' }, `${card.dirs[0]} · ${card.dirs[1]}`),
    section('results', 'Results', table('Results', card.names, card.results, false)),
    section(
      'config',
      `Config: ${differing.length} ${differing.length === 1 ? 'key differs' : 'keys differ'}`,
      ...configBody,
    ),
    section('dataset', 'Dataset', datasetVerdict, table('Dataset', card.names, card.dataset, true)),
    section('environment', 'Environment', table('Environment', card.names, card.environment, true)),
  );
  app.removeAttribute('aria-busy');
}

onHostMessage((message) => {
  if (message.type === 'runCard/show') render(message.card);
});
post({ type: 'ready' });
