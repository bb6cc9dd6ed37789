// The questions commands ask, all asked alike. A quick pick or input box stays open when the
// focus moves elsewhere: as a palette closes, VS Code gives the focus back to where it was, and
// when that is a webview (the config form, the Metrics view) it lands there a moment after the
// command's prompt opened, which would otherwise cancel the prompt. And a command whose question
// goes unanswered says so, in the status bar and the Wordplay log, instead of ending silently.
import * as vscode from 'vscode';

let log: vscode.LogOutputChannel | undefined;

/** How long the status bar says a command ended without doing anything. */
const NOTE_MS = 10_000;

export function registerPrompts(channel: vscode.LogOutputChannel): void {
  log = channel;
}

/** Says that `command` ended without doing anything, and why ("no run was resumed"). */
export function nothingDone(command: string, why: string): void {
  const message = `Wordplay: ${command} cancelled: ${why}.`;
  log?.info(message);
  vscode.window.setStatusBarMessage(message, NOTE_MS);
}

/** A quick pick for `command`; undefined, once `nothingDone` said `why`, when none was picked. */
export async function pick<T extends vscode.QuickPickItem>(
  command: string,
  why: string,
  items: readonly T[],
  options: vscode.QuickPickOptions,
): Promise<T | undefined> {
  const picked = await vscode.window.showQuickPick(items, { ...options, canPickMany: false, ignoreFocusOut: true });
  if (picked === undefined) nothingDone(command, why);
  return picked;
}

/** pick, choosing several. */
export async function pickMany<T extends vscode.QuickPickItem>(
  command: string,
  why: string,
  items: readonly T[],
  options: vscode.QuickPickOptions,
): Promise<T[] | undefined> {
  const picked = await vscode.window.showQuickPick(items, { ...options, canPickMany: true, ignoreFocusOut: true });
  if (picked === undefined) nothingDone(command, why);
  return picked;
}

/** An input box for `command`; undefined, once `nothingDone` said `why`, when it was dismissed. */
export async function input(
  command: string,
  why: string,
  options: vscode.InputBoxOptions,
): Promise<string | undefined> {
  const answer = await vscode.window.showInputBox({ ...options, ignoreFocusOut: true });
  if (answer === undefined) nothingDone(command, why);
  return answer;
}

/** An open dialog for `command` (a quick input in the browser); undefined, once `nothingDone`
 *  said `why`, when it was closed without a choice. */
export async function chooseFile(
  command: string,
  why: string,
  options: vscode.OpenDialogOptions,
): Promise<vscode.Uri | undefined> {
  const picked = (await vscode.window.showOpenDialog({ ...options, canSelectMany: false }))?.[0];
  if (picked === undefined) nothingDone(command, why);
  return picked;
}
