// Which model "Complete with wordplay" uses: the setting wordplay.completion.model when set,
// else the run chosen with "Select Completion Model", else the newest run with an exported
// model (src/core/complete/defaultModel.ts), which also says why there is none.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { defaultModel, type NoModel } from '../core/complete/defaultModel';
import { listRuns, type RunSummary } from '../core/run/runs';
import { pick } from '../common/prompts';
import { runsFolder } from '../common/workspace';

const CHOSEN_KEY = 'wordplay.completionModel';

/** A run folder or model.onnx path to complete with, or why there is none. */
export function completionModel(state: vscode.Memento): { model: string } | NoModel {
  const setting = vscode.workspace.getConfiguration('wordplay.completion').get<string>('model', '').trim();
  if (setting) {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
    return { model: path.resolve(root, setting) };
  }
  const chosen = state.get<string>(CHOSEN_KEY);
  if (chosen) return { model: chosen };
  const folder = runsFolder();
  const found = defaultModel(folder ? listRuns(folder) : []);
  return found.run ? { model: found.run.dir } : { why: found.why, fix: found.fix };
}

function describe(run: RunSummary): vscode.QuickPickItem & { run: RunSummary } {
  const bpb = run.bestValBpb === null ? '' : ` · ${run.bestValBpb.toFixed(3)} bpb`;
  const loss = run.bestValLoss === null ? 'no evaluation yet' : `val loss ${run.bestValLoss.toFixed(3)}${bpb}`;
  return {
    label: run.name,
    description: `${loss} · ${run.state} at iteration ${run.iter}`,
    detail: `${new Date(run.updated).toLocaleString()} — ${run.dir}`,
    run,
  };
}

/** Completion uses this run from now on (the Runs tree's Use for Completion). */
export async function useForCompletion(state: vscode.Memento, runDir: string): Promise<void> {
  await state.update(CHOSEN_KEY, runDir);
}

/** The "Select Completion Model" quick pick; returns the chosen run folder. */
export async function selectCompletionModel(state: vscode.Memento): Promise<string | undefined> {
  const folder = runsFolder();
  const runs = folder ? listRuns(folder).filter((r) => r.hasModel) : [];
  if (runs.length === 0) {
    void vscode.window.showInformationMessage(
      'Wordplay: no run with an exported model yet. Train one first (Wordplay: Train GPT).',
    );
    return undefined;
  }
  const current = completionModel(state);
  const items = runs.map(describe);
  const picked = await pick('Select Completion Model', 'the model stays as it was', items, {
    title: 'Wordplay: model for completion',
    placeHolder:
      'model' in current ? `Now: ${path.basename(current.model)}` : 'Newest run with an exported model by default',
  });
  if (!picked) return undefined;
  await state.update(CHOSEN_KEY, picked.run.dir);
  return picked.run.dir;
}
