// The metrics dashboard on the host: follows events.jsonl of the shown runs (not the trainer's
// stdout, so it reattaches after a reload or to a run started in a terminal), buffers every
// metric, and feeds the webviews: the sidebar view wordplay.metrics and the Open Metrics panel.
// Webviews are not kept alive when hidden (no retainContextWhenHidden): a view that becomes
// visible again reloads, posts `ready`, and gets the whole buffer replayed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EventFollower, readEvents } from './core/events';
import { metricsCsv, RunMetrics } from './core/metrics';
import { runPaths } from './core/runDir';
import { listRuns } from './core/runs';
import { runsFolder } from './modelChoice';
import type { Tokenizer } from './core/tokenizer';
import { webviewHtml, webviewOptions } from './webviewHtml';
import { metricsMessageProblem, type HostToMetrics, type MetricsState, type MetricsToHost } from '../webview/protocol';

export const METRICS_VIEW_ID = 'wordplay.metrics';
export const METRICS_PANEL_TYPE = 'wordplay.metricsPanel';
const SELECTION_KEY = 'wordplay.metrics.runs';
const POLL_MS = 500;

interface Client {
  webview: vscode.Webview;
  /** Loaded and listening (set by its `ready`, cleared when it is hidden and so unloaded). */
  ready: boolean;
}

interface Followed {
  follower: EventFollower;
  metrics: RunMetrics;
  tokenizer?: Promise<Tokenizer | undefined>;
}

/** The workspace's run folders, newest first. */
function workspaceRunDirs(): string[] {
  const folder = runsFolder();
  return folder ? listRuns(folder).map((r) => r.dir) : [];
}

