// The config editor: a form generated from schemas/run-config.schema.json (sent by the host),
// kept in two-way sync with the *.wordplay.json document. The document is the truth: every edit
// here is sent to the host as a document edit (so undo, redo and the dirty state work as in any
// editor) and every document change comes back and refreshes the form. Field checks run here
// as you type; the host adds ajv's and the semantic problems (n_embd % n_head ...).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-form-group/index.js';
import '@vscode-elements/elements/dist/vscode-form-helper/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '../common.css';
import './style.css';
import type { EstimateInput } from '../../src/core/train/estimate';
import { el, onHostMessage, vscodeApi } from '../common';
import type {
  ConfigEditorState,
  ConfigEditorToHost,
  ConfigInitMessage,
  DeviceInfo,
  FieldValue,
  Problem,
  SchemaNode,
} from '../../src/core/webview/protocol';
import { checkField, displayValue, fieldsOf, groupsOf, sameValue, valueAt, valueProblem } from './fields';
import { figureNodes } from './figures';
import { createField, type Field } from './formField';

const vscode = vscodeApi<ConfigEditorState>();
const post = (message: ConfigEditorToHost) => vscode.postMessage(message);
const state: ConfigEditorState = vscode.getState() ?? { collapsed: [], scrollY: 0 };

let schema: SchemaNode;
let device: DeviceInfo;
let vocab = { size: 65, source: '' };
let fileName = '';
let docVersion = -1;
/** The document's config as parsed (undefined while the text is not valid JSON). */
let doc: Record<string, Record<string, unknown>> | undefined;
let parseError: string | undefined;
let hostProblems: Problem[] = [];
const fields = new Map<string, Field>();
/** Values being typed, not yet in the document: they drive the estimates immediately. */
const pending = new Map<string, FieldValue | undefined>();

const app = document.getElementById('app')!;

onHostMessage((message) => {
  if (message.type === 'config/init') init(message);
  else if (message.type === 'config/document') update(message.text, message.version, message.problems, message.vocab);
});
post({ type: 'ready' });

function init(message: ConfigInitMessage): void {
  schema = message.schema;
  device = message.device;
  fileName = message.fileName;
  build();
  docVersion = -1;
  update(message.text, message.version, message.problems, message.vocab);
  window.scrollTo(0, state.scrollY);
}

// ---------------------------------------------------------------- building the form

let trainButton: HTMLElement & { disabled?: boolean };
let banner: HTMLElement;
let problemList: HTMLElement;
let figuresBody: HTMLElement;
let summary: HTMLElement;

function build(): void {
  fields.clear();
  trainButton = el(
    'vscode-button',
    { id: 'train', title: 'Save the file and train a model with this configuration' },
    'Train',
  );
  trainButton.addEventListener('click', () => post({ type: 'config/train' }));
  const openText = el(
    'vscode-button',
    { id: 'open-text', secondary: true, title: 'Open this file in the text editor' },
    'Open as Text',
  );
  openText.addEventListener('click', () => post({ type: 'config/openText' }));
  summary = el('span', { class: 'summary', role: 'status' });
  const header = el(
    'header',
    { class: 'toolbar' },
    el('h1', {}, fileName),
    summary,
    el('span', { class: 'spacer' }),
    openText,
    trainButton,
  );

  banner = el('div', { class: 'banner', role: 'alert', hidden: true });
  problemList = el('ul', { class: 'problems', 'aria-label': 'Problems in the whole file' });

  figuresBody = el('div', { class: 'figures-body' });
  const figures = el(
    'section',
    { class: 'figures', 'aria-labelledby': 'figures-heading' },
    el('h2', { id: 'figures-heading' }, 'Estimates'),
    figuresBody,
  );

  const form = el('form', { class: 'groups', 'aria-label': 'Run configuration', novalidate: true });
  form.addEventListener('submit', (e) => e.preventDefault());
  for (const [group, groupSpec] of groupsOf(schema)) {
    const collapsible = el('vscode-collapsible', {
      heading: groupSpec.title ?? group,
      description: group,
      open: !state.collapsed.includes(group),
      'data-group': group,
    });
    collapsible.addEventListener('vsc-collapsible-toggle', () => {
      const open = (collapsible as HTMLElement & { open: boolean }).open;
      state.collapsed = open ? state.collapsed.filter((g) => g !== group) : [...new Set([...state.collapsed, group])];
      vscode.setState(state);
    });
    const body = el('div', { class: 'group-body' });
    if (groupSpec.description) body.append(el('p', { class: 'group-description' }, groupSpec.description));
    for (const [key, spec] of fieldsOf(groupSpec)) body.append(buildField(group, key, spec));
    collapsible.append(body);
    form.append(collapsible);
  }

  app.replaceChildren(header, banner, problemList, el('div', { class: 'layout' }, form, figures));
  app.removeAttribute('aria-busy');
  window.addEventListener(
    'scroll',
    () => {
      state.scrollY = window.scrollY;
      vscode.setState(state);
    },
    { passive: true },
  );
}

