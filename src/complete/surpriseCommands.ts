// "Show Model Surprise": the completion model scores the selection (or the whole file) and each
// token is coloured by its loss, in five buckets of fixed bounds (SURPRISE_BOUNDS) whose
// colours are the theme-aware wordplay.surprise0..4 of package.json. Hovering a coloured token
// shows its probability and the model's top 5 alternatives; the status bar shows the text's
// bits per byte, and its tooltip is the legend. Esc (while the colours are shown) or "Clear
// Model Surprise" removes them; so does any edit of the document, since the ranges would be
// stale. One document's colours at a time.
import * as vscode from 'vscode';
import type { Surprise, TokenSurprise } from '../core/complete/surprise';
import { SURPRISE_BOUNDS, surpriseBucket } from '../core/complete/surprise';
import { UserError } from '../core/common/errors';
import { requireModel } from './completeCommands';

const SHOWN_KEY = 'wordplay.surpriseShown';

/** "< 0.5, 0.5–1.5, …, ≥ 5": the buckets' bounds in nats, low to high. */
function bucketLabels(): string[] {
  const b = SURPRISE_BOUNDS;
  return [`< ${b[0]}`, ...b.slice(1).map((x, i) => `${b[i]}–${x}`), `≥ ${b[b.length - 1]}`];
}

const LEGEND = `Model surprise, low → high (nats): ${bucketLabels().join(' · ')}`;

/** A token's text as the hover shows it: quoted, with newlines and tabs visible. */
const shown = (text: string) => JSON.stringify(text);

/** The hover's text for one token. */
export function describeToken(tok: TokenSurprise): string {
  const top = tok.top.map((a) => `${shown(a.text)} ${a.probability.toFixed(2)}`).join(', ');
  return `p = ${tok.probability.toFixed(3)} · loss ${tok.loss.toFixed(2)} nats; top 5: ${top}`;
}

interface Shown {
  document: vscode.TextDocument;
  /** The scored text's offset in the document. */
  base: number;
  result: Surprise;
}

export class SurpriseController implements vscode.Disposable, vscode.HoverProvider {
  private readonly types = SURPRISE_BOUNDS.concat(Infinity).map((_, i) =>
    vscode.window.createTextEditorDecorationType({
      backgroundColor: new vscode.ThemeColor(`wordplay.surprise${i}`),
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    }),
  );
  private readonly status = vscode.window.createStatusBarItem('wordplay.surprise', vscode.StatusBarAlignment.Right, 99);
  private readonly disposables: vscode.Disposable[] = [];
  private shown: Shown | undefined;
  private running = false;

  constructor(
    private readonly state: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.status.name = 'Wordplay model surprise';
    this.status.command = 'wordplay.clearSurprise';
    this.disposables.push(
      vscode.languages.registerHoverProvider({ pattern: '**' }, this),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.shown?.document && e.contentChanges.length > 0) void this.clear();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.paint()),
    );
  }

  dispose(): void {
    for (const d of [...this.types, ...this.disposables, this.status]) d.dispose();
  }

  async show(editor: vscode.TextEditor | undefined): Promise<void> {
    if (!editor) {
      void vscode.window.showInformationMessage(
        'Wordplay: open a text file (and select some text, or none for the whole file), then run Show Model Surprise.',
      );
      return;
    }
    if (this.running) {
      void vscode.window.showInformationMessage('Wordplay: Model Surprise is still scoring a text.');
      return;
    }
    const model = await requireModel(this.state);
    if (!model) return;
    const document = editor.document;
    const range = editor.selection.isEmpty
      ? document.validateRange(new vscode.Range(0, 0, document.lineCount, 0))
      : editor.selection;
    const base = document.offsetAt(range.start);
    const text = document.getText(range);
    const version = document.version;
    const { loadGenerationModel } = await import('../core/complete/modelSession');
    const { scoreText } = await import('../core/complete/surprise');
    const loaded = await loadGenerationModel(model);
    this.running = true;
    let result: Surprise;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Wordplay: scoring the text', cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let reported = 0;
          return scoreText(loaded, text, {
            signal: abort.signal,
            onProgress: (done, total) => {
              const percent = (100 * done) / total;
              progress.report({ increment: percent - reported, message: `${done}/${total} windows` });
              reported = percent;
            },
          });
        },
      );
    } catch (err) {
      if (err instanceof UserError && /cancelled/.test(err.message)) return;
      throw err;
    } finally {
      this.running = false;
    }
    // an edit while scoring moved the text: the ranges would be wrong
    if (document.isClosed || document.version !== version) return;
    if (result.unknown.length > 0) {
      const chars = result.unknown.slice(0, 10).map(shown).join(', ');
      const message = `the model's character vocabulary lacks ${chars}${result.unknown.length > 10 ? ` and ${result.unknown.length - 10} more` : ''}: they were left out of the scoring.`;
      this.log.warn(message);
      void vscode.window.showWarningMessage(`Wordplay: ${message}`);
    }
    this.shown = { document, base, result };
    this.paint();
    const bpb = Number.isFinite(result.bitsPerByte) ? `${result.bitsPerByte.toFixed(2)} bits/byte` : 'no token scored';
    this.status.text = `Surprise: ${bpb} (${result.tokens.length} tokens)`;
    this.status.tooltip = new vscode.MarkdownString(
      `${LEGEND}\n\nThe first token has nothing before it to be predicted from: it is not scored.\n\nClick, Esc or **Clear Model Surprise** removes the colours.`,
    );
    this.status.show();
    this.log.info(
      `Model surprise of ${result.tokens.length} tokens in ${result.windows} windows with ${loaded.files.onnx}: ${bpb}`,
    );
    await vscode.commands.executeCommand('setContext', SHOWN_KEY, true);
  }

  async clear(): Promise<void> {
    this.shown = undefined;
    this.paint();
    this.status.hide();
    await vscode.commands.executeCommand('setContext', SHOWN_KEY, false);
  }

  /** Sets the decorations of every visible editor: the shown document's buckets, else none. */
  private paint(): void {
    const s = this.shown;
    const buckets = this.types.map(() => [] as vscode.Range[]);
    for (const editor of vscode.window.visibleTextEditors) {
      if (s && editor.document === s.document) {
        buckets.forEach((b) => (b.length = 0));
        for (const tok of s.result.tokens) {
          if (tok.end === tok.start) continue;
          buckets[surpriseBucket(tok.loss)].push(
            new vscode.Range(s.document.positionAt(s.base + tok.start), s.document.positionAt(s.base + tok.end)),
          );
        }
        this.types.forEach((type, i) => editor.setDecorations(type, buckets[i]));
      } else {
        for (const type of this.types) editor.setDecorations(type, []);
      }
    }
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const s = this.shown;
    if (!s || document !== s.document) return undefined;
    const at = document.offsetAt(position) - s.base;
    const tokens = s.result.tokens;
    // the last token starting at or before `at` (tokens are in text order)
    let lo = 0;
    let hi = tokens.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (tokens[mid].start <= at) lo = mid;
      else hi = mid - 1;
    }
    const tok = tokens[lo];
    if (!tok || at < tok.start || at >= tok.end) return undefined;
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**Model surprise** (${bucketLabels()[surpriseBucket(tok.loss)]} nats)\n\n`);
    md.appendText(describeToken(tok));
    return new vscode.Hover(
      md,
      new vscode.Range(document.positionAt(s.base + tok.start), document.positionAt(s.base + tok.end)),
    );
  }
}
