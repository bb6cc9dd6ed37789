// `npm run package`: a VSIX per platform, each carrying only its own onnxruntime binaries
// (they are most of the package's size), built with vsce from a production bundle.
// scripts/code-server.mjs packages the linux-x64 one for the end-to-end tests through packageVsix().
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const targets = {
  'linux-x64': 'linux/x64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
};

/** Builds the production bundle and packages a VSIX for each of `wanted`; returns their paths.
 *  `quiet`: without the tools' reports (their warnings and errors still show). */
export function packageVsix(wanted = Object.keys(targets), { quiet = false } = {}) {
  const unknown = wanted.filter((target) => !targets[target]);
  if (unknown.length)
    throw new Error(`unknown target ${unknown.join(', ')}; known: ${Object.keys(targets).join(', ')}`);
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  const baseIgnore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  const stdio = ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'];
  execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: root, stdio });
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  return wanted.map((target) => {
    const ignoreFile = path.join(root, 'out', `.vscodeignore-${target}`);
    fs.writeFileSync(ignoreFile, `${baseIgnore}\n!node_modules/onnxruntime-node/bin/napi-v6/${targets[target]}/**\n`);
    const vsix = path.join(root, 'out', `wordplay-${target}-${version}.vsix`);
    execFileSync(
      process.execPath,
      [
        path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
        'package',
        '--target',
        target,
        '--ignoreFile',
        ignoreFile,
        '--allow-missing-repository',
        '--no-rewrite-relative-links',
        '-o',
        vsix,
      ],
      { cwd: root, stdio },
    );
    if (!quiet) console.log(`${path.relative(root, vsix)}: ${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB`);
    return vsix;
  });
}

if (import.meta.url === `file://${process.argv[1]}`)
  packageVsix(process.argv.slice(2).length ? process.argv.slice(2) : undefined);