function buildField(group: string, key: string, spec: SchemaNode): HTMLElement {
  const { field, element } = createField(group, key, spec);
  const { kind, control, reset } = field;
  fields.set(`${group}.${key}`, field);

  reset.addEventListener('click', () => {
    pending.set(`${group}.${key}`, undefined);
    field.localError = undefined;
    post({ type: 'config/reset', path: [group, ...key.split('.')] });
    refreshFigures();
  });
  if (kind === 'boolean') {
    control.addEventListener('change', () => commit(field, Boolean(control.checked), true));
  } else if (kind === 'enum') {
    control.addEventListener('change', () => commit(field, control.value ?? '', true));
  } else {
    control.addEventListener('input', () => onTyped(field));
    control.addEventListener('change', () => onTyped(field, true));
  }
  return element;
}

// ---------------------------------------------------------------- edits

function onTyped(field: Field, immediate = false): void {
  const raw = field.control.value ?? '';
  const path = `${field.group}.${field.key}`;
  if (raw.trim() === '') {
    field.localError = undefined;
    pending.set(path, undefined);
    schedule(field, () => post({ type: 'config/reset', path: pathOf(field) }), immediate);
  } else {
    const checked = checkField(field.spec, raw);
    field.localError = checked.parseError;
    if (checked.parseError === undefined) {
      pending.set(path, checked.value);
      const value = checked.value as FieldValue;
      schedule(field, () => post({ type: 'config/edit', path: pathOf(field), value }), immediate);
    } else {
      clearTimeout(field.timer);
    }
  }
  renderField(field);
  renderBanner();
  refreshFigures();
}

function commit(field: Field, value: FieldValue, immediate: boolean): void {
  pending.set(`${field.group}.${field.key}`, value);
  schedule(field, () => post({ type: 'config/edit', path: pathOf(field), value }), immediate);
  renderField(field);
  refreshFigures();
}

/** The field's place in the document: [group, key], or [group, sub, key] for sub.key. */
const pathOf = (field: Field) => [field.group, ...field.key.split('.')];

/** Typing is sent after a pause (one undo step per burst of typing); choices at once. */
function schedule(field: Field, send: () => void, immediate: boolean): void {
  clearTimeout(field.timer);
  if (immediate) send();
  else field.timer = setTimeout(send, 350);
}

// ---------------------------------------------------------------- document updates

function update(text: string, version: number, problems: Problem[], newVocab: { size: number; source: string }): void {
  if (!schema || version < docVersion) return;
  docVersion = version;
  hostProblems = problems;
  vocab = newVocab;
  try {
    const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('the file must hold a JSON object');
    doc = parsed as Record<string, Record<string, unknown>>;
    parseError = undefined;
  } catch (err) {
    doc = undefined;
    parseError = (err as Error).message;
  }
  // what the document now says replaces what was pending for it
  for (const [path, value] of [...pending]) {
    const [g, ...k] = path.split('.');
    if (sameValue(docValue(g, k.join('.')), value)) pending.delete(path);
  }
  for (const field of fields.values()) {
    const focused = document.activeElement === field.control;
    const path = `${field.group}.${field.key}`;
    // never rewrite what the user is typing unless the document says something else
    if (!(focused && (field.localError !== undefined || pending.has(path) || sameAsTyped(field)))) setControl(field);
    renderField(field);
  }
  renderBanner();
  refreshFigures();
}

