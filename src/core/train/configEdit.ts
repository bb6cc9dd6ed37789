// Minimal text edits to a config document for one form edit, keeping the file's formatting,
// indentation and key order (jsonc-parser's modify: what VS Code's settings editor uses).
import { applyEdits, modify, parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

export interface TextEdit {
  offset: number;
  length: number;
  content: string;
}

/** The indentation the document already uses (two spaces when it cannot tell). */
export function detectIndent(text: string): { insertSpaces: boolean; tabSize: number } {
  const line = text.split('\n').find((l) => /^[ \t]+\S/.test(l));
  if (!line) return { insertSpaces: true, tabSize: 2 };
  if (line.startsWith('\t')) return { insertSpaces: false, tabSize: 1 };
  return { insertSpaces: true, tabSize: line.length - line.trimStart().length };
}

/** Why the text is not a JSON object (undefined when it is, or is empty). */
export function configTextProblem(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length) return `${printParseErrorCode(errors[0].error)} at offset ${errors[0].offset}`;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'the file must hold a JSON object';
  return undefined;
}

/** Edits setting group.key (or group.sub.key) to value, or removing it when value is undefined. */
export function editConfigText(text: string, path: string[], value: unknown): TextEdit[] {
  const base = text.trim() === '' ? '{}' : text;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const edits = modify(base, path, value, { formattingOptions: { ...detectIndent(text), eol } });
  if (base === text) return edits;
  // an empty document: replace it whole
  return [{ offset: 0, length: text.length, content: applyEdits(base, edits) + eol }];
}
