// The extension host: commands on top of src/core. It activates lazily (on its commands), and
// onnxruntime and the tokenizer ranks are loaded only when a command needs them.
import * as vscode from 'vscode';
import { guarded } from './common/commandGuards';
import { compareCompletions } from './complete/compareCommands';
import { CompletionController, WordplayInlineCompletions } from './complete/completeCommands';
import { registerConfigEditor } from './train/configEditor';
import { registerMetrics, type MetricsHub } from './train/metricsView';
import { selectCompletionModel } from './complete/modelCommands';
import { SurpriseController } from './complete/surpriseCommands';
import { registerPrepareDataset } from './prepare/prepareCommands';
import { registerPrompts } from './common/prompts';
import { registerPython } from './common/pythonCommands';
import { registerRunsTree } from './train/runsTree';
import { ClusterJobs } from './train/clusterJobs';
import { registerShakespeare } from './prepare/shakespeareCommands';
import { TrainingManager } from './train/trainCommands';
import { registerTrainFor } from './train/trainForCommand';
import { registerUsePretrained } from './train/pretrainedCommands';

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
    vscode.commands.registerCommand('wordplay.complete', () =>
      guarded(log, () => completion.complete(vscode.window.activeTextEditor)),
    ),
    vscode.commands.registerCommand('wordplay.cancelCompletion', () => completion.cancel()),
    vscode.commands.registerCommand('wordplay.selectCompletionModel', () =>
      guarded(log, async () => void (await selectCompletionModel(context.workspaceState))),
    ),
    vscode.commands.registerCommand('wordplay.sample', () => guarded(log, () => completion.sample())),
    vscode.commands.registerCommand('wordplay.compareCompletions', () =>
      guarded(log, () => compareCompletions(context.extensionUri, log)),
    ),
    vscode.languages.registerInlineCompletionItemProvider(
      { pattern: '**' },
      new WordplayInlineCompletions(context.workspaceState),
    ),
  );
  const surprise = new SurpriseController(context.workspaceState, log);
  context.subscriptions.push(
    surprise,
    vscode.commands.registerCommand('wordplay.showSurprise', () =>
      guarded(log, () => surprise.show(vscode.window.activeTextEditor)),
    ),
    vscode.commands.registerCommand('wordplay.clearSurprise', () => surprise.clear()),
  );
  registerConfigEditor(context, log);
  metrics = registerMetrics(context, log);
  registerPython(context, log);
  registerShakespeare(context, log);
  registerPrepareDataset(context, log);
  const jobs = new ClusterJobs(log);
  context.subscriptions.push(jobs);
  jobs.watch();
  const training = new TrainingManager(log, metrics, context.workspaceState, jobs);
  training.register(context);
  registerTrainFor(context, log);
  registerRunsTree(context, log, training, metrics, jobs);
  registerUsePretrained(context, log);
}

export function deactivate(): void {}
