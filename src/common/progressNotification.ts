// A cancellable progress notification opened before its work is known: a command shows it the
// moment it is asked ("checking the Python environment…"), and the work it then starts (a
// training run's session) reports into the same notification. Cancel goes to whichever handler
// is set at the time: before a run starts it only marks the notification cancelled.
import * as vscode from 'vscode';

export class ProgressNotification {
  /** Cancel was pressed. */
  cancelled = false;
  private progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private cancelHandler: (() => void) | undefined;
  private last: { message: string; percent: number };
  private reported = 0;
  private finish: () => void = () => {};
  private readonly finished = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(title: string, message: string) {
    this.last = { message, percent: 0 };
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      (progress, token) => {
        this.progress = progress;
        token.onCancellationRequested(() => {
          this.cancelled = true;
          this.cancelHandler?.();
        });
        this.flush();
        return this.finished;
      },
    );
  }

  /** Shows `message`, the bar at `percent` (it never moves back). */
  report(message: string, percent = this.last.percent): void {
    this.last = { message, percent };
    this.flush();
  }

  /** What Cancel does from now on (a cancel already pressed calls it at once). */
  onCancel(handler: () => void): void {
    this.cancelHandler = handler;
    if (this.cancelled) handler();
  }

  close(): void {
    this.finish();
  }

  private flush(): void {
    if (!this.progress) return;
    const increment = Math.max(0, this.last.percent - this.reported);
    this.reported += increment;
    this.progress.report({ message: this.last.message, increment });
  }
}
