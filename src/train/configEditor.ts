// The config editor for *.wordplay.json: a custom text editor whose form (webview/configEditor)
// edits the TextDocument through WorkspaceEdits, so undo, redo, dirty state, saving and the
// text editor beside it all behave as for any file. The document stays the single truth.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { datasetFiles } from '../core/prepare/dataset';
import { validateConfig } from '../core/train/config';
import { configTextProblem, editConfigText } from '../core/train/configEdit';
import { detectDevice } from '../core/train/deviceDetect';
import { GPT2_SHAPES, GPT2_VOCAB } from '../core/train/estimate';
import { schemaPath } from '../core/common/paths';
import { pick } from '../common/prompts';
import { webviewHtml, webviewOptions } from '../common/webviewHtml';
import {
  configEditorMessageProblem,
  type ConfigDocumentState,
  type ConfigEditorToHost,
  type HostToConfigEditor,
  type SchemaNode,
} from '../core/webview/protocol';

export const CONFIG_EDITOR_VIEW_TYPE = 'wordplay.configEditor';

let schemaCache: SchemaNode | undefined;
function schema(): SchemaNode {
  schemaCache ??= JSON.parse(fs.readFileSync(schemaPath('run-config'), 'utf8')) as SchemaNode;
  return schemaCache;
}

/** The vocabulary size the estimates use: GPT-2's for init_from gpt2*, else the dataset's. */
export function vocabFor(config: Record<string, unknown>, configDir: string): { size: number; source: string } {
  const train = (config.train ?? {}) as Record<string, unknown>;
  if (typeof train.init_from === 'string' && train.init_from in GPT2_SHAPES)
    return { size: GPT2_VOCAB, source: 'GPT-2' };
  const data = (config.data ?? {}) as Record<string, unknown>;
  const fallback = schema().properties?.data?.properties?.dataset?.default as string;
  const dataset = typeof data.dataset === 'string' && data.dataset ? data.dataset : fallback;
  const dir = path.resolve(configDir, dataset);
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, datasetFiles.meta), 'utf8')) as { vocab_size?: unknown };
    if (typeof meta.vocab_size === 'number')
      return { size: meta.vocab_size, source: `from ${path.basename(dir)}/${datasetFiles.meta}` };
  } catch {
    // not prepared yet
  }
  try {
    const tok = JSON.parse(fs.readFileSync(path.join(dir, datasetFiles.tokenizer), 'utf8')) as {
      type?: string;
      vocab?: unknown[];
    };
    if (tok.type === 'gpt2') return { size: GPT2_VOCAB, source: 'GPT-2 BPE' };
    if (Array.isArray(tok.vocab))
      return { size: tok.vocab.length, source: `from ${path.basename(dir)}/${datasetFiles.tokenizer}` };
  } catch {
    // not prepared yet
  }
  return /char/i.test(dataset)
    ? { size: 65, source: 'dataset not prepared yet: assuming 65 characters' }
    : { size: GPT2_VOCAB, source: "dataset not prepared yet: assuming GPT-2's" };
}

export function documentState(document: vscode.TextDocument): ConfigDocumentState {
  const text = document.getText();
  const base = { text, version: document.version };
  if (configTextProblem(text) !== undefined) return { ...base, problems: [], vocab: { size: 65, source: '' } };
  const config = (text.trim() ? JSON.parse(text) : {}) as Record<string, unknown>;
  const configDir = path.dirname(document.uri.fsPath);
  let problems: ConfigDocumentState['problems'];
  try {
    problems = validateConfig(structuredClone(config));
  } catch (err) {
    problems = [{ key: '(config)', message: String(err) }];
  }
  return { ...base, problems, vocab: vocabFor(config, configDir) };
}

class ConfigEditorProvider implements vscode.CustomTextEditorProvider {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): Promise<void> {
    const webview = panel.webview;
    webview.options = webviewOptions(this.extensionUri);
    webview.html = webviewHtml(webview, this.extensionUri, 'configEditor', path.basename(document.uri.fsPath));
    const post = (message: HostToConfigEditor) => void webview.postMessage(message);

