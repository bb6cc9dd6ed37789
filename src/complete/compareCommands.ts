// "Compare Completions…": the selection (or the text before the cursor) continued by two or more
// models — runs, or the exports a run kept along the way (train.keep_exports) — with one seed and
// the completion settings, side by side in a webview panel (webview/compare/), each column
// labelled with its run, iteration and val loss. Insert puts a column's text after the prompt in
// the document as one edit (one undo). The models run one after another, each column filling as
// it generates; Cancel in the notification, or closing the panel, stops them.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { comparableModels, modelLabel, type ComparableModel } from '../core/complete/compareModels';
import { completionTarget } from '../core/complete/completionTarget';
import { listRuns } from '../core/run/runs';
import {
  compareMessageProblem,
  MAX_COMPARE_COLUMNS,
  type CompareColumn,
  type CompareStateMessage,
  type CompareToHost,
} from '../core/webview/protocol';
import { nothingDone, pickMany } from '../common/prompts';
import { webviewHtml, webviewOptions } from '../common/webviewHtml';
import { runsFolder } from '../common/workspace';
import { generationSettings, languageEnabled } from './completeCommands';

const COMMAND = 'Compare Completions';
const PANEL_TYPE = 'wordplay.comparePanel';
/** How often a generating column is re-sent at most (a token takes a few milliseconds). */
const SEND_EVERY_MS = 100;

/** The models to compare, picked by the person; undefined after saying why there are none. */
async function pickModels(): Promise<ComparableModel[] | undefined> {
  const folder = runsFolder();
  const models = comparableModels(folder ? listRuns(folder) : []);
  if (models.length < 2) {
    void vscode.window.showInformationMessage(
      `Wordplay: Compare Completions needs two models or more, and this workspace has ${models.length}. Train another run, or set train.keep_exports in a run's config so training keeps models from several evaluations.`,
    );
    return undefined;
  }
  const items = models.map((m) => ({
    label: modelLabel(m),
    description: m.kept ? 'kept export' : "the run's model",
    detail: m.dir,
    model: m,
  }));
  const picked = await pickMany(COMMAND, 'nothing was compared', items, {
    title: 'Wordplay: Compare Completions — models (two or more)',
    placeHolder: 'Pick the models to compare; each continues the prompt with the same seed and settings',
  });
  if (!picked) return undefined;
  if (picked.length < 2 || picked.length > MAX_COMPARE_COLUMNS) {
    nothingDone(COMMAND, `pick between 2 and ${MAX_COMPARE_COLUMNS} models (${picked.length} picked)`);
    return undefined;
  }
  return picked.map((p) => p.model);
}

