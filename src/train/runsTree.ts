// The Runs tree in the wordplay sidebar: each run under the workspace's runs folder with its
// state, where it is (iteration and ETA, or its time budget and what is left: core/run/progress.ts), best val
// loss and best val bits per byte (where its dataset records byte counts), and the actions that fit its state (the menus in
// package.json match on contextValue "run.<state or pretrained>[.model]"). Selecting runs shows them in the
// metrics dashboard, several at once to compare; with two selected, Compare Runs opens their run
// card (runCardPanel.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { guarded } from '../common/commandGuards';
import { UserError } from '../core/common/errors';
import { positionText } from '../core/run/progress';
import { listRuns, stateText, summarizeRun, type RunSummary } from '../core/run/runs';
import type { MetricsHub } from './metricsView';
import { runsFolder } from '../common/workspace';
import { useForCompletion } from '../complete/modelCommands';
import { nothingDone } from '../common/prompts';
import { runDirOf, type RunArgument, type TrainingManager } from './trainCommands';
import type { ClusterJobs } from './clusterJobs';
import { compareRuns } from './runCardPanel';

const ICONS: Record<RunSummary['state'], vscode.ThemeIcon> = {
  queued: new vscode.ThemeIcon('watch', new vscode.ThemeColor('charts.purple')),
  running: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue')),
  finished: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  stopped: new vscode.ThemeIcon('debug-stop', new vscode.ThemeColor('charts.yellow')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
};

function runItem(run: RunSummary): vscode.TreeItem {
  const item = new vscode.TreeItem(run.name, vscode.TreeItemCollapsibleState.None);
  const iteration = positionText(run);
  const loss = run.bestValLoss === null ? '' : ` · val ${run.bestValLoss.toFixed(3)}`;
  // bits per byte: the one figure that compares runs with different tokenizers
  const bpb = run.bestValBpb === null ? '' : ` · ${run.bestValBpb.toFixed(3)} bpb`;
  const bpbWords = run.bestValBpb === null ? '' : ` · ${run.bestValBpb.toFixed(3)} bits per byte`;
  // a queued job says why it waits (squeue's reason: Resources, Priority, BeginTime ...)
  const state =
    run.state === 'queued' && run.job?.reason && run.job.reason !== 'None'
      ? `queued (${run.job.reason})`
      : stateText(run);
  const job = run.job ? ` · job ${run.job.id}` : '';
  // a pretrained run was never trained: no iteration to show
  item.description = run.pretrained === null ? `${state} · ${iteration}${loss}${bpb}` : state;
  const at = run.pretrained === null ? ` at iteration ${iteration}` : '';
  item.iconPath = ICONS[run.state];
  // a pretrained run has no checkpoint to resume or export: its menu has neither
  item.contextValue = `run.${run.pretrained === null ? run.state : 'pretrained'}${run.hasModel ? '.model' : ''}`;
  item.resourceUri = vscode.Uri.file(run.dir);
  const tooltip = new vscode.MarkdownString(`**${run.name}**: ${state}${at}${loss}${bpbWords}${job}\n\n${run.dir}`);
  if (run.error) tooltip.appendMarkdown(`\n\n${run.error}`);
  item.tooltip = tooltip;
  item.accessibilityInformation = {
    label: `Run ${run.name}, ${state}${run.pretrained === null ? `, iteration ${iteration}` : ''}${loss}${bpbWords}${job}`,
  };
  return item;
}

class RunsProvider implements vscode.TreeDataProvider<RunSummary> {
  private readonly changed = new vscode.EventEmitter<void>();

  constructor(private readonly jobs: ClusterJobs) {}

  readonly onDidChangeTreeData = this.changed.event;
  private pending: NodeJS.Timeout | undefined;

  /** Redraws soon, at most twice a second: each redraw reads every run's events.jsonl, and a
   *  fast run changes many times a second. */
  refresh(): void {
    this.pending ??= setTimeout(() => {
      this.pending = undefined;
      this.changed.fire();
    }, 500);
  }

  getChildren(element?: RunSummary): RunSummary[] {
    if (element) return [];
    const folder = runsFolder();
    return folder ? listRuns(folder, this.jobs.jobOf) : [];
  }

  getTreeItem(run: RunSummary): vscode.TreeItem {
    return runItem(run);
  }
}

/** The run a tree command acts on; the Runs view always gives one. */
function requireRunDir(arg: RunArgument): string {
  const dir = runDirOf(arg);
  if (!dir) throw new UserError('choose a run in the Runs view first.');
  return dir;
}

async function deleteRun(arg: RunArgument, jobs: ClusterJobs): Promise<void> {
  const dir = requireRunDir(arg);
  const run = summarizeRun(dir, jobs.jobOf(dir));
  if (run?.state === 'running' || run?.state === 'queued')
    throw new UserError(
      `${path.basename(dir)} is ${run.state === 'queued' ? 'queued' : 'still training'}: stop it first.`,
    );
  const answer = await vscode.window.showWarningMessage(
    `Delete the run ${path.basename(dir)}?`,
    { modal: true, detail: `${dir}\n\nIts checkpoint, metrics and model go to the trash where the system has one.` },
    'Delete',
  );
  if (answer !== 'Delete') {
    nothingDone('Delete Run', `${path.basename(dir)} was kept`);
    return;
  }
  const uri = vscode.Uri.file(dir);
  try {
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: true });
  } catch {
    // no trash here (a remote or a server): delete, as confirmed
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: false });
  }
}

