// Where prepare writes: --out is checked before any work (--force replaces a dataset, never
// another folder), the dataset is built in a temporary folder beside it (same filesystem), and
// the finished folder is swapped into place by renames, so an interrupted or failed prepare never
// leaves a partial dataset. A prepare killed mid-swap is repaired by the next one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../common/errors';
import { processAlive } from '../common/processes';
import { datasetFiles } from './dataset';

/** Refuses an existing --out unless force is given and it is a dataset (or empty). */
export function checkOutput(out: string, force: boolean): void {
  if (!fs.existsSync(out)) return;
  if (!force)
    throw new UserError(
      `the output folder ${out} already exists. Pass --force to replace it, or choose another --out.`,
    );
  const entries = fs.statSync(out).isDirectory() ? fs.readdirSync(out) : null;
  // --force replaces a dataset, never an unrelated folder that happens to be named
  if (entries === null || (entries.length > 0 && !entries.includes(datasetFiles.meta))) {
    throw new UserError(
      `${out} exists and is not a wordplay dataset, so --force will not replace it. Choose another --out.`,
    );
  }
}

/** A --force prepare killed between its two renames (see replaceDir) leaves the old dataset
 *  aside as `.<name>.tmp-<pid>-<x>-old` and no `out`: put the old one back before anything
 *  else, so nothing is lost. */
export function restoreInterruptedSwap(out: string): void {
  if (fs.existsSync(out)) return;
  const prefix = `.${path.basename(out)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(out));
  } catch {
    return;
  }
  const aside = names.find(
    (n) => n.startsWith(prefix) && n.endsWith('-old') && !processAlive(Number(n.slice(prefix.length).split('-')[0])),
  );
  if (aside) fs.renameSync(path.join(path.dirname(out), aside), out);
}

/** A fresh temporary folder beside out (same filesystem, so the final rename is atomic);
 *  leftovers of prepares that were killed are removed first. */
export function makeTempDir(out: string): string {
  const parent = path.dirname(out);
  const prefix = `.${path.basename(out)}.tmp-`;
  try {
    fs.mkdirSync(parent, { recursive: true });
    for (const name of fs.readdirSync(parent)) {
      if (name.startsWith(prefix) && !processAlive(Number(name.slice(prefix.length).split('-')[0]))) {
        fs.rmSync(path.join(parent, name), { recursive: true, force: true });
      }
    }
    const tmp = fs.mkdtempSync(path.join(parent, `${prefix}${process.pid}-`));
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private; a dataset is an ordinary folder
    return tmp;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (
      code === 'EACCES' ||
      code === 'EPERM' ||
      code === 'EROFS' ||
      code === 'ENOTDIR' ||
      code === 'EEXIST' ||
      code === 'ENOSPC'
    ) {
      throw new UserError(`cannot write to ${parent} (${code}). Choose an --out folder you can write to.`);
    }
    throw err;
  }
}

/** Puts the finished dataset in tmp at out, the old one (--force) aside until then. */
export function replaceDir(tmp: string, out: string): void {
  fsyncDir(tmp);
  if (fs.existsSync(out)) {
    const old = `${tmp}-old`;
    fs.renameSync(out, old);
    fs.renameSync(tmp, out);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, out);
  }
  fsyncDir(path.dirname(out));
}

function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A file in the temporary folder, flushed to the disk before the swap makes it visible. */
export function writeJsonDurably(file: string, value: unknown): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(value, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
