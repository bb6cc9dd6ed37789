// Which files a prepare reads: one file, every file under a folder, or a glob; in a fixed
// (sorted) order so the same input always gives the same dataset.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../common/errors';

export function resolveInputs(input: string, cwd = process.cwd()): string[] {
  const full = path.resolve(cwd, input);
  if (!/[*?[]/.test(input)) {
    if (!fs.existsSync(full)) {
      throw new UserError(
        `the input "${input}" does not exist. Give a text file, a folder of text files, a glob such as "notes/**/*.md", or "shakespeare".`,
      );
    }
    if (fs.statSync(full).isDirectory()) {
      const files = walk(full);
      if (files.length === 0)
        throw new UserError(`the folder "${input}" holds no files. Put text files in it or point --input at one.`);
      return files;
    }
    return [full];
  }
  const { base, pattern } = splitGlob(full);
  const files = fs.existsSync(base)
    ? walk(base).filter((f) => pattern.test(path.relative(base, f).split(path.sep).join('/')))
    : [];
  if (files.length === 0) throw new UserError(`no file matches "${input}". Check the pattern (relative to ${cwd}).`);
  return files;
}

/** Every regular file under dir, skipping hidden entries (.git and the like), sorted by path. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else if (entry.isFile()) out.push(p);
  }
  return out.sort();
}

/** Splits "/a/b/**\/*.txt" into the folder to walk (/a/b) and a regex over paths below it. */
export function splitGlob(absPattern: string): { base: string; pattern: RegExp } {
  const parts = absPattern.split(/[\\/]/);
  const firstWild = parts.findIndex((p) => /[*?[]/.test(p));
  const base = parts.slice(0, firstWild).join(path.sep) || path.sep;
  const rest = parts.slice(firstWild).join('/');
  let re = '';
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === '*' && rest[i + 1] === '*') {
      // "**/" matches any number of folders, including none
      re += rest[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += rest[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = rest.indexOf(']', i);
      if (close < 0) re += '\\[';
      else {
        re += `[${rest.slice(i + 1, close).replace(/^!/, '^')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return { base, pattern: new RegExp(`^${re}$`) };
}
