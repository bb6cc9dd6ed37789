// The layering of the TypeScript side is written once, as the table "Allowed imports" →
// "TypeScript" in ARCHITECTURE.md; these tests read that table and hold the code to it: every
// import of a source file from another folder is in its folder's row, the folders and the files
// import each other without a cycle, nothing in src/core or webview/ imports the editor's API, and
// every source file is named on that page.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';

const architecture = fs.readFileSync(path.join(packageRoot, 'ARCHITECTURE.md'), 'utf8');
/** The folders whose code the table governs; their source files are .ts and .mjs. */
const TREES = ['src', 'webview', 'bench', 'scripts'];
const isSource = (file: string) => /\.(ts|mjs)$/.test(file);

const rel = (file: string) => path.relative(packageRoot, file).split(path.sep).join('/');
const folderOf = (relFile: string) => path.posix.dirname(relFile);

/** The table's rows: folder → what it may import (folders, and `vscode`). */
function allowedImports(): Map<string, Set<string>> {
  const section = architecture.split(/^### TypeScript$/m)[1]?.split(/^#/m)[0];
  assert.ok(section, 'ARCHITECTURE.md has no "### TypeScript" section under "## Allowed imports"');
  const rows = new Map<string, Set<string>>();
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const [folderCell, importsCell] = line.split('|').slice(1, 3);
    const folder = /`([^`]+)`/.exec(folderCell)![1];
    assert.ok(!rows.has(folder), `ARCHITECTURE.md's TypeScript table has two rows for ${folder}`);
    rows.set(folder, new Set([...importsCell.matchAll(/`([^`]+)`/g)].map((m) => m[1])));
  }
  return rows;
}

const sources = TREES.flatMap((tree) =>
  fs
    .readdirSync(path.join(packageRoot, tree), { recursive: true, encoding: 'utf8' })
    .filter(isSource)
    .map((f) => path.join(packageRoot, tree, f)),
);

/** The module specifiers a file imports (static, dynamic and type-only alike). */
function specifiers(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

/** The source file a relative specifier names, or undefined for data (JSON) and styles. */
function resolveSource(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (isSource(candidate) && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

interface Import {
  file: string;
  /** A source file (relative to the package root), or 'vscode'. */
  target: string;
}

const imports: Import[] = sources.flatMap((file) =>
  specifiers(file).flatMap((spec): Import[] => {
    if (spec === 'vscode') return [{ file: rel(file), target: 'vscode' }];
    const target = spec.startsWith('.') ? resolveSource(file, spec) : undefined;
    return target ? [{ file: rel(file), target: rel(target) }] : [];
  }),
);
const targetFolder = (i: Import) => (i.target === 'vscode' ? 'vscode' : folderOf(i.target));

test('the table names every folder once, and only folders that exist', () => {
  const rows = allowedImports();
  const folders = new Set(sources.map((f) => folderOf(rel(f))));
  assert.deepEqual(
    [...folders].filter((f) => !rows.has(f)).sort(),
    [],
    'folders with source files but no row in ARCHITECTURE.md',
  );
  const named = [...rows.keys(), ...[...rows.values()].flatMap((s) => [...s])].filter((f) => f !== 'vscode');
  assert.deepEqual(
    [
      ...new Set(
        named.filter((f) => !fs.statSync(path.join(packageRoot, f), { throwIfNoEntry: false })?.isDirectory()),
      ),
    ],
    [],
    'the table names folders that do not exist',
  );
});

test('every import from another folder is allowed by the table', () => {
  const rows = allowedImports();
  const problems = imports
    .filter((i) => targetFolder(i) !== folderOf(i.file) && !rows.get(folderOf(i.file))?.has(targetFolder(i)))
    .map(
      (i) =>
        `${i.file} imports ${i.target}: ${folderOf(i.file)} may not import ${targetFolder(i)} (ARCHITECTURE.md, "Allowed imports")`,
    );
  assert.deepEqual(problems, []);
});

test('nothing in src/core or webview/ imports vscode, nor may it', () => {
  const rows = allowedImports();
  const editorFree = (folder: string) =>
    folder.startsWith('src/core/') || folder === 'webview' || folder.startsWith('webview/');
  assert.deepEqual(
    [...rows].filter(([folder, allowed]) => editorFree(folder) && allowed.has('vscode')).map(([folder]) => folder),
    [],
  );
  assert.deepEqual(
    imports.filter((i) => i.target === 'vscode' && editorFree(folderOf(i.file))).map((i) => i.file),
    [],
  );
});

/** Each cycle in a graph, as "a → b → a". */
function cycles(edges: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  const done = new Set<string>();
  const visit = (node: string, trail: string[]) => {
    if (trail.includes(node)) return void found.push([...trail.slice(trail.indexOf(node)), node].join(' → '));
    if (done.has(node)) return;
    for (const next of edges.get(node) ?? []) visit(next, [...trail, node]);
    done.add(node);
  };
  for (const node of edges.keys()) visit(node, []);
  return found;
}

const graph = (pairs: [string, string][]) => {
  const edges = new Map<string, Set<string>>();
  for (const [from, to] of pairs) if (from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
  return edges;
};

test('the folders import each other without a cycle', () => {
  const local = imports.filter((i) => i.target !== 'vscode');
  assert.deepEqual(cycles(graph(local.map((i) => [folderOf(i.file), folderOf(i.target)]))), []);
});

test('the files import each other without a cycle', () => {
  const local = imports.filter((i) => i.target !== 'vscode');
  assert.deepEqual(cycles(graph(local.map((i) => [i.file, i.target]))), []);
});

test('ARCHITECTURE.md names every source file of src/, webview/ and bench/', () => {
  const unnamed = sources
    .map(rel)
    .filter((f) => /^(src|webview|bench)\//.test(f))
    .filter((f) => {
      const name = path.posix.basename(f).replace(/[.]/g, '\\.');
      return !architecture.includes(f) && !new RegExp(`(^|[^\\w.-])${name}([^\\w-]|$)`).test(architecture);
    });
  assert.deepEqual(unnamed, []);
});
