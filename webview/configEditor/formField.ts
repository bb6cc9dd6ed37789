// One field of the config editor's form: its control (checkbox, select or text field), label,
// badge, Reset button, helper text (description, default, constraints) and error line.
import { el } from '../common';
import type { SchemaNode } from '../../src/core/webview/protocol';
import { displayValue, fieldKind, type FieldKind } from './fields';

export interface Field {
  group: string;
  key: string;
  spec: SchemaNode;
  kind: FieldKind;
  control: HTMLElement & { value?: string; checked?: boolean; invalid?: boolean; disabled?: boolean };
  error: HTMLElement;
  badge: HTMLElement;
  reset: HTMLButtonElement;
  /** A value typed here that fails to parse (kept until fixed; never sent). */
  localError?: string;
  timer?: ReturnType<typeof setTimeout>;
}

/** The field's parts and its form group (the caller wires the events). */
export function createField(group: string, key: string, spec: SchemaNode): { field: Field; element: HTMLElement } {
  const kind = fieldKind(spec);
  const id = `f-${group}-${key.replace('.', '-')}`;
  let control: Field['control'];
  if (kind === 'boolean') {
    control = el('vscode-checkbox', { id, label: key });
  } else if (kind === 'enum') {
    control = el('vscode-single-select', { id });
    for (const option of spec.enum ?? [])
      control.append(el('vscode-option', { value: String(option) }, String(option)));
  } else {
    control = el('vscode-textfield', {
      id,
      placeholder: displayValue(spec.default, spec),
      inputmode: kind === 'string' || kind === 'list' ? undefined : 'decimal',
      spellcheck: 'false',
    });
  }
  control.setAttribute('data-key', `${group}.${key}`);
  const error = el('div', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const badge = el('span', { class: 'badge' });
  const reset = el(
    'button',
    { type: 'button', class: 'reset link', hidden: true, 'aria-label': `Reset ${group}.${key} to its default` },
    'Reset',
  );
  const field: Field = { group, key, spec, kind, control, error, badge, reset };

  const constraints = constraintText(spec);
  const helper = el(
    'vscode-form-helper',
    {},
    el('p', {}, spec.description ?? ''),
    el(
      'p',
      { class: 'default' },
      `Default: ${displayValue(spec.default, spec) || '""'}${constraints ? ` · ${constraints}` : ''}`,
    ),
  );
  const label = el('vscode-label', { for: id }, key);
  const labelRow = el('div', { class: 'label-row' }, label, badge, reset);
  if (kind === 'boolean') {
    // the checkbox carries its own label; the row still names the key for sighted users
    const element = el(
      'vscode-form-group',
      { variant: 'vertical', 'data-field': `${group}.${key}` },
      el('div', { class: 'label-row' }, control, badge, reset),
      helper,
      error,
    );
    return { field, element };
  }
  const element = el(
    'vscode-form-group',
    { variant: 'vertical', 'data-field': `${group}.${key}` },
    labelRow,
    control,
    helper,
    error,
  );
  return { field, element };
}

function constraintText(spec: SchemaNode): string {
  const parts: string[] = [];
  if (spec.minimum !== undefined) parts.push(`≥ ${spec.minimum}`);
  if (spec.exclusiveMinimum !== undefined) parts.push(`> ${spec.exclusiveMinimum}`);
  if (spec.maximum !== undefined) parts.push(`≤ ${spec.maximum}`);
  if (spec.exclusiveMaximum !== undefined) parts.push(`< ${spec.exclusiveMaximum}`);
  if (spec.examples?.length) parts.push(`e.g. ${spec.examples.join(', ')}`);
  return parts.join(', ');
}