export async function compareCompletions(extensionUri: vscode.Uri, log: vscode.LogOutputChannel): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage(
      'Wordplay: open a text file and select the text to continue, then run Compare Completions.',
    );
    return;
  }
  if (!languageEnabled(editor.document.languageId)) {
    void vscode.window.showInformationMessage(
      `Wordplay: completion is off for ${editor.document.languageId} (setting wordplay.completion.languages).`,
    );
    return;
  }
  const document = editor.document;
  const viewColumn = editor.viewColumn;
  const selection = { start: document.offsetAt(editor.selection.start), end: document.offsetAt(editor.selection.end) };
  const models = await pickModels();
  if (!models) return;

  const { generate } = await import('../core/complete/generate');
  const { loadGenerationModel } = await import('../core/complete/modelSession');
  const settings = generationSettings();
  // one seed for every model, drawn here when the settings leave it open
  const seed = settings.seed ?? Math.floor(Math.random() * 2 ** 32);
  const loaded = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Wordplay: loading ${models.length} models` },
    () => Promise.all(models.map((m) => loadGenerationModel(m.dir))),
  );
  // before a cursor, the longest context any of them reads (a character model's block is
  // block_size characters, a BPE token a few)
  const target = completionTarget(document.getText(), selection, Math.max(...loaded.map((l) => l.blockSize)) * 8);
  const insertAt = document.positionAt(target.insertAt);

  const columns: CompareColumn[] = models.map((m) => ({
    label: modelLabel(m),
    dir: m.dir,
    text: '',
    state: 'waiting',
  }));
  const state = (): CompareStateMessage => ({
    type: 'compare/state',
    prompt: target.prompt,
    settings: `seed ${seed} · temperature ${settings.temperature} · top-k ${settings.topK} · top-p ${settings.topP} · up to ${settings.maxTokens} tokens`,
    document: path.basename(document.fileName),
    columns,
  });

  const abort = new AbortController();
  const panel = vscode.window.createWebviewPanel(
    PANEL_TYPE,
    'Wordplay: Compare Completions',
    vscode.ViewColumn.Beside,
    webviewOptions(extensionUri),
  );
  panel.webview.html = webviewHtml(panel.webview, extensionUri, 'compare', 'Compare Completions');
  let ready = false;
  let timer: NodeJS.Timeout | undefined;
  const send = () => {
    if (ready) void panel.webview.postMessage(state());
  };
  const sendSoon = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      send();
    }, SEND_EVERY_MS);
  };
  panel.onDidDispose(() => {
    abort.abort();
    clearTimeout(timer);
  });
  // hidden = unloaded (no retainContextWhenHidden): shown again, the page says ready once more
  panel.onDidChangeViewState(() => {
    if (!panel.visible) ready = false;
  });
  panel.webview.onDidReceiveMessage((message: unknown) => {
    const problem = compareMessageProblem(message);
    if (problem) {
      log.warn(`compare: ignored a malformed message (${problem}): ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    const m = message as CompareToHost;
    if (m.type === 'ready') {
      ready = true;
      send();
    } else {
      void insert(m.column).catch((err) => log.error(`compare: ${String(err)}`));
    }
  });

  const insert = async (index: number) => {
    const column = columns[index];
    if (!column || column.state !== 'done' || !column.text) return;
    if (document.isClosed) {
      void vscode.window.showWarningMessage(
        `Wordplay: ${path.basename(document.fileName)} was closed; open it again and run Compare Completions there.`,
      );
      return;
    }
    const shown = await vscode.window.showTextDocument(document, { viewColumn, preserveFocus: false });
    const applied = await shown.edit((edit) => edit.insert(insertAt, column.text));
    if (!applied) {
      void vscode.window.showWarningMessage(
        'Wordplay: the editor refused the insert (it changed meanwhile); try Insert again.',
      );
      return;
    }
    const end = document.positionAt(document.offsetAt(insertAt) + column.text.length);
    shown.selection = new vscode.Selection(end, end);
    log.info(`Compare: inserted ${column.text.length} characters from ${column.label}`);
  };

  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Wordplay: comparing completions', cancellable: true },
    async (progress, token) => {
      token.onCancellationRequested(() => abort.abort());
      for (const [i, model] of loaded.entries()) {
        const column = columns[i];
        if (abort.signal.aborted) {
          column.state = 'stopped';
          continue;
        }
        progress.report({ message: `${i + 1} of ${models.length}: ${column.label}`, increment: 100 / models.length });
        column.state = 'generating';
        send();
        try {
          const run = generate(model, {
            ...settings,
            seed,
            prompt: target.prompt,
            signal: abort.signal,
            onWarning: (w) => log.warn(`compare: ${w}`),
          });
          for (;;) {
            const next = await run.next();
            if (next.done) {
              column.state = next.value.reason === 'aborted' ? 'stopped' : 'done';
              break;
            }
            column.text += next.value;
            sendSoon();
          }
        } catch (err) {
          column.state = 'failed';
          column.error = err instanceof Error ? err.message : String(err);
          log.error(`compare: ${column.label}: ${column.error}`);
        }
        send();
      }
    },
  );
  log.info(
    `Compared ${models.length} models (seed ${seed}): ${columns.map((c) => `${c.label} ${c.state}, ${c.text.length} characters`).join('; ')}`,
  );
}
