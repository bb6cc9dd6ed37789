// Training from the editor: the commands Train GPT, Submit Training to Cluster…, Stop Training,
// Resume Training and the export commands (exportCommands.ts), and the sessions of the runs this window shows. A run belongs to its run dir, not to
// the window: on activation (and whenever the runs folder changes) every running run is
// attached, whether a previous window or the CLI started it. The runs a window starts are tied
// to its extension host (unless wordplay.keepTrainingOnClose): when it ends, by a close or a
// crash, they stop gracefully after a grace period, unless a reloaded window takes them over.
// Train GPT and Resume Training show their notification the moment the run is asked for, and the
// Python check and the run report into it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { guarded, requireTrust } from '../common/commandGuards';
import { loadConfig, type RunConfig } from '../core/train/config';
import { datasetFiles } from '../core/prepare/dataset';
import { UserError } from '../core/common/errors';
import { defaultRunDir, runPaths } from '../core/run/runDir';
import { listRuns, stateText, summarizeRun, type RunSummary } from '../core/run/runs';
import { AttachedTrainer, liveTrainer, takeOverRun } from '../core/run/supervision';
import { startTrainer } from '../core/train/trainerProcess';
import { submitRun } from '../core/cluster';
import type { MetricsHub } from './metricsView';
import { runsFolder } from '../common/workspace';
import { ProgressNotification } from '../common/progressNotification';
import { input, nothingDone } from '../common/prompts';
import { trainingEnvironment } from '../common/pythonCommands';
import { TrainSession } from './trainSession';
import type { ClusterJobs } from './clusterJobs';
import { CHECKING_PYTHON, exportModel, type ExportDeps } from './exportCommands';
import { allowFolders } from './folderAllowance';
import { pickConfig, pickRun } from './runPickers';

/** What a command can be given: a run folder path, a Runs tree item, or nothing (ask). */
export type RunArgument = string | RunSummary | undefined;

/** The run folder an argument names, if any. */
export function runDirOf(arg: RunArgument): string | undefined {
  return typeof arg === 'string' ? arg : arg?.dir;
}

function keepTrainingOnClose(): boolean {
  return vscode.workspace.getConfiguration('wordplay').get<boolean>('keepTrainingOnClose', false);
}

function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new UserError('open a folder first: runs and datasets live in the workspace.');
  return folder.uri.fsPath;
}

