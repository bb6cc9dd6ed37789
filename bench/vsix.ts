// The size of the VSIX for each platform, as `npm run package` builds it into out/ (only this
// run's files count, not older ones lying there).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../src/core/common/paths';
import { fixed, type Benchmark } from './benchmark';
import { runCommand } from './spawn';

async function vsixSizes(): Promise<{ version: string; bytes: Record<string, number> }> {
  const started = Date.now();
  const { code } = await runCommand(process.execPath, ['scripts/package.mjs']);
  if (code !== 0) throw new Error(`scripts/package.mjs exited with ${code}`);
  const version = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version;
  const pattern = new RegExp(`^wordplay-(.+)-${version.replaceAll('.', '\\.')}\\.vsix$`);
  const bytes: Record<string, number> = {};
  for (const file of fs.readdirSync(path.join(packageRoot, 'out')).sort()) {
    const stat = fs.statSync(path.join(packageRoot, 'out', file));
    const target = file.match(pattern)?.[1];
    if (target && stat.mtimeMs >= started) bytes[target] = stat.size;
  }
  return { version, bytes };
}

export const benchmarks: Benchmark[] = [
  {
    name: 'vsix',
    command: 'npm run package',
    measure: vsixSizes,
    rows: [
      {
        figure: 'VSIX size per platform (`out/*.vsix`)',
        goal: '—',
        value: (r) =>
          Object.entries(r.bytes as Record<string, number>)
            .map(([target, bytes]) => `${target} ${fixed(bytes / 1e6)} MB`)
            .join(', '),
      },
    ],
  },
];
