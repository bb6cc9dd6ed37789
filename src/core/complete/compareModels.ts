// The models Compare Completions offers: every run's exported model (model.onnx in the run
// folder) and every export the run kept along the way (exports/<name>/, train.keep_exports;
// trainer/wordplay_trainer/export/kept_exports.py), each with the iteration and val loss its model.json
// records. Folders whose name starts with a dot are a kept export still being written or
// removed, and are skipped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunSummary } from '../run/runs';
import { runPaths } from '../run/runDir';
import { META_FILE, MODEL_FILE } from './modelFiles';

export interface ComparableModel {
  /** The folder that holds model.onnx + model.json: what the engine loads. */
  dir: string;
  run: string;
  /** true for a kept export, false for the run's own (latest) model. */
  kept: boolean;
  iter: number | null;
  valLoss: number | null;
}

/** iter and val_loss from a model.json; null where it has none or cannot be read. */
function described(dir: string): { iter: number | null; valLoss: number | null } {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, META_FILE), 'utf8'));
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return { iter: num(meta.iter), valLoss: num(meta.val_loss) };
  } catch {
    return { iter: null, valLoss: null };
  }
}

/** `runs` in the order given (newest first from listRuns); each run's kept exports by iteration. */
export function comparableModels(runs: RunSummary[]): ComparableModel[] {
  const models: ComparableModel[] = [];
  for (const run of runs) {
    if (run.hasModel) models.push({ dir: run.dir, run: run.name, kept: false, ...described(run.dir) });
    const exports = runPaths(run.dir).exports;
    let names: string[] = [];
    try {
      names = fs.readdirSync(exports);
    } catch {
      continue; // no kept exports
    }
    const kept = names
      .filter((n) => !n.startsWith('.') && fs.existsSync(path.join(exports, n, MODEL_FILE)))
      .map((n) => ({ dir: path.join(exports, n), run: run.name, kept: true, ...described(path.join(exports, n)) }))
      .sort((a, b) => (a.iter ?? 0) - (b.iter ?? 0));
    models.push(...kept);
  }
  return models;
}

/** "run · iteration 400 · val loss 1.234" (the label of a quick pick row and of a column). */
export function modelLabel(m: ComparableModel): string {
  const iter = m.iter === null ? 'iteration ?' : `iteration ${m.iter}`;
  const loss = m.valLoss === null ? 'no val loss' : `val loss ${m.valLoss.toFixed(3)}`;
  return `${m.run} · ${iter} · ${loss}`;
}
