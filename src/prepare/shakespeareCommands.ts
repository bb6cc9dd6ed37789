// Wordplay: Prepare Tiny Shakespeare — the walkthrough's dataset: nanoGPT's tiny Shakespeare,
// char-level, into data/shakespeare-char of the first workspace folder (the folder the presets
// and `wordplay demo` use). Preparing runs no process, so like Prepare Dataset it works in an
// untrusted workspace too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { guarded } from '../common/commandGuards';
import { UserError } from '../core/common/errors';
import type { DatasetMeta } from '../core/prepare/dataset';
import { preparedShakespeareChar } from '../core/prepare/shakespeare';
import { prepareWithProgress } from './prepareCommands';

const SHAKESPEARE_DATASET = path.join('data', 'shakespeare-char');

export function registerShakespeare(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('wordplay.prepareShakespeare', () => guarded(log, () => prepareShakespeare(log))),
  );
}

async function prepareShakespeare(log: vscode.LogOutputChannel): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    const choice = await vscode.window.showWarningMessage(
      `Wordplay: open a folder first: tiny Shakespeare is prepared into its ${SHAKESPEARE_DATASET} folder.`,
      'Open Folder',
    );
    if (choice === 'Open Folder') await vscode.commands.executeCommand('workbench.action.files.openFolder');
    return;
  }
  const out = path.join(folder.uri.fsPath, SHAKESPEARE_DATASET);
  // the same text and tokenizer give the same dataset: one already there is kept
  const existing = preparedShakespeareChar(out);
  if (existing) {
    void vscode.window.showInformationMessage(
      `Wordplay: ${SHAKESPEARE_DATASET} is already prepared (${summary(existing)}).`,
    );
    return;
  }
  if (fs.existsSync(out)) {
    throw new UserError(
      `${out} already exists and is not tiny Shakespeare prepared with the char tokenizer. Move or rename it, then prepare again.`,
    );
  }
  const result = await prepareWithProgress(
    { input: 'shakespeare', tokenizer: 'char', out },
    'Wordplay: preparing tiny Shakespeare',
    log,
  );
  log.info(`Prepared ${result.dir}: ${JSON.stringify(result.meta)}`);
  void vscode.window.showInformationMessage(`Wordplay: prepared ${SHAKESPEARE_DATASET} (${summary(result.meta)}).`);
}

function summary(meta: DatasetMeta): string {
  return `vocab ${meta.vocab_size}, ${meta.train_tokens.toLocaleString()} train and ${meta.val_tokens.toLocaleString()} val tokens`;
}
