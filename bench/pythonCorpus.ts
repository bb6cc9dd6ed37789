// The corpus of `wordplay bench tokenizers`: code every Python installation ships, the `.py`
// files of the trainer's Python's standard library (sysconfig's "stdlib" path; site-packages and
// dist-packages left out; files that are empty, not UTF-8 or hold a NUL byte skipped, as prepare
// would refuse the last two), copied into a folder of the benchmark's. A cap takes files in the
// order of their paths' SHA-256, a sample of the whole library, and not its alphabetical head,
// whose last tenth (prepare's val split) is nothing but encodings/'s code-page tables.
import { isUtf8 } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../src/core/common/errors';
import { resolvePython } from '../src/core/common/pythonEnv';

export interface Corpus {
  python: string;
  stdlib: string;
  dir: string;
  files: number;
  skipped: { empty: number; not_utf8: number };
  bytes: number;
}

/** The trainer's Python's standard library directory and its version. */
function stdlibOf(): { stdlib: string; python: string } {
  const python = resolvePython(process.env).path;
  const probe = spawnSync(
    python,
    ['-c', 'import sys, sysconfig; print(sysconfig.get_paths()["stdlib"]); print(sys.version.split()[0])'],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0)
    throw new UserError(
      `could not ask the trainer's Python (${python}) for its standard library: ${probe.stderr || probe.error?.message}. Run "wordplay setup".`,
    );
  const [stdlib, version] = probe.stdout.trim().split('\n');
  return { stdlib, python: version };
}

/** Every .py file under dir, relative; site-packages and dist-packages left out. */
function pyFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const name = path.join(rel, entry.name);
    if (entry.isDirectory() && !['site-packages', 'dist-packages', '__pycache__'].includes(entry.name))
      out.push(...pyFiles(dir, name));
    else if (entry.isFile() && entry.name.endsWith('.py')) out.push(name);
  }
  return out;
}

/** A file's place in the sample: the SHA-256 of its path, '/'-separated on every platform. */
function sampleKey(rel: string): string {
  return createHash('sha256').update(rel.split(path.sep).join('/')).digest('hex');
}

/** Copies the standard library's .py files into work/corpus: a sample up to capBytes (0: all). */
export function copyCorpus(work: string, capBytes: number): Corpus {
  const { stdlib, python } = stdlibOf();
  const dir = path.join(work, 'corpus');
  const skipped = { empty: 0, not_utf8: 0 };
  let bytes = 0;
  let files = 0;
  const sampled = pyFiles(stdlib)
    .map((rel) => ({ rel, key: sampleKey(rel) }))
    .sort((a, b) => (a.key < b.key ? -1 : 1))
    .map((f) => f.rel);
  for (const rel of sampled) {
    if (capBytes > 0 && bytes >= capBytes) break;
    if (rel.split(path.sep).some((part) => part.startsWith('.'))) continue; // prepare skips hidden entries
    const text = fs.readFileSync(path.join(stdlib, rel));
    if (text.length === 0) skipped.empty++;
    else if (!isUtf8(text) || text.includes(0)) skipped.not_utf8++;
    else {
      fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
      bytes += text.length;
      files++;
    }
  }
  if (files === 0) throw new UserError(`no .py files under ${stdlib}`);
  return { python, stdlib, dir, files, skipped, bytes };
}
