// Training from the editor: the commands Train GPT, Submit Training to Cluster…, Stop Training,
// Resume Training and Export Model, and the sessions of the runs this window shows. A run belongs to its run dir, not to
// the window: on activation (and whenever the runs folder changes) every running run is
// attached, whether a previous window or the CLI started it. The runs a window starts are tied
// to its extension host (unless wordplay.keepTrainingOnClose): when it ends, by a close or a
// crash, they stop gracefully after a grace period, unless a reloaded window takes them over.
// Train GPT and Resume Training show their notification the moment the run is asked for, and the
// Python check and the run report into it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { guarded, requireTrust } from '../common/commandGuards';
import { loadConfig, presetNames, presetsDir, type RunConfig } from '../core/train/config';
import { datasetFiles } from '../core/prepare/dataset';
import { UserError } from '../core/common/errors';
import { trainerInvocation } from '../core/common/pythonEnv';
import { defaultRunDir, runPaths } from '../core/run/runDir';
import { defaultExportTarget, exportArguments, type ExportFormat } from '../core/train/exportTarget';
import { positionText } from '../core/run/progress';
import { listRuns, stateText, summarizeRun, type RunSummary } from '../core/run/runs';
import { AttachedTrainer, liveTrainer, takeOverRun } from '../core/run/supervision';
import { startTrainer } from '../core/train/trainerProcess';
import { submitRun } from '../core/cluster';
import { boundsProblems, checkBounds } from '../core/train/workspaceBounds';
import type { MetricsHub } from './metricsView';
import { runsFolder } from '../common/workspace';
import { ProgressNotification } from '../common/progressNotification';
import { chooseFile, input, nothingDone, pick } from '../common/prompts';
import { trainingEnvironment } from '../common/pythonCommands';
import { TrainSession } from './trainSession';
import type { ClusterJobs } from './clusterJobs';

/** What the notification says while the interpreter is checked (seconds, the first time). */
const CHECKING_PYTHON = 'checking the Python environment…';
/** The export commands' titles, as package.json names them. */
const EXPORT_TITLES: Record<ExportFormat, string> = {
  onnx: 'Export Model',
  hf: 'Export for Hugging Face',
  gguf: 'Export to GGUF',
};

