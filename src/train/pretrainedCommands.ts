// Use a Pretrained Model for Completion…: one of OpenAI's GPT-2 checkpoints (schemas/gpt2.json),
// a small open model (schemas/open-models.json: SmolLM2, Qwen2.5, Qwen3) or a Hugging Face folder
// of any of their families becomes a run folder of its own, untrained
// (core/train/pretrained.ts), which the Runs tree lists and completion then uses. Hub names are
// downloaded by the trainer's transformers, so they need the network.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { guarded, requireTrust } from '../common/commandGuards';
import { chooseFile, nothingDone, pick } from '../common/prompts';
import { trainingEnvironment } from '../common/pythonCommands';
import { runsFolder } from '../common/workspace';
import { UserError } from '../core/common/errors';
import { PRETRAINED_MODELS, describePretrained, exportPretrained, pretrainedRunDir } from '../core/train/pretrained';
import { useForCompletion } from '../complete/modelCommands';

const COMMAND = 'Use a Pretrained Model for Completion';
const CANCELLED = Symbol('cancelled');

/** A hub name, or a folder chosen in a dialog; undefined when none was. */
async function chooseSource(): Promise<string | undefined> {
  const folderItem = {
    label: '$(folder-opened) Choose a Hugging Face folder…',
    description:
      'a GPT-2, Llama, Qwen2 or Qwen3 model saved with save_pretrained (config.json, safetensors, tokenizer.json)',
    source: undefined,
  };
  const picked = await pick(
    COMMAND,
    'no model was chosen',
    [
      ...PRETRAINED_MODELS.map((m) => ({
        label: m.name,
        description: describePretrained(m),
        source: m.name as string | undefined,
      })),
      folderItem,
    ],
    {
      title: `Wordplay: ${COMMAND}`,
      placeHolder: 'a model from the Hugging Face hub (downloaded: needs the network) or a folder of your own',
    },
  );
  if (!picked) return undefined;
  if (picked.source) return picked.source;
  const folder = await chooseFile(COMMAND, 'no folder was chosen', {
    canSelectFolders: true,
    canSelectFiles: false,
    openLabel: 'Use This Model',
    title: 'Wordplay: a Hugging Face model folder',
  });
  return folder?.fsPath;
}

/** Picks a model, writes its run folder under the runs folder with a cancellable progress
 *  notification, and makes it the completion model. */
async function usePretrained(state: vscode.Memento, log: vscode.LogOutputChannel): Promise<void> {
  if (!requireTrust('Using a pretrained model')) return;
  const folder = runsFolder();
  if (!folder) throw new UserError('open a folder first: runs live in the workspace.');
  const source = await chooseSource();
  if (!source) return;
  const name = path.basename(source);
  const runDir = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Wordplay: using ${name} for completion`,
      cancellable: true,
    },
    async (progress, token) => {
      progress.report({ message: 'checking the Python environment…' });
      const env = await trainingEnvironment();
      // without an environment, trainingEnvironment said why
      if (!env) return undefined;
      if (token.isCancellationRequested) return CANCELLED;
      progress.report({ message: 'loading the weights and writing model.onnx…' });
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      const written = await exportPretrained({
        source,
        runDir: pretrainedRunDir(folder, source),
        env,
        signal: abort.signal,
        onLine: (line) => log.info(line),
      });
      return written ?? CANCELLED;
    },
  );
  if (runDir === CANCELLED) nothingDone(COMMAND, `Cancel was pressed, so no run folder was written for ${name}`);
  if (runDir === undefined || runDir === CANCELLED) return;
  await useForCompletion(state, runDir);
  await vscode.commands.executeCommand('wordplay.refreshRuns');
  // the setting wins over the chosen run (modelCommands.ts)
  const setting = vscode.workspace.getConfiguration('wordplay.completion').get<string>('model', '').trim();
  const used = setting
    ? `the setting wordplay.completion.model still names ${setting}: clear it to complete with this one`
    : 'Complete with wordplay now uses it';
  const choice = await vscode.window.showInformationMessage(
    `Wordplay: ${path.basename(runDir)} (${name} as it is, untrained) is in the Runs view, and ${used}.`,
    ...(setting ? [] : ['Complete with wordplay']),
  );
  if (choice) await vscode.commands.executeCommand('wordplay.complete');
}

export function registerUsePretrained(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('wordplay.usePretrained', () =>
      guarded(log, () => usePretrained(context.workspaceState, log)),
    ),
  );
}
