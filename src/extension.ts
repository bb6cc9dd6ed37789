// The extension host: commands on top of src/core. It activates lazily (on its commands), and
// onnxruntime and the tokenizer ranks are loaded only when a command needs them.
import * as vscode from 'vscode';
import { guarded } from './commandGuards';
import { CompletionController, WordplayInlineCompletions } from './completion';
import { registerConfigEditor } from './configEditor';
import { registerMetrics, type MetricsHub } from './metricsView';
import { selectCompletionModel } from './modelChoice';
import { registerPrepareDataset } from './prepareCommand';
import { registerPrompts } from './prompts';
import { registerPython } from './python';
import { registerRunsTree } from './runsTree';
import { registerShakespeare } from './shakespeareCommand';
import { TrainingManager } from './training';

let log: vscode.LogOutputChannel;
/** The metrics dashboards' data: metrics.showRuns(runDirs) chooses the runs they show. */
export let metrics: MetricsHub;

export function activate(context: vscode.ExtensionContext): void {
  log = vscode.window.createOutputChannel('Wordplay', { log: true });
  registerPrompts(log);
  context.subscriptions.push(
    log,
    vscode.commands.registerCommand('wordplay.showLogs', () => log.show()),
  );
  const completion = new CompletionController(context.workspaceState, log);
  context.subscriptions.push(
    completion,
    vscode.commands.registerCommand('wordplay.complete', () => guarded(log, () => completion.complete(vscode.window.activeTextEditor))),
    vscode.commands.registerCommand('wordplay.cancelCompletion', () => completion.cancel()),
    vscode.commands.registerCommand('wordplay.selectCompletionModel', () => guarded(log, async () => void (await selectCompletionModel(context.workspaceState)))),
    vscode.commands.registerCommand('wordplay.sample', () => guarded(log, () => completion.sample())),
    vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, new WordplayInlineCompletions(context.workspaceState)),
  );
  registerConfigEditor(context, log);
  metrics = registerMetrics(context, log);
  registerPython(context, log);
  registerShakespeare(context, log);
  registerPrepareDataset(context, log);
  const training = new TrainingManager(log, metrics, context.workspaceState);
  training.register(context);
  registerRunsTree(context, log, training, metrics);
}

export function deactivate(): void {}