export class TrainingManager implements vscode.Disposable {
  private readonly sessions = new Map<string, TrainSession>();
  private readonly status = vscode.window.createStatusBarItem('wordplay.training', vscode.StatusBarAlignment.Left, 50);
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a run starts, makes progress or ends (the Runs tree listens). */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly metrics: MetricsHub,
    private readonly state: vscode.Memento,
    private readonly jobs: ClusterJobs,
  ) {
    this.status.name = 'Wordplay training';
    this.status.command = { title: 'Open Metrics', command: 'wordplay.metrics.focus' };
  }

  register(context: vscode.ExtensionContext): void {
    const exportDeps: ExportDeps = {
      log: this.log,
      jobOf: this.jobs.jobOf,
      onExported: () => this.changed.fire(),
    };
    const command = (id: string, run: (arg: RunArgument) => Promise<void>) =>
      vscode.commands.registerCommand(id, (arg?: RunArgument) => guarded(this.log, () => run(arg)));
    context.subscriptions.push(
      this,
      vscode.commands.registerCommand('wordplay.train', (uri?: vscode.Uri) => guarded(this.log, () => this.train(uri))),
      vscode.commands.registerCommand('wordplay.submitTraining', (uri?: vscode.Uri) =>
        guarded(this.log, () => this.submit(uri)),
      ),
      command('wordplay.stopTraining', (arg) => this.stop(runDirOf(arg))),
      command('wordplay.resumeTraining', (arg) => this.resume(runDirOf(arg))),
      command('wordplay.exportModel', (arg) => exportModel(exportDeps, runDirOf(arg))),
      command('wordplay.exportHuggingFace', (arg) => exportModel(exportDeps, runDirOf(arg), 'hf')),
      command('wordplay.exportGguf', (arg) => exportModel(exportDeps, runDirOf(arg), 'gguf')),
      command('wordplay.exportPeft', (arg) => exportModel(exportDeps, runDirOf(arg), 'peft')),
    );
    this.attachRunning();
  }

  /** Attaches every running run of the workspace that no session follows yet. */
  attachRunning(): void {
    const folder = runsFolder();
    if (!folder) return;
    for (const run of listRuns(folder, this.jobs.jobOf)) {
      // a submitted run trains on the cluster's machines: its job is followed instead
      if (run.state !== 'running' || run.job || this.sessions.has(run.dir)) continue;
      const trainer = liveTrainer(run.dir, run.pid);
      if (!trainer) continue;
      // a run whose window went away (a reload) stays alive with this one
      const tookOver = takeOverRun(run.dir, process.pid);
      this.log.info(
        `Following ${run.name}, running as process ${trainer.pid}${tookOver ? '; this window took it over from the one that started it' : ''}.`,
      );
      this.follow(
        new TrainSession({
          runDir: run.dir,
          trainer: new AttachedTrainer(trainer),
          ours: false,
          log: this.log,
          onProgress: () => this.update(),
        }),
      );
      if (this.metrics.runDirs.length === 0) this.metrics.showRuns([run.dir]);
    }
  }

  /** Train GPT: a config file (given, or picked from the workspace's and the presets), then start. */
  async train(uri?: vscode.Uri): Promise<void> {
    if (!requireTrust('Training')) return;
    const run = await this.newRun('Train GPT', uri);
    if (run) await this.checkAndStart('Train GPT', run.runDir, run.config, run.configFile);
  }

  /** Submit Training to Cluster…: a config, as for Train GPT, submitted as a batch job to the
   *  scheduler its cluster group names (core/cluster). The run shows in the Runs tree as queued,
   *  then as it trains, through its run folder on the shared file system. */
  async submit(uri?: vscode.Uri): Promise<void> {
    const command = 'Submit Training to Cluster';
    if (!requireTrust('Submitting training')) return;
    const run = await this.newRun(command, uri);
    if (!run) return;
    const scheduler = run.config.cluster.scheduler;
    const notification = new ProgressNotification(
      `Wordplay: submitting ${path.basename(run.runDir)} to ${scheduler}`,
      CHECKING_PYTHON,
    );
    try {
      const env = await trainingEnvironment();
      // without an environment, trainingEnvironment said why
      if (!env) return;
      if (!(await allowFolders(this.state, run.config, run.runDir))) {
        nothingDone(command, 'the folders outside the workspace were not allowed');
        return;
      }
      notification.report(scheduler === 'slurm' ? 'sbatch…' : 'qsub…');
      const job = await submitRun({ scheduler, config: run.config, runDir: run.runDir, env });
      this.log.info(
        `Submitted ${path.basename(run.runDir)} to ${scheduler} as job ${job.jobId}; batch script ${job.script}.`,
      );
      this.jobs.submitted(job, env);
      this.metrics.showRuns([run.runDir]);
      void vscode.window
        .showInformationMessage(
          `Wordplay: submitted ${path.basename(run.runDir)} to ${scheduler} as job ${job.jobId}.`,
          'Open Batch Script',
        )
        .then(async (choice) => {
          if (choice) await vscode.window.showTextDocument(vscode.Uri.file(job.script));
        });
    } finally {
      notification.close();
    }
  }

  /** The config a new run trains with (given, or picked), saved if it was being edited, and a
   *  new run folder for it; undefined when none was picked or its dataset is not prepared. */
  private async newRun(
    command: string,
    uri?: vscode.Uri,
  ): Promise<{ config: RunConfig; runDir: string; configFile: vscode.Uri } | undefined> {
    const root = workspaceRoot();
    const configFile = uri ?? (await pickConfig(root, command));
    if (!configFile) return undefined;
    if (configFile.scheme !== 'file') throw new UserError(`${configFile.toString()} is not a file on this machine.`);
    const document = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === configFile.fsPath);
    if (document?.isDirty) await document.save();
    const { config, name } = loadConfig(configFile.fsPath, [], root);
    if (!(await this.datasetReady(config.data.dataset, configFile))) return undefined;
    const folder = runsFolder() ?? path.join(root, 'runs');
    return { config, runDir: defaultRunDir(name, folder), configFile };
  }

  /** Opens the run's notification at once, checks the Python it will train with (saying so in
   *  the notification), and starts the run, which reports into the same notification. */
  private async checkAndStart(
    command: string,
    runDir: string,
    config: RunConfig,
    configFile?: vscode.Uri,
  ): Promise<void> {
    const notification = new ProgressNotification(`Wordplay: training ${path.basename(runDir)}`, CHECKING_PYTHON);
    let started = false;
    try {
      const env = await trainingEnvironment();
      // without an environment, trainingEnvironment said why
      if (!env) return;
      if (notification.cancelled) {
        nothingDone(command, 'Cancel was pressed before the run started');
        return;
      }
      notification.report('starting the trainer…');
      started = await this.start(runDir, config, env, configFile, notification);
      if (!started) nothingDone(command, 'the folders outside the workspace were not allowed');
    } finally {
      if (!started) notification.close();
    }
  }

  /** An unprepared dataset is the commonest first mistake: say so before a run folder is made,
   *  with the command that fixes it. */
  private async datasetReady(dataset: string, configFile: vscode.Uri): Promise<boolean> {
    if (fs.existsSync(path.join(dataset, datasetFiles.meta))) return true;
    const shakespeare = path.basename(dataset) === 'shakespeare-char';
    const prepare = shakespeare ? 'Prepare Tiny Shakespeare' : 'Prepare Dataset';
    const choice = await vscode.window.showWarningMessage(
      `Wordplay: ${vscode.workspace.asRelativePath(configFile)} trains on ${dataset}, which is not a prepared dataset yet (no ${datasetFiles.meta}).`,
      prepare,
      'Open Config',
    );
    if (choice === prepare)
      await vscode.commands.executeCommand(shakespeare ? 'wordplay.prepareShakespeare' : 'wordplay.prepareDataset');
    if (choice === 'Open Config') await vscode.window.showTextDocument(configFile);
    return false;
  }

  /** Resume Training: a stopped, failed or finished run continues from its checkpoint. */
  async resume(runDir?: string): Promise<void> {
    const dir =
      runDir ??
      (await pickRun(
        'Resume Training',
        'Resume which run?',
        'no run was resumed',
        (r) => r.state !== 'running' && fs.existsSync(runPaths(r.dir).checkpointState),
        this.jobs.jobOf,
      ));
    if (!dir) return;
    const run = summarizeRun(dir);
    if (!run) throw new UserError(`${dir} is not a run folder (it has no events.jsonl).`);
    if (run.state === 'running') throw new UserError(`${run.name} is still training.`);
    if (!fs.existsSync(runPaths(dir).checkpointState))
      throw new UserError(`${run.name} has no checkpoint to resume from; train it again instead.`);
    const saved = loadConfig(runPaths(dir).config).config;
    // a run with a time budget gets a new one, its iterations counted from the resume
    if (saved.train.time_budget_s !== null) {
      const seconds = await input('Resume Training', `${run.name} was not resumed`, {
        title: `Wordplay: resume ${run.name} from iteration ${run.iter}`,
        prompt: 'Train for how many more seconds (train.time_budget_s)',
        value: String(saved.train.time_budget_s),
        validateInput: (v) => (Number(v) > 0 && Number.isFinite(Number(v)) ? undefined : 'a number of seconds above 0'),
      });
      if (seconds === undefined) return;
      const sets = ['train.init_from=resume', `train.time_budget_s=${Number(seconds)}`];
      await this.checkAndStart('Resume Training', dir, loadConfig(runPaths(dir).config, sets).config);
      return;
    }
    const until = await input('Resume Training', `${run.name} was not resumed`, {
      title: `Wordplay: resume ${run.name} from iteration ${run.iter}`,
      prompt: 'Train until iteration',
      value: String(run.iter >= saved.train.max_iters ? saved.train.max_iters * 2 : saved.train.max_iters),
      validateInput: (v) => (/^\d+$/.test(v) && Number(v) > run.iter ? undefined : `a whole number above ${run.iter}`),
    });
    if (until === undefined) return;
    const { config } = loadConfig(runPaths(dir).config, ['train.init_from=resume', `train.max_iters=${until}`]);
    await this.checkAndStart('Resume Training', dir, config);
  }

  /** Stop Training: the given run, the only one, or one picked among those training. */
  async stop(runDir?: string): Promise<void> {
    let dir = runDir === undefined ? undefined : path.resolve(runDir);
    if (!dir && this.sessions.size === 1) dir = [...this.sessions.keys()][0];
    dir ??= await pickRun(
      'Stop Training',
      'Stop which run?',
      'no run was stopped',
      (r) => r.state === 'running' || r.state === 'queued',
      this.jobs.jobOf,
    );
    if (!dir) return;
    if (await this.jobs.stop(dir)) return;
    // a run started elsewhere a moment ago may not be followed yet
    if (!this.sessions.has(dir)) this.attachRunning();
    const session = this.sessions.get(dir);
    if (!session) throw new UserError(`${path.basename(dir)} is not training.`);
    session.stop();
  }

  dispose(): void {
    // Nothing is stopped here: VS Code cannot tell a reload from a close. A run started without
    // keepTrainingOnClose watches this extension host's pid and stops gracefully once it is gone,
    // unless the next window takes it over first (see supervision.ts).
    this.status.dispose();
    this.changed.dispose();
  }

  /** Starts the trainer; false when the user did not allow the folders it would use. */
  private async start(
    runDir: string,
    config: RunConfig,
    env: NodeJS.ProcessEnv,
    configFile: vscode.Uri | undefined,
    notification: ProgressNotification,
  ): Promise<boolean> {
    const dir = path.resolve(runDir);
    if (this.sessions.has(dir)) throw new UserError(`${path.basename(dir)} is already training.`);
    if (!(await allowFolders(this.state, config, dir))) return false;
    // without keepTrainingOnClose the trainer stops when this window's process is gone
    const trainerEnv = keepTrainingOnClose() ? env : { ...env, WORDPLAY_STOP_WITH_PID: String(process.pid) };
    const trainer = startTrainer({ config, runDir: dir, env: trainerEnv });
    this.log.info(`Training ${path.basename(dir)} (process ${trainer.pid}) in ${dir}`);
    const session = new TrainSession({
      runDir: dir,
      trainer,
      ours: true,
      configFile,
      notification,
      log: this.log,
      onProgress: () => this.update(),
    });
    this.follow(session);
    this.metrics.showRuns([dir]);
    return true;
  }

  private follow(session: TrainSession): void {
    this.sessions.set(session.runDir, session);
    this.update();
    void session.ended.then((reason) => {
      this.sessions.delete(session.runDir);
      this.update();
      const run = summarizeRun(session.runDir);
      this.log.info(`${session.name} ${run?.state ?? reason ?? 'ended'} at iteration ${run?.iter ?? '?'}.`);
      if (run?.state === 'finished' || run?.state === 'stopped') {
        const bpb = run.bestValBpb === null ? '' : ` (${run.bestValBpb.toFixed(4)} bits per byte)`;
        const loss = run.bestValLoss === null ? '' : `, best val loss ${run.bestValLoss.toFixed(4)}${bpb}`;
        const ended = run.reachedTarget === null ? `${run.state} at iteration ${run.iter}` : stateText(run);
        void vscode.window.showInformationMessage(`Wordplay: ${session.name} ${ended}${loss}.`);
      }
    });
  }

  private update(): void {
    void vscode.commands.executeCommand('setContext', 'wordplay.training', this.sessions.size > 0);
    const latest = [...this.sessions.values()].pop();
    if (latest) {
      const speed =
        latest.progress.tokensPerS === undefined
          ? ''
          : ` · ${Math.round(latest.progress.tokensPerS).toLocaleString('en-US')} tok/s`;
      this.status.text = `$(pulse) ${latest.summary()}${speed}`;
      this.status.tooltip = `Wordplay: training ${latest.name} (click for the metrics)`;
      this.status.show();
    } else {
      this.status.hide();
    }
    this.changed.fire();
  }
}
