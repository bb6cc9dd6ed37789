// Where a window keeps its runs: the folder the wordplay.runsFolder setting names, relative to
// the first workspace folder (the Runs view, the Metrics view, training and completion all look
// there).
import * as path from 'node:path';
import * as vscode from 'vscode';

/** The runs folder, or undefined when no folder is open. */
export function runsFolder(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return undefined;
  const configured = vscode.workspace.getConfiguration('wordplay').get<string>('runsFolder', 'runs');
  return path.resolve(folder.uri.fsPath, configured);
}
