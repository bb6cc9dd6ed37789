// Where things live: the package's own files, and the per-user cache outside any clone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The package root (holds package.json, schemas/, trainer/): the nearest folder above this
 *  module with schemas/ in it, whether it runs bundled from dist/ or from src/ in tests. */
export const packageRoot = findRoot(__dirname);

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'schemas', 'run-config.schema.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`wordplay's schemas/ folder not found above ${start}`);
  }
}

export const schemaPath = (name: 'run-config' | 'events'): string =>
  path.join(packageRoot, 'schemas', `${name}.schema.json`);

export const trainerDir = path.join(packageRoot, 'trainer');

/** The per-user cache: WORDPLAY_CACHE_DIR, else the platform's cache folder. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WORDPLAY_CACHE_DIR) return path.resolve(env.WORDPLAY_CACHE_DIR);
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA ?? os.homedir(), 'wordplay', 'Cache');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches', 'wordplay');
  return path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'wordplay');
}