    const subscriptions: vscode.Disposable[] = [
      webview.onDidReceiveMessage(async (message: unknown) => {
        const problem = configEditorMessageProblem(message);
        if (problem) {
          this.log.warn(
            `config editor: ignored a malformed message (${problem}): ${JSON.stringify(message)?.slice(0, 200)}`,
          );
          return;
        }
        try {
          await this.handle(message as ConfigEditorToHost, document, panel, post);
        } catch (err) {
          this.log.error(`config editor: ${String(err)}`);
          void vscode.window.showErrorMessage(`Wordplay: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === document.uri.toString() && e.contentChanges.length)
          post({ type: 'config/document', ...documentState(document) });
      }),
    ];
    panel.onDidDispose(() => subscriptions.forEach((d) => d.dispose()));
  }

  private async handle(
    message: ConfigEditorToHost,
    document: vscode.TextDocument,
    panel: vscode.WebviewPanel,
    post: (m: HostToConfigEditor) => void,
  ): Promise<void> {
    switch (message.type) {
      case 'ready':
        // the first load, and every reload after the editor was hidden
        post({
          type: 'config/init',
          schema: schema(),
          fileName: path.basename(document.uri.fsPath),
          device: await detectDevice(),
          ...documentState(document),
        });
        return;
      case 'config/edit':
      case 'config/reset': {
        const [group, ...keys] = message.path;
        let spec = schema().properties?.[group];
        for (const key of keys) spec = spec?.properties?.[key];
        if (!spec) {
          this.log.warn(`config editor: ignored an edit of unknown key ${message.path.join('.')}`);
          return;
        }
        const text = document.getText();
        if (configTextProblem(text) !== undefined) return; // the form is disabled while the text is not JSON
        const edits = editConfigText(text, message.path, message.type === 'config/edit' ? message.value : undefined);
        if (!edits.length) return;
        const edit = new vscode.WorkspaceEdit();
        for (const e of edits)
          edit.replace(
            document.uri,
            new vscode.Range(document.positionAt(e.offset), document.positionAt(e.offset + e.length)),
            e.content,
          );
        await vscode.workspace.applyEdit(edit);
        return;
      }
      case 'config/openText':
        await vscode.commands.executeCommand('vscode.openWith', document.uri, 'default', panel.viewColumn);
        return;
      case 'config/train': {
        const commands = await vscode.commands.getCommands(true);
        if (!commands.includes('wordplay.train')) {
          void vscode.window.showInformationMessage(
            `Wordplay: training from the editor is not available in this version. In a terminal: npx wordplay train --config "${vscode.workspace.asRelativePath(document.uri)}"`,
          );
          return;
        }
        if (document.isDirty) await document.save();
        await vscode.commands.executeCommand('wordplay.train', document.uri);
        return;
      }
    }
  }
}

/** Opens a config in the form: the given file, the active *.wordplay.json, or one picked. */
async function openConfigEditor(uri?: vscode.Uri): Promise<void> {
  let target = uri instanceof vscode.Uri ? uri : undefined;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (!target && active && active.path.endsWith('.wordplay.json')) target = active;
  if (!target) {
    const files = await vscode.workspace.findFiles('**/*.wordplay.json', '**/node_modules/**', 200);
    if (!files.length) {
      void vscode.window.showInformationMessage(
        'Wordplay: no *.wordplay.json in this workspace. Create one (e.g. shakespeare.wordplay.json containing {}) and open it.',
      );
      return;
    }
    const picked =
      files.length === 1
        ? { uri: files[0] }
        : await pick(
            'Open Config Editor',
            'no config was opened',
            files.map((f) => ({
              label: path.basename(f.fsPath),
              description: vscode.workspace.asRelativePath(f),
              uri: f,
            })),
            { title: 'Wordplay: config to open' },
          );
    if (!picked) return;
    target = picked.uri;
  }
  await vscode.commands.executeCommand('vscode.openWith', target, CONFIG_EDITOR_VIEW_TYPE);
}

/** Registers the custom editor and its commands (Open Config Editor, Open as Text). */
export function registerConfigEditor(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.window.registerCustomEditorProvider(
      CONFIG_EDITOR_VIEW_TYPE,
      new ConfigEditorProvider(context.extensionUri, log),
      {
        supportsMultipleEditorsPerDocument: true,
      },
    ),
    vscode.commands.registerCommand('wordplay.openConfigEditor', (uri?: vscode.Uri) => openConfigEditor(uri)),
    vscode.commands.registerCommand('wordplay.openConfigAsText', (uri?: vscode.Uri) =>
      uri instanceof vscode.Uri
        ? vscode.commands.executeCommand('vscode.openWith', uri, 'default')
        : vscode.commands.executeCommand('workbench.action.reopenTextEditor'),
    ),
  );
}