export class MetricsHub implements vscode.Disposable {
  private readonly runs = new Map<string, Followed>();
  private readonly clients = new Set<Client>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private panel: vscode.WebviewPanel | undefined;
  private polling = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const saved = context.workspaceState.get<string[]>(SELECTION_KEY, []);
    this.setRuns(saved.filter((dir) => fs.existsSync(dir)));
  }

  /** The runs shown, in order (the first gets the first theme colour). */
  get runDirs(): string[] {
    return [...this.runs.keys()];
  }

  /** Shows these runs in every dashboard (the Runs tree and Train GPT call this). */
  showRuns(runDirs: string[]): void {
    this.setRuns(runDirs);
    this.broadcastReset();
  }

  private setRuns(runDirs: string[]): void {
    const wanted = [...new Set(runDirs.map((d) => path.resolve(d)))];
    for (const dir of [...this.runs.keys()]) if (!wanted.includes(dir)) this.runs.delete(dir);
    const next = new Map<string, Followed>();
    for (const dir of wanted) {
      next.set(dir, this.runs.get(dir) ?? { follower: new EventFollower(runPaths(dir).events), metrics: new RunMetrics(dir) });
    }
    this.runs.clear();
    for (const [dir, f] of next) this.runs.set(dir, f);
    void this.context.workspaceState.update(SELECTION_KEY, wanted);
    this.poll(true);
    if (wanted.length && !this.timer) this.timer = setInterval(() => this.poll(false), POLL_MS);
    if (!wanted.length && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Reads what the runs appended; sends it to loaded webviews (unless `quiet`). */
  private poll(quiet: boolean): void {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const followed of this.runs.values()) {
        const events = followed.follower.poll();
        if (!events.length) continue;
        const hadSample = followed.metrics.sampleTokens;
        followed.metrics.add(events);
        if (followed.metrics.sampleTokens !== hadSample) this.decodeSample(followed);
      }
      if (quiet) return;
      const deltas = [...this.runs.values()].map((f) => f.metrics.takeDelta()).filter((d) => d !== undefined);
      if (deltas.length) this.broadcast({ type: 'metrics/append', runs: deltas });
    } catch (err) {
      this.log.error(`metrics: ${String(err)}`);
    } finally {
      this.polling = false;
    }
  }

  private decodeSample(followed: Followed): void {
    followed.tokenizer ??= this.loadTokenizer(followed.metrics.dir);
    const sample = followed.metrics.sampleTokens!;
    void followed.tokenizer.then((tokenizer) => {
      let text: string;
      try {
        text = tokenizer ? tokenizer.decode(sample.tokens) : `(token ids; the run's tokenizer was not found) ${sample.tokens.join(' ')}`;
      } catch (err) {
        text = `(could not decode the sample: ${String(err)})`;
      }
      if (followed.metrics.sampleTokens === sample) followed.metrics.setSample({ iter: sample.iter, text });
    });
  }

  /** The run's tokenizer: its dataset's tokenizer.json (config.json names the dataset), else model.json's. */
  private async loadTokenizer(dir: string): Promise<Tokenizer | undefined> {
    const { parseTokenizerSpec, tokenizerFromSpec } = await import('./core/tokenizer');
    const paths = runPaths(dir);
    const candidates: [string, (v: unknown) => unknown][] = [];
    try {
      const config = JSON.parse(fs.readFileSync(paths.config, 'utf8')) as { data?: { dataset?: string } };
      if (config.data?.dataset) candidates.push([path.join(path.resolve(dir, config.data.dataset), 'tokenizer.json'), (v) => v]);
    } catch {
      // no config.json yet
    }
    candidates.push([paths.modelJson, (v) => (v as { tokenizer?: unknown }).tokenizer]);
    for (const [file, pick] of candidates) {
      try {
        return tokenizerFromSpec(parseTokenizerSpec(pick(JSON.parse(fs.readFileSync(file, 'utf8'))), file));
      } catch {
        // try the next
      }
    }
    this.log.warn(`metrics: no tokenizer found for ${dir}; samples are shown as token ids`);
    return undefined;
  }

  private snapshot(): HostToMetrics {
    return { type: 'metrics/reset', runs: [...this.runs.values()].map((f) => f.metrics.series) };
  }

  private broadcast(message: HostToMetrics): void {
    for (const client of this.clients) if (client.ready) void client.webview.postMessage(message);
  }

  private broadcastReset(): void {
    // deltas already folded into the series: drop them so they are not appended twice
    for (const f of this.runs.values()) f.metrics.takeDelta();
    this.broadcast(this.snapshot());
  }

  /** Connects a webview (view or panel): its messages, its lifecycle. */
  attach(webview: vscode.Webview, title: string, onVisibility: (listener: (visible: boolean) => void) => vscode.Disposable): vscode.Disposable {
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
        this.poll(true);
        client.ready = true;
        await client.webview.postMessage(this.snapshot());
        return;
      case 'metrics/pickRuns':
        await this.pickRuns();
        return;
      case 'metrics/exportCsv': {
        const runs = [...this.runs.keys()].map((dir) => ({ name: path.basename(dir), events: readEvents(runPaths(dir).events) }));
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
    const base = this.runs.size === 1 ? [...this.runs.keys()][0] : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return base ? vscode.Uri.file(path.join(base, file)) : undefined;
  }

  /** Quick pick of the workspace's runs, newest first, several at once (the Runs tree is the
   *  other way to choose). */
  async pickRuns(): Promise<boolean> {
    const dirs = workspaceRunDirs();
    if (!dirs.length) {
      void vscode.window.showInformationMessage('Wordplay: no runs yet (runs/*/events.jsonl in the workspace). Train a model first.');
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
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Wordplay: runs to show in the metrics dashboard' });
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
    const panel = vscode.window.createWebviewPanel(METRICS_PANEL_TYPE, 'Wordplay Metrics', vscode.ViewColumn.Active, webviewOptions(this.context.extensionUri));
    this.adoptPanel(panel);
  }

  /** Wires a panel: a new one, or one VS Code restores after a restart (serializer). */
  adoptPanel(panel: vscode.WebviewPanel, restored?: MetricsState): void {
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'wordplay.svg');
    if (restored?.runs?.length && this.runs.size === 0) this.setRuns(restored.runs.filter((d) => typeof d === 'string' && fs.existsSync(d)));
    const attachment = this.attach(panel.webview, 'Wordplay Metrics', (listener) => panel.onDidChangeViewState((e) => listener(e.webviewPanel.visible)));
    panel.onDidDispose(() => {
      attachment.dispose();
      if (this.panel === panel) this.panel = undefined;
    });
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.clients.clear();
  }
}

class MetricsViewProvider implements vscode.WebviewViewProvider {
  constructor(private readonly hub: MetricsHub) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    const attachment = this.hub.attach(view.webview, 'Wordplay Metrics', (listener) => view.onDidChangeVisibility(() => listener(view.visible)));
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
      if (Array.isArray(runDirs) && runDirs.length && runDirs.every((d) => typeof d === 'string')) hub.showRuns(runDirs);
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
