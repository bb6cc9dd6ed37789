// The extension host: commands on top of src/core. It activates lazily (on its commands), and
// onnxruntime and the tokenizer ranks are loaded only when a command needs them.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { UserError } from './core/errors';
import { setupManagedEnv } from './core/pythonEnv';
import { CompletionController, WordplayInlineCompletions } from './completion';
import { registerConfigEditor } from './configEditor';
import { registerMetrics, type MetricsHub } from './metricsView';
import { selectCompletionModel } from './modelChoice';

let log: vscode.LogOutputChannel;
/** The metrics dashboards' data: metrics.showRuns(runDirs) chooses the runs they show. */
export let metrics: MetricsHub;

export function activate(context: vscode.ExtensionContext): void {
  log = vscode.window.createOutputChannel('Wordplay', { log: true });
  context.subscriptions.push(
    log,
    vscode.commands.registerCommand('wordplay.prepareDataset', () => guarded(prepareDataset)),
    vscode.commands.registerCommand('wordplay.setupPython', () => guarded(setupPython)),
    vscode.commands.registerCommand('wordplay.showLogs', () => log.show()),
  );
  const completion = new CompletionController(context.workspaceState, log);
  context.subscriptions.push(
    completion,
    vscode.commands.registerCommand('wordplay.complete', () => guarded(() => completion.complete(vscode.window.activeTextEditor))),
    vscode.commands.registerCommand('wordplay.cancelCompletion', () => completion.cancel()),
    vscode.commands.registerCommand('wordplay.selectCompletionModel', () => guarded(async () => void (await selectCompletionModel(context.workspaceState)))),
    vscode.commands.registerCommand('wordplay.sample', () => guarded(() => completion.sample())),
    vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, new WordplayInlineCompletions(context.workspaceState)),
  );
  registerConfigEditor(context, log);
  metrics = registerMetrics(context, log);
}

export function deactivate(): void {}

async function guarded(command: () => Promise<void>): Promise<void> {
  try {
    await command();
  } catch (err) {
    const message = err instanceof UserError ? err.message : String(err);
    log.error(message);
    const choice = await vscode.window.showErrorMessage(`Wordplay: ${message}`, 'Show Logs');
    if (choice === 'Show Logs') log.show();
  }
}

/** Running a process from a workspace's settings is code execution: trusted workspaces only. */
function requireTrust(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(
    `Wordplay: ${what} runs processes, so it needs a trusted workspace. Trust this folder (Manage Workspace Trust) to use it.`,
  );
  return false;
}

async function prepareDataset(): Promise<void> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Prepare',
    title: 'Wordplay: text to prepare (a file, or a folder of text files)',
  });
  if (!picked?.[0]) return;
  const kind = await vscode.window.showQuickPick(
    [
      { label: 'char', detail: 'One token per character: small vocabulary, learns fast on small text (nanoGPT shakespeare_char).' },
      { label: 'gpt2', detail: "GPT-2's BPE (50,257 tokens): for larger text, and for fine-tuning GPT-2." },
    ],
    { title: 'Wordplay: tokenizer' },
  );
  if (!kind) return;
  const input = picked[0].fsPath;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.dirname(input);
  const suggested = path.join(root, 'data', `${path.parse(input).name}-${kind.label}`);
  const out = await vscode.window.showInputBox({ title: 'Wordplay: dataset folder', value: suggested, prompt: 'Where to write train.bin, val.bin and meta.json' });
  if (!out) return;
  const { prepare } = await import('./core/prepare');
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Wordplay: preparing dataset', cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      let reported = 0;
      return prepare({
        input,
        tokenizer: kind.label as 'char' | 'gpt2',
        out,
        force: false,
        signal: abort.signal,
        log: (line) => log.info(line),
        onProgress: (p) => {
          const percent = (100 * p.bytesDone) / Math.max(p.bytesTotal, 1);
          progress.report({ increment: percent - reported, message: `${p.phase}, ${p.mbPerSecond.toFixed(1)} MB/s` });
          reported = percent;
        },
      });
    },
  );
  log.info(`Prepared ${result.dir}: ${JSON.stringify(result.meta)}`);
  void vscode.window.showInformationMessage(
    `Wordplay: prepared ${path.basename(result.dir)}: vocab ${result.meta.vocab_size}, ${result.meta.train_tokens.toLocaleString()} train and ${result.meta.val_tokens.toLocaleString()} val tokens.`,
  );
}

async function setupPython(): Promise<void> {
  if (!requireTrust('Setting up the Python environment')) return;
  const env = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Wordplay: Python environment', cancellable: true },
    (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return setupManagedEnv(
        {
          step: (message) => {
            log.info(message);
            progress.report({ message });
          },
          log: (line) => log.trace(line),
        },
        { signal: abort.signal },
      );
    },
  );
  void vscode.window.showInformationMessage(`Wordplay: Python environment ready (${env.python}).`);
}