/** Folders outside the workspace the user chose to allow, per workspace. */
const ALLOWED_KEY = 'wordplay.allowedFolders';

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
      command('wordplay.exportModel', (arg) => this.exportModel(runDirOf(arg))),
      command('wordplay.exportHuggingFace', (arg) => this.exportModel(runDirOf(arg), 'hf')),
      command('wordplay.exportGguf', (arg) => this.exportModel(runDirOf(arg), 'gguf')),
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
      if (!(await this.allowFolders(run.config, run.runDir))) {
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
    const configFile = uri ?? (await this.pickConfig(root, command));
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
      (await this.pickRun(
        'Resume Training',
        'Resume which run?',
        'no run was resumed',
        (r) => r.state !== 'running' && fs.existsSync(runPaths(r.dir).checkpointState),
      ));
    if (!dir) return;
    const run = summarizeRun(dir);
    if (!run) throw new UserError(`${dir} is not a run folder (it has no events.jsonl).`);
    if (run.state === 'running') throw new UserError(`${run.name} is still training.`);
    if (!fs.existsSync(runPaths(dir).checkpointState))
      throw new UserError(`${run.name} has no checkpoint to resume from; train it again instead.`);
    const saved = loadConfig(runPaths(dir).config).config;
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
    dir ??= await this.pickRun(
      'Stop Training',
      'Stop which run?',
      'no run was stopped',
      (r) => r.state === 'running' || r.state === 'queued',
    );
    if (!dir) return;
    if (await this.jobs.stop(dir)) return;
    // a run started elsewhere a moment ago may not be followed yet
    if (!this.sessions.has(dir)) this.attachRunning();
    const session = this.sessions.get(dir);
    if (!session) throw new UserError(`${path.basename(dir)} is not training.`);
    session.stop();
  }

  /** Export Model: model.onnx + model.json from the run's checkpoint (training does this by
   *  itself when it ends; this is for a failed export or an older run). Export for Hugging Face
   *  and Export to GGUF write a folder transformers loads, or a file for llama.cpp, into the run
   *  folder under a name not yet taken (exportTarget.ts). */
  async exportModel(runDir?: string, format: ExportFormat = 'onnx'): Promise<void> {
    const title = EXPORT_TITLES[format];
    const dir =
      runDir ??
      (await this.pickRun(
        title,
        'Export which run?',
        'no model was exported',
        (r) => r.state !== 'running' && fs.existsSync(runPaths(r.dir).checkpointState),
      ));
    if (!dir) return;
    const out = format === 'onnx' ? runPaths(dir).onnx : defaultExportTarget(dir, format);
    const code = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Wordplay: exporting ${path.basename(dir)}`,
        cancellable: true,
      },
      async (progress, token) => {
        progress.report({ message: CHECKING_PYTHON });
        const env = await trainingEnvironment();
        // without an environment, trainingEnvironment said why
        if (!env) return undefined;
        if (token.isCancellationRequested) return 'cancelled';
        progress.report({ message: `writing ${path.basename(out)}…` });
        const exported = exportArguments(dir, format, out);
        const inv = trainerInvocation(exported.args, env);
        return new Promise<number | null>((resolve, reject) => {
          const child = spawn(inv.command, inv.args, { env: inv.env, stdio: ['ignore', 'pipe', 'pipe'] });
          token.onCancellationRequested(() => child.kill('SIGINT'));
          const toLog = (chunk: Buffer) =>
            chunk
              .toString('utf8')
              .split(/\r?\n/)
              .filter(Boolean)
              .forEach((line) => this.log.info(line));
          child.stdout.on('data', toLog);
          child.stderr.on('data', toLog);
          child.on('error', reject);
          child.on('close', resolve);
        }).finally(() => exported.cleanup());
      },
    );
    if (code === undefined) return;
    if (code === 'cancelled') {
      nothingDone(title, 'Cancel was pressed before the export started');
      return;
    }
    if (code !== 0)
      throw new UserError(
        `exporting ${path.basename(dir)} failed (exit ${code}); the Wordplay log has the trainer's message.`,
      );
    const shown = path.relative(path.dirname(dir), out);
    if (format === 'onnx') void vscode.window.showInformationMessage(`Wordplay: exported ${shown}.`);
    else
      void vscode.window
        .showInformationMessage(`Wordplay: exported ${shown}.`, 'Reveal')
        .then((choice) => choice && vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(out)));
    this.changed.fire();
  }

  dispose(): void {
    // Nothing is stopped here: VS Code cannot tell a reload from a close. A run started without
    // keepTrainingOnClose watches this extension host's pid and stops gracefully once it is gone,
    // unless the next window takes it over first (see supervision.ts).
    this.status.dispose();
    this.changed.dispose();
  }

  /** A config's folders must lie in the workspace, or in folders the user chose in a dialog:
   *  a config from a stranger must not make the trainer read or write elsewhere. */
  private async allowFolders(config: RunConfig, runDir: string): Promise<boolean> {
    const bounds = {
      roots: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      allowed: this.state.get<string[]>(ALLOWED_KEY, []),
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
    await this.state.update(ALLOWED_KEY, bounds.allowed);
    checkBounds(config, runDir, bounds);
    return true;
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
    if (!(await this.allowFolders(config, dir))) return false;
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

  private async pickConfig(root: string, command: string): Promise<vscode.Uri | undefined> {
    const files = await vscode.workspace.findFiles('**/*.wordplay.json', '**/node_modules/**', 200);
    const active = vscode.window.activeTextEditor?.document.uri;
    files.sort(
      (a, b) =>
        Number(b.fsPath === active?.fsPath) - Number(a.fsPath === active?.fsPath) || a.fsPath.localeCompare(b.fsPath),
    );
    type Item = vscode.QuickPickItem & { file?: vscode.Uri; preset?: string };
    const items: Item[] = [
      ...files.map((file) => ({
        label: path.basename(file.fsPath),
        description: vscode.workspace.asRelativePath(path.dirname(file.fsPath)),
        file,
      })),
      { label: 'Presets', kind: vscode.QuickPickItemKind.Separator },
      ...presetNames().map((preset) => ({
        label: preset,
        description: 'preset: saved as a config file in the workspace',
        preset,
      })),
    ];
    const picked = await pick(command, 'no config was chosen, so no run was started', items, {
      title: `Wordplay: ${command} with which config?`,
      placeHolder: 'A *.wordplay.json config, or a preset',
    });
    if (!picked) return undefined;
    if (picked.file) return picked.file;
    // a preset becomes a file the user can edit and train again
    const target = vscode.Uri.file(path.join(root, `${picked.preset}.wordplay.json`));
    if (!fs.existsSync(target.fsPath)) fs.copyFileSync(path.join(presetsDir, `${picked.preset}.json`), target.fsPath);
    return target;
  }

  private async pickRun(
    command: string,
    title: string,
    cancelled: string,
    filter: (run: RunSummary) => boolean,
  ): Promise<string | undefined> {
    const folder = runsFolder();
    const runs = folder ? listRuns(folder, this.jobs.jobOf).filter(filter) : [];
    if (runs.length === 0) {
      void vscode.window.showInformationMessage(
        `Wordplay: ${command}: no run to choose from in ${folder ?? 'this workspace'}.`,
      );
      return undefined;
    }
    const picked = await pick(
      command,
      cancelled,
      runs.map((r) => ({ label: r.name, description: `${r.state} · ${positionText(r)}`, dir: r.dir })),
      { title: `Wordplay: ${title}` },
    );
    return picked?.dir;
  }
}