/** Registers the Runs view and its commands. The tree refreshes when a run's files change and
 *  on every training event; new running runs (a terminal's CLI) get attached then. */
export function registerRunsTree(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  training: TrainingManager,
  metrics: MetricsHub,
  jobs: ClusterJobs,
): void {
  const provider = new RunsProvider(jobs);
  const view = vscode.window.createTreeView('wordplay.runs', {
    treeDataProvider: provider,
    canSelectMany: true,
    showCollapseAll: false,
  });
  const onFiles = () => {
    training.attachRunning();
    provider.refresh();
  };
  const folder = runsFolder();
  if (folder) {
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(folder), '*/{events.jsonl,model.onnx,job.json}'),
    );
    context.subscriptions.push(
      watcher,
      watcher.onDidCreate(onFiles),
      watcher.onDidChange(onFiles),
      watcher.onDidDelete(onFiles),
    );
  }
  const withRun = (id: string, run: (arg: RunArgument) => Promise<void>) =>
    vscode.commands.registerCommand(id, (arg?: RunArgument) => guarded(log, () => run(arg ?? view.selection[0])));
  context.subscriptions.push(
    view,
    training.onDidChange(() => provider.refresh()),
    jobs.onDidChange(() => provider.refresh()),
    view.onDidChangeSelection((e) => {
      if (e.selection.length) metrics.showRuns(e.selection.map((r) => r.dir));
    }),
    vscode.commands.registerCommand('wordplay.refreshRuns', () => onFiles()),
    withRun('wordplay.useForCompletion', async (arg) => {
      const dir = requireRunDir(arg);
      await useForCompletion(context.workspaceState, dir);
      void vscode.window.showInformationMessage(`Wordplay: completing with ${path.basename(dir)}.`);
    }),
    // from the context menu: (the clicked run, every selected run); from the title bar: nothing
    vscode.commands.registerCommand('wordplay.compareRuns', (clicked?: RunArgument, selected?: RunArgument[]) =>
      guarded(log, async () => {
        const chosen = Array.isArray(selected) && selected.length ? selected : clicked ? [clicked] : view.selection;
        compareRuns(
          context,
          log,
          chosen.map(runDirOf).filter((d): d is string => d !== undefined),
        );
      }),
    ),
    withRun('wordplay.revealRun', async (arg) => {
      await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(requireRunDir(arg)));
    }),
    withRun('wordplay.deleteRun', async (arg) => {
      await deleteRun(arg, jobs);
      provider.refresh();
    }),
  );
}
