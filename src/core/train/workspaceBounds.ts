// Where a run may read and write: a config is a file anyone can hand over (a cloned repository,
// a shared folder), and its paths decide which folders training reads (data.dataset,
// train.init_from) and fills (the run dir). The extension keeps them inside the workspace's
// folders, unless the person picked a folder outside themselves (`allowed`). Paths are compared
// after resolving `..` and symbolic links, so neither can lead out of the workspace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, type ConfigProblem, type RunConfig } from './config';

export interface WorkspaceBounds {
  /** The workspace folders. */
  roots: string[];
  /** Folders outside them that the person chose (a dialog, a setting): these and their contents are allowed. */
  allowed?: string[];
}

/** The real path of p, even when its end does not exist yet (a run dir about to be made): the
 *  deepest existing ancestor with its links resolved, then the rest as written. A link to where
 *  nothing is yet is followed too, since writing through it would create its target. */
export function realPath(p: string, depth = 0): string {
  const absolute = path.resolve(p);
  const rest: string[] = [];
  for (let dir = absolute; ; dir = path.dirname(dir)) {
    try {
      return path.join(fs.realpathSync.native(dir), ...rest);
    } catch {
      const link = readLink(dir);
      // depth: a cycle of links ends as a path that does not exist
      if (link !== undefined && depth < 40)
        return path.join(realPath(path.resolve(path.dirname(dir), link), depth + 1), ...rest);
      if (path.dirname(dir) === dir) return absolute;
      rest.unshift(path.basename(dir));
    }
  }
}

function readLink(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

const caseless = process.platform === 'win32' || process.platform === 'darwin';
const normal = (p: string) => (caseless ? p.toLowerCase() : p);

/** Whether target is folder itself or inside it (both already real paths). */
function within(target: string, folder: string): boolean {
  const rel = path.relative(normal(folder), normal(target));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** Whether p (resolved, links followed) lies inside a workspace folder or an allowed folder. */
export function insideBounds(p: string, bounds: WorkspaceBounds): boolean {
  const target = realPath(p);
  return [...bounds.roots, ...(bounds.allowed ?? [])].some((folder) => within(target, realPath(folder)));
}

/** The folders of a run that lie outside the bounds, each named by its key. */
export function boundsProblems(config: RunConfig, runDir: string, bounds: WorkspaceBounds): ConfigProblem[] {
  const paths: [string, string][] = [
    ['run dir', runDir],
    ['data.dataset', config.data.dataset],
  ];
  // a folder is absolute once the config is loaded; scratch, resume, gpt2* and hub names are not
  if (path.isAbsolute(config.train.init_from)) paths.push(['train.init_from', config.train.init_from]);
  const where = bounds.roots.length ? bounds.roots.join(', ') : 'no workspace folder';
  return paths
    .filter(([, p]) => !insideBounds(p, bounds))
    .map(([key, p]) => ({
      key,
      message: `${p} is outside the workspace (${where}); move it into the workspace, or choose that folder yourself to allow it`,
    }));
}

/** Throws a ConfigError naming each folder of the run that lies outside the bounds. */
export function checkBounds(config: RunConfig, runDir: string, bounds: WorkspaceBounds): void {
  const problems = boundsProblems(config, runDir, bounds);
  if (problems.length) throw new ConfigError(problems);
}
