// Which folders outside the workspace a run may use: those the user chose in a dialog, kept per
// workspace.
import * as vscode from 'vscode';
import type { RunConfig } from '../core/train/config';
import { boundsProblems, checkBounds } from '../core/train/workspaceBounds';
import { chooseFile } from '../common/prompts';

/** Folders outside the workspace the user chose to allow, per workspace. */
const ALLOWED_KEY = 'wordplay.allowedFolders';

/** A config's folders must lie in the workspace, or in folders the user chose in a dialog:
 *  a config from a stranger must not make the trainer read or write elsewhere. */
export async function allowFolders(state: vscode.Memento, config: RunConfig, runDir: string): Promise<boolean> {
  const bounds = {
    roots: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    allowed: state.get<string[]>(ALLOWED_KEY, []),
  };
  const problems = boundsProblems(config, runDir, bounds);
  if (problems.length === 0) return true;
  const choice = await vscode.window.showWarningMessage(
    'Wordplay: this run would use folders outside the workspace.',
    {
      modal: true,
      detail: `${problems.map((p) => `${p.key}: ${p.message}`).join('\n')}\n\nChoose those folders to allow them for this workspace.`,
    },
    'Choose Folders…',
  );
  if (choice !== 'Choose Folders…') return false;
  const folderOf: Record<string, string> = {
    'run dir': runDir,
    'data.dataset': config.data.dataset,
    'train.init_from': config.train.init_from,
  };
  for (const problem of problems) {
    const picked = await chooseFile('Train GPT', `no folder was allowed for ${problem.key}`, {
      canSelectFolders: true,
      canSelectFiles: false,
      defaultUri: vscode.Uri.file(folderOf[problem.key]),
      openLabel: 'Allow',
      title: `Wordplay: allow the folder for ${problem.key}`,
    });
    if (!picked) return false;
    bounds.allowed.push(picked.fsPath);
  }
  await state.update(ALLOWED_KEY, bounds.allowed);
  checkBounds(config, runDir, bounds);
  return true;
}
