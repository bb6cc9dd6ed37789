// The run card: two run folders compared side by side, read from what every run holds:
// config.json (as a diff, key by key), its dataset's meta.json (path, sha256, counts), the latest
// start event (torch, device, dtype, threads, world size) and the events' results (final and
// best val loss, best bits per byte, wall time from the first to the last event, median
// tokens/s). Values are worded here, so the webview (webview/runCard/) only lays them out.
// Limits: wall time includes any pause between a stop and a resume; a run of an older trainer
// has no torch version or threads ('—').
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../common/errors';
import { readDatasetMeta, tokenizerLabel, type DatasetMeta } from '../prepare/dataset';
import type { RunCard, RunCardRow } from '../webview/protocol';
import { readEvents, type RunEvent, type StartEvent } from './events';
import { runPaths } from './runDir';

const NONE = '—';

/** What the card shows of one run, worded. */
interface Side {
  name: string;
  dir: string;
  config: Map<string, string>;
  datasetDir: string | undefined;
  meta: DatasetMeta | undefined;
  environment: Map<string, string>;
  results: Map<string, string>;
}

/** group.key → the value as JSON, for every leaf of the config (objects are walked, arrays are values). */
export function flattenConfig(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flattenConfig(inner, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

export function median(values: number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "1h 02m", "3m 05s", "42s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
}

const count = (n: number | undefined) => (n === undefined ? NONE : n.toLocaleString('en-US'));
const loss = (n: number | undefined) => (n === undefined ? NONE : n.toFixed(4));

function readConfig(dir: string): Record<string, unknown> {
  const file = runPaths(dir).config;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new UserError(`${file} is missing or not JSON: the run never started. Compare runs that trained.`);
  }
}

/** The results of a run's events, worded. */
export function resultRows(events: RunEvent[]): Map<string, string> {
  const evals = events.filter((e) => e.type === 'eval');
  const bpbs = evals.map((e) => e.val_bpb).filter((v): v is number => v !== undefined);
  const speeds = events.filter((e) => e.type === 'train').map((e) => e.tokens_per_s);
  const last = [...events].reverse().find((e) => e.type === 'train' || e.type === 'eval' || e.type === 'done');
  const tokensPerS = median(speeds);
  return new Map([
    ['iterations', last && 'iter' in last && last.iter !== undefined ? count(last.iter) : NONE],
    ['final val loss', loss(evals.at(-1)?.val_loss)],
    ['best val loss', evals.length ? loss(Math.min(...evals.map((e) => e.val_loss))) : NONE],
    ['best val bits per byte', bpbs.length ? loss(Math.min(...bpbs)) : NONE],
    ['wall time', events.length > 1 ? formatDuration(events.at(-1)!.time - events[0].time) : NONE],
    ['median tokens/s', tokensPerS === undefined ? NONE : count(Math.round(tokensPerS))],
  ]);
}

/** The environment of a run's latest start (a resumed run may have moved machines). */
export function environmentRows(events: RunEvent[]): Map<string, string> {
  const start = [...events].reverse().find((e): e is StartEvent => e.type === 'start');
  const words = (v: string | number | undefined) => (v === undefined ? NONE : String(v));
  return new Map([
    ['torch', words(start?.torch)],
    ['device', words(start?.device)],
    ['dtype', words(start?.dtype)],
    ['threads', words(start?.threads)],
    ['world size', words(start?.world_size)],
    ['parameters', count(start?.n_params_total ?? start?.n_params)],
  ]);
}

function readSide(dir: string): Side {
  const root = path.resolve(dir);
  const config = readConfig(root);
  const dataset = (config.data as { dataset?: unknown } | undefined)?.dataset;
  // as the trainer reads it: relative to the run folder when not absolute
  const datasetDir = typeof dataset === 'string' ? path.resolve(root, dataset) : undefined;
  let meta: DatasetMeta | undefined;
  try {
    if (datasetDir) meta = readDatasetMeta(datasetDir);
  } catch {
    // moved or deleted since: the card says so with '—'
  }
  const events = readEvents(runPaths(root).events);
  return {
    name: path.basename(root),
    dir: root,
    config: flattenConfig(config),
    datasetDir,
    meta,
    environment: environmentRows(events),
    results: resultRows(events),
  };
}

function datasetRows(side: Side): Map<string, string> {
  const m = side.meta;
  return new Map([
    ['path', side.datasetDir ? (m ? side.datasetDir : `${side.datasetDir} (no meta.json)`) : NONE],
    ['sha256', m?.sha256 ?? NONE],
    ['tokenizer', m ? tokenizerLabel(m) : NONE],
    ['vocabulary', count(m?.vocab_size)],
    ['documents', count(m?.documents)],
    ['characters', count(m?.characters)],
    ['train tokens', count(m?.train_tokens)],
    ['val tokens', count(m?.val_tokens)],
    ['train bytes', count(m?.train_bytes)],
    ['val bytes', count(m?.val_bytes)],
  ]);
}

/** Rows for the union of both maps' keys, a's order first. */
function rows(a: Map<string, string>, b: Map<string, string>): RunCardRow[] {
  const labels = [...new Set([...a.keys(), ...b.keys()])];
  return labels.map((label) => {
    const [va, vb] = [a.get(label) ?? NONE, b.get(label) ?? NONE];
    return { label, a: va, b: vb, same: va === vb };
  });
}

/** The card of two run folders. Throws a UserError when a folder holds no config.json. */
export function runCard(dirA: string, dirB: string): RunCard {
  const [a, b] = [readSide(dirA), readSide(dirB)];
  const sameDataset =
    a.meta && b.meta
      ? a.meta.sha256 === b.meta.sha256 &&
        a.meta.tokenizer === b.meta.tokenizer &&
        a.meta.tokenizer_source === b.meta.tokenizer_source &&
        a.meta.vocab_size === b.meta.vocab_size
      : null;
  return {
    names: [a.name, b.name],
    dirs: [a.dir, b.dir],
    config: rows(a.config, b.config),
    dataset: rows(datasetRows(a), datasetRows(b)),
    sameDataset,
    environment: rows(a.environment, b.environment),
    results: rows(a.results, b.results),
  };
}
