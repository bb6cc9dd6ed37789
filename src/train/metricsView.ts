// The metrics dashboard in VS Code: the sidebar view wordplay.metrics and the Open Metrics panel,
// fed by a MetricsFeed (src/core/run/metricsFeed.ts: follows events.jsonl of the shown runs, buffers
// every metric, posts what is new), with the choice of runs kept in the workspace state.
// Webviews are not kept alive when hidden (no retainContextWhenHidden): a view that becomes
// visible again reloads, posts `ready`, and gets the whole buffer replayed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readEvents } from '../core/run/events';
import { metricsCsv } from '../core/run/metrics';
import { MetricsFeed } from '../core/run/metricsFeed';
import { runPaths } from '../core/run/runDir';
import { listRuns } from '../core/run/runs';
import { runsFolder } from '../common/workspace';
import { pickMany } from '../common/prompts';
import { webviewHtml, webviewOptions } from '../common/webviewHtml';
import {
  metricsMessageProblem,
  type HostToMetrics,
  type MetricsState,
  type MetricsToHost,
} from '../core/webview/protocol';

export const METRICS_VIEW_ID = 'wordplay.metrics';
export const METRICS_PANEL_TYPE = 'wordplay.metricsPanel';
const SELECTION_KEY = 'wordplay.metrics.runs';

interface Client {
  webview: vscode.Webview;
  /** Loaded and listening (set by its `ready`, cleared when it is hidden and so unloaded). */
  ready: boolean;
}

/** The workspace's run folders, newest first. */
function workspaceRunDirs(): string[] {
  const folder = runsFolder();
  return folder ? listRuns(folder).map((r) => r.dir) : [];
}

