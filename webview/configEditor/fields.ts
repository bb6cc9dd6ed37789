// The form's view of the schema: which control each field gets, how typed text becomes a value,
// and the field-level checks (type, range, enum, pattern) that run as you type. The host's ajv
// validation stays the authority; these only make errors appear without a round trip.
import type { FieldValue, SchemaNode } from '../../src/core/webview/protocol';

export type FieldKind = 'boolean' | 'enum' | 'integer' | 'number' | 'string';

const types = (spec: SchemaNode): string[] => (Array.isArray(spec.type) ? spec.type : spec.type ? [spec.type] : []);

export function fieldKind(spec: SchemaNode): FieldKind {
  const t = types(spec);
  if (spec.enum) return 'enum';
  if (t.includes('boolean')) return 'boolean';
  if (t.includes('integer')) return 'integer';
  if (t.includes('number')) return 'number';
  return 'string';
}

/** The groups (object-typed top-level properties) in schema order. */
export function groupsOf(schema: SchemaNode): [string, SchemaNode][] {
  return Object.entries(schema.properties ?? {}).filter(([, s]) => types(s).includes('object'));
}

/** A value as the form shows it (numbers as JavaScript writes them: 0.0006, 6e-7). */
export function displayValue(value: unknown, _spec?: SchemaNode): string {
  if (value === null || value === undefined) return value === null ? 'null' : '';
  return String(value);
}

/** Typed text to a value: a parse error when it cannot be one, else the value and any problem. */
export function checkField(
  spec: SchemaNode,
  raw: string,
): { value?: FieldValue; parseError?: string; problem?: string } {
  const kind = fieldKind(spec);
  const text = raw.trim();
  const nullable = types(spec).includes('null');
  if (nullable && text === 'null') return { value: null };
  let value: FieldValue;
  if (kind === 'integer') {
    if (!/^[+-]?\d+$/.test(text))
      return { parseError: `must be a whole number${nullable ? ' (or empty for null)' : ''}` };
    value = Number(text);
  } else if (kind === 'number') {
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) return { parseError: 'must be a number, e.g. 0.0006 or 6e-4' };
    value = n;
  } else if (kind === 'boolean') {
    if (text !== 'true' && text !== 'false') return { parseError: 'must be true or false' };
    value = text === 'true';
  } else {
    value = raw;
  }
  return { value, problem: valueProblem(spec, value) };
}

/** What is wrong with a value of the document for this field, or undefined. */
export function valueProblem(spec: SchemaNode, value: unknown): string | undefined {
  const t = types(spec);
  if (value === null) return t.includes('null') ? undefined : 'must not be null';
  if (spec.enum) return spec.enum.includes(value) ? undefined : `must be one of ${spec.enum.join(', ')}`;
  const kind = fieldKind(spec);
  if (kind === 'boolean') return typeof value === 'boolean' ? undefined : 'must be true or false';
  if (kind === 'integer' || kind === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value))
      return `must be a ${kind === 'integer' ? 'whole number' : 'number'}`;
    if (kind === 'integer' && !Number.isInteger(value)) return 'must be a whole number';
    if (spec.minimum !== undefined && value < spec.minimum) return `must be at least ${spec.minimum}`;
    if (spec.exclusiveMinimum !== undefined && value <= spec.exclusiveMinimum)
      return `must be greater than ${spec.exclusiveMinimum}`;
    if (spec.maximum !== undefined && value > spec.maximum) return `must be at most ${spec.maximum}`;
    if (spec.exclusiveMaximum !== undefined && value >= spec.exclusiveMaximum)
      return `must be less than ${spec.exclusiveMaximum}`;
    return undefined;
  }
  if (typeof value !== 'string') return 'must be text';
  if (spec.minLength !== undefined && value.length < spec.minLength)
    return spec.minLength === 1 ? 'must not be empty' : `must have at least ${spec.minLength} characters`;
  if (spec.pattern !== undefined && !new RegExp(spec.pattern).test(value)) return `must match ${spec.pattern}`;
  return undefined;
}