function docValue(group: string, key: string): unknown {
  return valueAt(doc, `${group}.${key}`);
}

function hasDocValue(group: string, key: string): boolean {
  return docValue(group, key) !== undefined;
}

function sameAsTyped(field: Field): boolean {
  const checked = checkField(field.spec, field.control.value ?? '');
  return checked.parseError === undefined && sameValue(checked.value, docValue(field.group, field.key));
}

function setControl(field: Field): void {
  const present = hasDocValue(field.group, field.key);
  const value = present ? docValue(field.group, field.key) : field.spec.default;
  field.localError = undefined;
  if (field.kind === 'boolean') field.control.checked = value === true;
  else if (field.kind === 'enum') field.control.value = String(value ?? '');
  else field.control.value = present ? displayValue(value, field.spec) : '';
  field.control.disabled = doc === undefined;
}

function renderField(field: Field): void {
  const path = `${field.group}.${field.key}`;
  const present = pending.has(path) ? pending.get(path) !== undefined : hasDocValue(field.group, field.key);
  field.badge.textContent = present ? 'set' : 'default';
  field.badge.className = present ? 'badge set' : 'badge';
  field.reset.hidden = !present || doc === undefined;
  let message = field.localError;
  if (message === undefined) {
    const value = pending.has(path) ? pending.get(path) : docValue(field.group, field.key);
    if (value !== undefined) message = valueProblem(field.spec, value);
  }
  const host = hostProblems.filter((p) => p.key === path).map((p) => p.message);
  const messages = [...new Set([message, ...host].filter((m): m is string => !!m))];
  field.error.textContent = messages.join('; ');
  field.control.invalid = messages.length > 0;
  if (messages.length) field.control.setAttribute('aria-invalid', 'true');
  else field.control.removeAttribute('aria-invalid');
}

function renderBanner(): void {
  const elsewhere = hostProblems.filter((p) => !fields.has(p.key));
  banner.hidden = parseError === undefined;
  banner.textContent =
    parseError === undefined
      ? ''
      : `The file is not valid JSON (${parseError}). Fix it in the text editor; the form follows.`;
  problemList.replaceChildren(...elsewhere.map((p) => el('li', {}, el('code', {}, p.key), `: ${p.message}`)));
  problemList.hidden = elsewhere.length === 0;
  const count =
    elsewhere.length + (parseError ? 1 : 0) + [...fields.values()].filter((f) => f.error.textContent).length;
  summary.textContent = count ? `${count} problem${count === 1 ? '' : 's'}` : 'valid';
  summary.className = count ? 'summary bad' : 'summary ok';
  trainButton.disabled = count > 0;
}

// ---------------------------------------------------------------- estimates

/** The effective config: document values over schema defaults, with what is being typed on top. */
function effectiveConfig(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [group, groupSpec] of groupsOf(schema)) {
    out[group] = {};
    for (const [key, spec] of fieldsOf(groupSpec)) {
      const path = `${group}.${key}`;
      const value = pending.has(path)
        ? (pending.get(path) ?? spec.default)
        : hasDocValue(group, key)
          ? docValue(group, key)
          : spec.default;
      const [name, sub] = key.split('.');
      if (sub === undefined) out[group][name] = value;
      else out[group][name] = { ...(out[group][name] as object), [sub]: value };
    }
  }
  return out;
}

function refreshFigures(): void {
  if (!figuresBody) return;
  const config = effectiveConfig();
  const bad = [...fields.values()].some((f) => {
    if (f.localError) return true;
    const v = valueAt(config[f.group], f.key);
    return valueProblem(f.spec, v) !== undefined;
  });
  const m = config.model as EstimateInput['model'];
  if (doc === undefined || bad || m.n_embd % m.n_head !== 0) {
    figuresBody.replaceChildren(el('p', { class: 'muted' }, 'Fix the problems to see the estimates.'));
    return;
  }
  figuresBody.replaceChildren(...figureNodes(config, vocab, device));
}
