// Tiny Shakespeare, nanoGPT's first dataset, shipped with the package (corpus/, gzip) so that
// the demo, the walkthrough and `--input shakespeare` need no network. Its provenance and the
// sha256 of its text live in corpus/tinyshakespeare.json, which the Python tests read too; the
// text is checked against that hash on every read.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { datasetFiles, readDatasetMeta, type DatasetMeta } from './dataset';
import { writeFileAtomic } from '../common/atomicWrite';
import { UserError } from '../common/errors';
import { cacheDir, packageRoot } from '../common/paths';

const corpusDir = path.join(packageRoot, 'corpus');
const corpus: { file: string; sha256: string } = JSON.parse(
  fs.readFileSync(path.join(corpusDir, 'tinyshakespeare.json'), 'utf8'),
);

const shipped = path.join(corpusDir, corpus.file);

export const SHAKESPEARE_SHA256 = corpus.sha256;

const sha256 = (bytes: Buffer): string => crypto.createHash('sha256').update(bytes).digest('hex');

/** The text, decompressed from the shipped copy and verified. */
export function shakespeareText(): Buffer {
  let text: Buffer;
  try {
    text = zlib.gunzipSync(fs.readFileSync(shipped));
  } catch (err) {
    throw new UserError(
      `the shipped tiny Shakespeare (${shipped}) cannot be read: ${(err as Error).message}. Reinstall wordplay, or restore the file with git.`,
    );
  }
  const digest = sha256(text);
  if (digest !== SHAKESPEARE_SHA256) {
    throw new UserError(
      `the shipped tiny Shakespeare (${shipped}) is damaged: its text has sha256 ${digest}, not ${SHAKESPEARE_SHA256}. Reinstall wordplay, or restore the file with git.`,
    );
  }
  return text;
}

export function shakespeareCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'tinyshakespeare', 'input.txt');
}

/** The path of a verified plain-text copy in the cache (prepare reads files), written from the
 *  shipped copy when missing or not matching the hash; replaced atomically, never torn. */
export function shakespearePath(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = () => {}): string {
  const cached = shakespeareCachePath(env);
  if (fs.existsSync(cached) && sha256(fs.readFileSync(cached)) === SHAKESPEARE_SHA256) return cached;
  log(`Decompressing tiny Shakespeare from ${shipped} into ${cached}`);
  const text = shakespeareText();
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  writeFileAtomic(cached, text);
  return cached;
}

/** The meta of a dataset folder that holds tiny Shakespeare prepared with the char tokenizer,
 *  or undefined when the folder is missing or holds something else. */
export function preparedShakespeareChar(dir: string): DatasetMeta | undefined {
  if (!fs.existsSync(path.join(dir, datasetFiles.meta))) return undefined;
  const meta = readDatasetMeta(dir);
  return meta.sha256 === SHAKESPEARE_SHA256 && meta.tokenizer === 'char' ? meta : undefined;
}
