// Tiny Shakespeare, nanoGPT's first dataset: not shipped, fetched once and verified by hash.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasetFiles, readDatasetMeta, type DatasetMeta } from './dataset';
import { UserError } from './errors';
import { cacheDir, packageRoot } from './paths';

export const SHAKESPEARE_URL = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt';
export const SHAKESPEARE_SHA256 = '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed';

export function shakespeareCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'tinyshakespeare', 'input.txt');
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The path of a verified copy: the cache, else the copy a development checkout keeps beside
 *  the clone (shared/data/tinyshakespeare), else a download into the cache. */
export async function shakespearePath(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = () => {}): Promise<string> {
  const cached = shakespeareCachePath(env);
  if (fs.existsSync(cached) && sha256(cached) === SHAKESPEARE_SHA256) return cached;
  const beside = path.resolve(packageRoot, '..', 'shared', 'data', 'tinyshakespeare', 'input.txt');
  if (fs.existsSync(beside) && sha256(beside) === SHAKESPEARE_SHA256) return beside;

  log(`Downloading tiny Shakespeare from ${SHAKESPEARE_URL}`);
  let body: Buffer;
  try {
    const response = await fetch(SHAKESPEARE_URL, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = Buffer.from(await response.arrayBuffer());
  } catch (err) {
    throw new UserError(
      `could not download tiny Shakespeare (${(err as Error).message}). Offline? Put nanoGPT's input.txt at ${cached}, or pass its path to --input.`,
    );
  }
  const digest = crypto.createHash('sha256').update(body).digest('hex');
  if (digest !== SHAKESPEARE_SHA256) {
    throw new UserError(`the downloaded tiny Shakespeare has sha256 ${digest}, not ${SHAKESPEARE_SHA256}; nothing was kept. Try again later.`);
  }
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  const tmp = `${cached}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, body);
  fs.renameSync(tmp, cached);
  return cached;
}

/** The meta of a dataset folder that holds tiny Shakespeare prepared with the char tokenizer,
 *  or undefined when the folder is missing or holds something else. */
export function preparedShakespeareChar(dir: string): DatasetMeta | undefined {
  if (!fs.existsSync(path.join(dir, datasetFiles.meta))) return undefined;
  const meta = readDatasetMeta(dir);
  return meta.sha256 === SHAKESPEARE_SHA256 && meta.tokenizer === 'char' ? meta : undefined;
}
