// One run being trained, as the window shows it: a cancellable progress notification
// (iteration of max, loss, ETA; Cancel stops the run), the trainer's log in the Wordplay
// channel, and each `error` event as an error notification. The trainer is either one this
// window started (TrainerProcess) or one it found running (AttachedTrainer: after a reload, or
// a run started with the CLI); either way the session reads events.jsonl and train.log, so
// both look the same.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EventFollower, type RunEvent } from './core/events';
import { formatDuration, TrainProgress } from './core/progress';
import { runPaths } from './core/runDir';
import type { AttachedTrainer } from './core/supervision';
import { FileTail } from './core/tail';
import type { TrainerProcess } from './core/trainer';

const POLL_MS = 250;

export interface SessionOptions {
  runDir: string;
  trainer: TrainerProcess | AttachedTrainer;
  /** Started by this window just now; otherwise attached, and its events so far are read first. */
  ours: boolean;
  /** The config file the run came from, for the error notification's Open Config. */
  configFile?: vscode.Uri;
  log: vscode.LogOutputChannel;
  onProgress(session: TrainingSession): void;
}

export class TrainingSession {
  readonly runDir: string;
  readonly name: string;
  readonly progress = new TrainProgress();
  /** Resolves when no process of the run is left, with the run's last `done` reason. */
  readonly ended: Promise<string | undefined>;
  private lastDone: string | undefined;

  constructor(private readonly options: SessionOptions) {
    this.runDir = runPaths(options.runDir).root;
    this.name = path.basename(this.runDir);
    const paths = runPaths(this.runDir);
    // an attached run's history (since its latest start) gives the progress so far
    const events = new EventFollower(paths.events, { fromStart: !options.ours });
    const output = new FileTail(paths.log, { fromStart: false });
    if (!options.ours) for (const event of events.poll()) this.progress.update(event);
    const poll = () => {
      for (const line of output.poll()) options.log.info(`[${this.name}] ${line}`);
      for (const event of events.poll()) this.onEvent(event);
    };
    const timer = setInterval(poll, POLL_MS);
    this.ended = options.trainer.done.then(() => {
      clearInterval(timer);
      poll();
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

  /** "120/150 · loss 2.4100 · ETA 12s" */
  summary(): string {
    const p = this.progress;
    const parts = [`${p.iter}/${p.maxIters || '?'}`];
    if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
    const eta = p.eta();
    if (Number.isFinite(eta)) parts.push(`ETA ${formatDuration(eta)}`);
    return parts.join(' · ');
  }

  /** The notification, open until the run ends; its Cancel stops the run. */
  showProgress(): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Wordplay: training ${this.name}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => this.stop());
        let reported = 0;
        const report = () => {
          const percent = this.progress.maxIters ? (100 * this.progress.iter) / this.progress.maxIters : 0;
          progress.report({ message: this.summary(), increment: Math.max(0, percent - reported) });
          reported = Math.max(reported, percent);
        };
        report();
        const timer = setInterval(report, 1000);
        await this.ended;
        clearInterval(timer);
      },
    );
  }

  private onEvent(event: RunEvent): void {
    if (this.progress.update(event)) this.options.onProgress(this);
    if (event.type === 'done') this.lastDone = event.reason;
    if (event.type === 'error') void this.showError(event.message);
  }

  private async showError(message: string): Promise<void> {
    this.options.log.error(`[${this.name}] ${message}`);
    const config = this.options.configFile ?? vscode.Uri.file(runPaths(this.runDir).config);
    const choice = await vscode.window.showErrorMessage(`Wordplay: training ${this.name} failed: ${message}`, 'Show Logs', 'Open Config');
    if (choice === 'Show Logs') this.options.log.show();
    if (choice === 'Open Config') await vscode.window.showTextDocument(config);
  }
}
