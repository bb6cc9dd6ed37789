// What every command checks around its work: workspace trust before running a process, and
// failures reported in the Wordplay log and in a notification with a Show Logs action.
import * as vscode from 'vscode';
import { UserError } from '../core/common/errors';

/** Runs a command; a UserError's message names the problem and its fix, so it is shown as is. */
export async function guarded(log: vscode.LogOutputChannel, command: () => Promise<void>): Promise<void> {
  try {
    await command();
  } catch (err) {
    const message = err instanceof UserError ? err.message : String(err);
    log.error(message);
    const choice = await vscode.window.showErrorMessage(`Wordplay: ${message}`, 'Show Logs');
    if (choice === 'Show Logs') log.show();
  }
}

/** Running a process chosen by a workspace's settings is code execution: trusted workspaces only. */
export function requireTrust(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(
    `Wordplay: ${what} runs processes, so it needs a trusted workspace. Trust this folder (Manage Workspace Trust) to use it.`,
  );
  return false;
}
