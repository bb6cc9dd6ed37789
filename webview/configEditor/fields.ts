// The form's view of the schema: which control each field gets, how typed text becomes a value,
// and the field-level checks (type, range, enum, pattern) that run as you type. The host's ajv
// validation stays the authority; these only make errors appear without a round trip.
import type { FieldValue, SchemaNode } from '../../src/core/webview/protocol';

export type FieldKind = 'boolean' | 'enum' | 'integer' | 'number' | 'string' | 'list';

const types = (spec: SchemaNode): string[] => (Array.isArray(spec.type) ? spec.type : spec.type ? [spec.type] : []);

export function fieldKind(spec: SchemaNode): FieldKind {
  const t = types(spec);
  if (t.includes('array')) return 'list';
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

/** A group's fields in schema order: its keys, and a group within it (train.lora) as one field
 *  per key of its own, named sub.key (lora.rank). */
export function fieldsOf(group: SchemaNode): [string, SchemaNode][] {
  return Object.entries(group.properties ?? {}).flatMap(([key, spec]): [string, SchemaNode][] =>
    types(spec).includes('object')
      ? Object.entries(spec.properties ?? {}).map(([sub, s]): [string, SchemaNode] => [`${key}.${sub}`, s])
      : [[key, spec]],
  );
}

/** The value at a dotted key (lora.rank) of an object, undefined where there is none. */
export function valueAt(object: unknown, key: string): unknown {
  let value = object;
  for (const name of key.split('.')) {
    if (!value || typeof value !== 'object' || Array.isArray(value) || !(name in value)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

/** Whether two field values are the same (a list by its words). */
export const sameValue = (a: unknown, b: unknown): boolean =>
  a === b || (Array.isArray(a) && Array.isArray(b) && JSON.stringify(a) === JSON.stringify(b));

/** A value as the form shows it (numbers as JavaScript writes them: 0.0006, 6e-7; a list as
 *  its words, comma-separated). */
export function displayValue(value: unknown, _spec?: SchemaNode): string {
  if (value === null || value === undefined) return value === null ? 'null' : '';
  return Array.isArray(value) ? value.join(', ') : String(value);
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
  } else if (kind === 'list') {
    value = text.split(',').map((word) => word.trim());
  } else {
    value = raw;
  }
  return { value, problem: valueProblem(spec, value) };
}

/** What is wrong with a value of the document for this field, or undefined. */
export function valueProblem(spec: SchemaNode, value: unknown): string | undefined {
  const t = types(spec);
  if (value === null) return t.includes('null') ? undefined : 'must not be null';
  if (fieldKind(spec) === 'list') return listProblem(spec, value);
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

function listProblem(spec: SchemaNode, value: unknown): string | undefined {
  if (!Array.isArray(value) || !value.every((w) => typeof w === 'string')) return 'must be a list of words';
  if (spec.minItems !== undefined && value.length < spec.minItems)
    return `must name at least ${spec.minItems} (one of ${spec.items?.enum?.join(', ')})`;
  const unknown = value.find((w) => spec.items?.enum && !spec.items.enum.includes(w));
  if (unknown !== undefined) return `"${unknown}" is not one of ${spec.items?.enum?.join(', ')}`;
  if (spec.uniqueItems && new Set(value).size < value.length) return 'names one twice';
  return undefined;
}
