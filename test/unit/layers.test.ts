// The layout of src/core is its design: one folder a stage (prepare, train, run, complete, and
// cluster: a run as a batch job) over two shared layers (common, and webview: the host↔webview
// protocol). These tests keep it so: nothing in src/core reaches the editor's API or a folder
// above it, and the folders never import each other in a circle.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';

const core = path.join(packageRoot, 'src', 'core');
const modules = fs
  .readdirSync(core, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(core, f));

/** The module specifiers a file imports (static, dynamic and type-only alike). */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

const folderOf = (file: string) => path.relative(core, file).split(path.sep)[0];

test('src/core imports neither vscode nor anything outside it but the schemas', () => {
  const problems: string[] = [];
  for (const file of modules) {
    for (const spec of imports(file)) {
      const target = spec.startsWith('.') ? path.resolve(path.dirname(file), spec) : undefined;
      const outside = target !== undefined && !target.startsWith(core + path.sep) && !target.startsWith(path.join(packageRoot, 'schemas') + path.sep);
      if (spec === 'vscode' || outside) problems.push(`${path.relative(packageRoot, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the stage folders of src/core import each other without a cycle', () => {
  const edges = new Map<string, Set<string>>();
  for (const file of modules) {
    for (const spec of imports(file).filter((s) => s.startsWith('.'))) {
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(core + path.sep)) continue;
      const [from, to] = [folderOf(file), folderOf(target)];
      if (from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  const cycles: string[] = [];
  const visit = (folder: string, trail: string[]) => {
    if (trail.includes(folder)) return void cycles.push([...trail.slice(trail.indexOf(folder)), folder].join(' → '));
    for (const next of edges.get(folder) ?? []) visit(next, [...trail, folder]);
  };
  for (const folder of edges.keys()) visit(folder, []);
  assert.deepEqual(cycles, []);
  assert.deepEqual([...fs.readdirSync(core)].sort(), ['cluster', 'common', 'complete', 'prepare', 'run', 'train', 'webview']);
});
