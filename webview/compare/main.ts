// The Compare Completions panel: one column per model, each labelled with its run, iteration
// and val loss, showing the text that model continued the prompt with (same seed and
// settings for all); an Insert button per column asks the host to put that text after the
// prompt in the document. The host sends the whole state on every change; this page only
// renders it, and posts nothing but `ready` and `compare/insert`.
import '../common.css';
import './style.css';
import { el, onHostMessage, vscodeApi } from '../common';
import type { CompareColumn, CompareStateMessage, CompareToHost } from '../../src/core/webview/protocol';

const vscode = vscodeApi<unknown>();
const post = (message: CompareToHost) => vscode.postMessage(message);
const app = document.getElementById('app')!;

const STATE_WORDS: Record<CompareColumn['state'], string> = {
  waiting: 'waiting',
  generating: 'generating…',
  done: '',
  failed: 'failed',
  stopped: 'stopped',
};

function column(c: CompareColumn, index: number): HTMLElement {
  const headingId = `column-${index}`;
  const insert = el(
    'button',
    { type: 'button', class: 'insert', 'aria-describedby': headingId, disabled: c.state !== 'done' || !c.text },
    'Insert',
  );
  insert.addEventListener('click', () => post({ type: 'compare/insert', column: index }));
  const status = STATE_WORDS[c.state];
  return el(
    'section',
    { class: 'column', 'aria-labelledby': headingId, 'data-state': c.state },
    el('h2', { id: headingId }, c.label),
    el('p', { class: 'muted dir' }, c.dir),
    el('pre', { class: 'text', tabindex: 0, 'aria-label': `Text of ${c.label}` }, c.text),
    status
      ? el(
          'p',
          { class: c.state === 'failed' ? 'warning' : 'muted', role: 'status' },
          c.error ? `${status}: ${c.error}` : status,
        )
      : '',
    el('div', { class: 'actions' }, insert),
  );
}

function render(m: CompareStateMessage): void {
  // keep the focus on the same Insert button across re-renders
  const focused =
    document.activeElement instanceof HTMLElement
      ? [...app.querySelectorAll('button.insert')].indexOf(document.activeElement)
      : -1;
  app.replaceChildren(
    el(
      'header',
      { class: 'toolbar' },
      el('h1', {}, `Compare completions · ${m.document}`),
      el('span', { class: 'muted' }, m.settings),
    ),
    el('p', { class: 'prompt-label muted' }, 'Prompt'),
    el('pre', { class: 'prompt' }, m.prompt),
    el('div', { class: 'columns' }, ...m.columns.map(column)),
  );
  app.setAttribute('aria-busy', String(m.columns.some((c) => c.state === 'waiting' || c.state === 'generating')));
  if (focused >= 0) (app.querySelectorAll('button.insert')[focused] as HTMLElement | undefined)?.focus();
}

onHostMessage((message) => {
  if (message.type === 'compare/state') render(message);
});
post({ type: 'ready' });