export class MetricsHub implements vscode.Disposable {
  private readonly feed: MetricsFeed;
  private readonly clients = new Set<Client>();
  private panel: vscode.WebviewPanel | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.feed = new MetricsFeed({
      post: (message) => this.broadcast(message),
      warn: (message) => this.log.warn(`metrics: ${message}`),
      error: (message) => this.log.error(`metrics: ${message}`),
    });
    const saved = context.workspaceState.get<string[]>(SELECTION_KEY, []);
    this.setRuns(saved.filter((dir) => fs.existsSync(dir)));
  }

  /** The runs shown, in order (the first gets the first theme colour). */
  get runDirs(): string[] {
    return this.feed.runDirs;
  }

  /** Shows these runs in every dashboard (the Runs tree and Train GPT call this). */
  showRuns(runDirs: string[]): void {
    this.setRuns(runDirs);
    this.feed.postReset();
  }

  private setRuns(runDirs: string[]): void {
    void this.context.workspaceState.update(SELECTION_KEY, this.feed.follow(runDirs));
  }

  private broadcast(message: HostToMetrics): void {
    for (const client of this.clients) if (client.ready) void client.webview.postMessage(message);
  }

  /** Connects a webview (view or panel): its messages, its lifecycle. */
  attach(
    webview: vscode.Webview,
    title: string,
    onVisibility: (listener: (visible: boolean) => void) => vscode.Disposable,
  ): vscode.Disposable {
    webview.options = webviewOptions(this.context.extensionUri);
    webview.html = webviewHtml(webview, this.context.extensionUri, 'metrics', title);
    const client: Client = { webview, ready: false };
    this.clients.add(client);
    const subscriptions = [
      webview.onDidReceiveMessage((message: unknown) => {
        const problem = metricsMessageProblem(message);
        if (problem) {
          this.log.warn(`metrics: ignored a malformed message (${problem}): ${JSON.stringify(message)?.slice(0, 200)}`);
          return;
        }
        void this.handle(message as MetricsToHost, client).catch((err) => this.log.error(`metrics: ${String(err)}`));
      }),
      // hidden = unloaded (no retainContextWhenHidden); it says `ready` again when shown
      onVisibility((visible) => {
        if (!visible) client.ready = false;
      }),
    ];
    return new vscode.Disposable(() => {
      this.clients.delete(client);
      subscriptions.forEach((d) => d.dispose());
    });
  }

  private async handle(message: MetricsToHost, client: Client): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.feed.poll(true);
        client.ready = true;
        await client.webview.postMessage(this.feed.snapshot());
        return;
      case 'metrics/pickRuns':
        await this.pickRuns();
        return;
      case 'metrics/exportCsv': {
        const runs = this.runDirs.map((dir) => ({
          name: path.basename(dir),
          events: readEvents(runPaths(dir).events),
        }));
        if (!runs.length) {
          void vscode.window.showInformationMessage('Wordplay: no runs shown, nothing to export.');
          return;
        }
        const target = await vscode.window.showSaveDialog({
          title: 'Wordplay: save the metrics as CSV',
          defaultUri: this.defaultUri(runs.length === 1 ? `${runs[0].name}-metrics.csv` : 'metrics.csv'),
          filters: { CSV: ['csv'] },
        });
        if (!target) return;
        await vscode.workspace.fs.writeFile(target, Buffer.from(metricsCsv(runs), 'utf8'));
        void vscode.window.showInformationMessage(`Wordplay: saved ${vscode.workspace.asRelativePath(target)}.`);
        return;
      }
      case 'metrics/exportPng': {
        const target = await vscode.window.showSaveDialog({
          title: `Wordplay: save the ${message.chart} chart as PNG`,
          defaultUri: this.defaultUri(`${message.chart}.png`),
          filters: { 'PNG image': ['png'] },
        });
        if (!target) return;
        const bytes = Buffer.from(message.dataUrl.slice('data:image/png;base64,'.length), 'base64');
        await vscode.workspace.fs.writeFile(target, bytes);
        void vscode.window.showInformationMessage(`Wordplay: saved ${vscode.workspace.asRelativePath(target)}.`);
        return;
      }
    }
  }

  private defaultUri(file: string): vscode.Uri | undefined {
    const base = this.runDirs.length === 1 ? this.runDirs[0] : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return base ? vscode.Uri.file(path.join(base, file)) : undefined;
  }

  /** Quick pick of the workspace's runs, newest first, several at once (the Runs tree is the
   *  other way to choose). */
  async pickRuns(): Promise<boolean> {
    const dirs = workspaceRunDirs();
    if (!dirs.length) {
      void vscode.window.showInformationMessage(
        'Wordplay: no runs yet (runs/*/events.jsonl in the workspace). Train a model first.',
      );
      return false;
    }
    const shown = new Set(this.runDirs);
    const items = dirs.map((dir) => ({
      label: path.basename(dir),
      description: vscode.workspace.asRelativePath(dir),
      detail: new Date(fs.statSync(runPaths(dir).events).mtimeMs).toLocaleString(),
      picked: shown.has(dir),
      dir,
    }));
    const picked = await pickMany('Open Metrics', 'the runs shown stay as they were', items, {
      title: 'Wordplay: runs to show in the metrics dashboard',
    });
    if (!picked) return false;
    this.showRuns(picked.map((p) => p.dir));
    return true;
  }

  /** Opens (or reveals) the larger dashboard in an editor tab. */
  openPanel(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      METRICS_PANEL_TYPE,
      'Wordplay Metrics',
      vscode.ViewColumn.Active,
      webviewOptions(this.context.extensionUri),
    );
    this.adoptPanel(panel);
  }

  /** Wires a panel: a new one, or one VS Code restores after a restart (serializer). */
  adoptPanel(panel: vscode.WebviewPanel, restored?: MetricsState): void {
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'wordplay.svg');
    if (restored?.runs?.length && this.runDirs.length === 0)
      this.setRuns(restored.runs.filter((d) => typeof d === 'string' && fs.existsSync(d)));
    const attachment = this.attach(panel.webview, 'Wordplay Metrics', (listener) =>
      panel.onDidChangeViewState((e) => listener(e.webviewPanel.visible)),
    );
    panel.onDidDispose(() => {
      attachment.dispose();
      if (this.panel === panel) this.panel = undefined;
    });
  }

  dispose(): void {
    this.feed.dispose();
    this.clients.clear();
  }
}

class MetricsViewProvider implements vscode.WebviewViewProvider {
  constructor(private readonly hub: MetricsHub) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    const attachment = this.hub.attach(view.webview, 'Wordplay Metrics', (listener) =>
      view.onDidChangeVisibility(() => listener(view.visible)),
    );
    view.onDidDispose(() => attachment.dispose());
  }
}

/** Registers the sidebar view, the panel's serializer and the Open Metrics command; returns the
 *  hub, whose showRuns(runDirs) the Runs tree and Train GPT use. */
export function registerMetrics(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): MetricsHub {
  const hub = new MetricsHub(context, log);
  context.subscriptions.push(
    hub,
    vscode.window.registerWebviewViewProvider(METRICS_VIEW_ID, new MetricsViewProvider(hub)),
    vscode.window.registerWebviewPanelSerializer(METRICS_PANEL_TYPE, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        hub.adoptPanel(panel, (state ?? undefined) as MetricsState | undefined);
      },
    }),
    vscode.commands.registerCommand('wordplay.openMetrics', async (runDirs?: unknown) => {
      if (Array.isArray(runDirs) && runDirs.length && runDirs.every((d) => typeof d === 'string'))
        hub.showRuns(runDirs);
      else if (!(await hub.pickRuns()) && hub.runDirs.length === 0) return;
      hub.openPanel();
    }),
  );
  // nothing chosen yet: show the newest run of the workspace
  if (hub.runDirs.length === 0) {
    const newest = workspaceRunDirs()[0];
    if (newest) hub.showRuns([newest]);
  }
  return hub;
}
