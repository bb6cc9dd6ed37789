// One run being trained, as the window shows it: a cancellable progress notification
// (iteration of max, ETA or a time budget and what it has left, loss; Cancel stops the run), the trainer's log in the Wordplay
// channel, and each `error` event as an error notification. The trainer is either one this
// window started (TrainerProcess) or one it found running (AttachedTrainer: after a reload, or
// a run started with the CLI); either way the session reads events.jsonl and train.log, so
// both look the same. The notification and the status bar are drawn from the same fold
// (TrainProgress) at the same poll, so they never disagree.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EventFollower } from '../core/run/events';
import { TrainProgress } from '../core/run/progress';
import { runPaths } from '../core/run/runDir';
import type { AttachedTrainer } from '../core/run/supervision';
import { FileTail } from '../core/run/tail';
import type { TrainerProcess } from '../core/train/trainerProcess';
import { ProgressNotification } from '../common/progressNotification';

const POLL_MS = 250;

export interface SessionOptions {
  runDir: string;
  trainer: TrainerProcess | AttachedTrainer;
  /** Started by this window just now; otherwise attached, and its events so far are read first. */
  ours: boolean;
  /** The config file the run came from, for the error notification's Open Config. */
  configFile?: vscode.Uri;
  /** The notification the command that started the run opened already; else one is opened. */
  notification?: ProgressNotification;
  log: vscode.LogOutputChannel;
  /** Called after each poll that changed what the run shows. */
  onProgress(session: TrainSession): void;
}

export class TrainSession {
  readonly runDir: string;
  readonly name: string;
  readonly progress = new TrainProgress();
  /** Resolves when no process of the run is left, with the run's last `done` reason. */
  readonly ended: Promise<string | undefined>;
  private lastDone: string | undefined;
  private readonly notification: ProgressNotification;

  constructor(private readonly options: SessionOptions) {
    this.runDir = runPaths(options.runDir).root;
    this.name = path.basename(this.runDir);
    const paths = runPaths(this.runDir);
    // an attached run's history (since its latest start) gives the progress so far
    const events = new EventFollower(paths.events, { fromStart: !options.ours });
    const output = new FileTail(paths.log, { fromStart: false });
    if (!options.ours) for (const event of events.poll()) this.progress.update(event);
    this.notification =
      options.notification ?? new ProgressNotification(`Wordplay: training ${this.name}`, this.summary());
    this.notification.onCancel(() => this.stop());
    this.showProgress();
    const poll = () => {
      for (const line of output.poll()) options.log.info(`[${this.name}] ${line}`);
      let changed = false;
      for (const event of events.poll()) {
        if (this.progress.update(event)) changed = true;
        if (event.type === 'done') this.lastDone = event.reason;
        if (event.type === 'error') void this.showError(event.message);
      }
      if (changed) {
        this.showProgress();
        options.onProgress(this);
      }
    };
    const timer = setInterval(poll, POLL_MS);
    this.ended = options.trainer.done.then(() => {
      clearInterval(timer);
      poll();
      this.notification.close();
      const rest = output.rest();
      if (rest) options.log.info(`[${this.name}] ${rest}`);
      return this.lastDone;
    });
  }

  get pid(): number | undefined {
    return this.options.trainer.pid;
  }

  stop(): void {
    this.options.log.info(`Stopping ${this.name} (it finishes its step and saves a checkpoint) ...`);
    this.options.trainer.stop();
  }

  /** "120/150 · ETA 12s · loss 2.4100" (TrainProgress.summary), or what happens before the
   *  trainer's first event: the notification's and the status bar's words. */
  summary(): string {
    return this.progress.maxIters === null ? 'starting the trainer…' : this.progress.summary();
  }

  private showProgress(): void {
    this.notification.report(this.summary(), 100 * this.progress.fraction());
  }

  private async showError(message: string): Promise<void> {
    this.options.log.error(`[${this.name}] ${message}`);
    const config = this.options.configFile ?? vscode.Uri.file(runPaths(this.runDir).config);
    const choice = await vscode.window.showErrorMessage(
      `Wordplay: training ${this.name} failed: ${message}`,
      'Show Logs',
      'Open Config',
    );
    if (choice === 'Show Logs') this.options.log.show();
    if (choice === 'Open Config') await vscode.window.showTextDocument(config);
  }
}
