// What every end-to-end test needs, made once: code-server and Chromium installed, the VSIX
// packaged, and a workspace fixture whose text comes from ../shared/data.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../src/core/paths';

export interface E2eSetup {
  codeServer: string;
  vsix: string;
  workspace: string;
}

export async function e2eSetup(): Promise<E2eSetup> {
  const { ensureCodeServer } = await import(path.join(packageRoot, 'scripts', 'ensure-code-server.mjs'));
  const codeServer: string = ensureCodeServer();
  const version = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version;
  const vsix = path.join(packageRoot, 'out', `wordplay-linux-x64-${version}.vsix`);
  execFileSync(process.execPath, [path.join(packageRoot, 'scripts', 'package.mjs'), 'linux-x64'], { cwd: packageRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'wordplay-e2e-workspace-'));
  fs.copyFileSync(path.resolve(packageRoot, '..', 'shared', 'data', 'tinyshakespeare', 'input.txt'), path.join(workspace, 'shakespeare.txt'));
  return { codeServer, vsix, workspace };
}
