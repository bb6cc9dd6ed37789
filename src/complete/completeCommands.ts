// "Complete with wordplay": the trained model continues the selection (or the text before the
// cursor) right in the document, streaming, as one undoable edit, cancellable within a token.
import * as vscode from 'vscode';
import { completionTarget, streamInsert } from '../core/complete/completionTarget';
import { UserError } from '../core/common/errors';
import type { GenerateOptions, GenerationSummary } from '../core/complete/generate';
import type { NoModel } from '../core/complete/defaultModel';
import { completionModel } from './modelCommands';
import { input, nothingDone } from '../common/prompts';

/** Settings under wordplay.completion, as the engine takes them. */
export function generationSettings(): Omit<GenerateOptions, 'prompt'> {
  const c = vscode.workspace.getConfiguration('wordplay.completion');
  const seed = c.get<number | null>('seed', null);
  return {
    maxTokens: c.get<number>('maxTokens', 200),
    temperature: c.get<number>('temperature', 0.8),
    topK: c.get<number>('topK', 200),
    topP: c.get<number>('topP', 1),
    seed: seed === null ? undefined : seed,
    stop: c.get<string[]>('stop', []),
  };
}

export function languageEnabled(languageId: string): boolean {
  const languages = vscode.workspace.getConfiguration('wordplay.completion').get<string[]>('languages', ['*']);
  return languages.includes('*') || languages.includes(languageId);
}

/** The commands that give a model, by their titles. */
const FIXES: Record<NoModel['fix'], string> = {
  'Train GPT': 'wordplay.train',
  'Stop Training': 'wordplay.stopTraining',
  'Export Model': 'wordplay.exportModel',
};

/** The model to use, or undefined after saying why there is none, with the command that gives one. */
export async function requireModel(state: vscode.Memento): Promise<string | undefined> {
  const found = completionModel(state);
  if ('model' in found) return found.model;
  const action = await vscode.window.showInformationMessage(`Wordplay: ${found.why}`, found.fix);
  if (action) await vscode.commands.executeCommand(FIXES[action]);
  return undefined;
}

export class CompletionController implements vscode.Disposable {
  private running: AbortController | undefined;
  private readonly status = vscode.window.createStatusBarItem(
    'wordplay.completion',
    vscode.StatusBarAlignment.Right,
    100,
  );

  constructor(
    private readonly state: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.status.name = 'Wordplay completion';
  }

  dispose(): void {
    this.cancel();
    this.status.dispose();
  }

  cancel(): void {
    this.running?.abort();
  }

  async complete(editor: vscode.TextEditor | undefined): Promise<void> {
    const requested = performance.now();
    if (!editor) {
      void vscode.window.showInformationMessage(
        'Wordplay: open a text file and select the text to continue (or put the cursor after it), then run Complete with wordplay.',
      );
      return;
    }
    if (this.running) {
      nothingDone('Complete with wordplay', 'a completion is still running (Esc stops it)');
      return;
    }
    if (!languageEnabled(editor.document.languageId)) {
      void vscode.window.showInformationMessage(
        `Wordplay: completion is off for ${editor.document.languageId} (setting wordplay.completion.languages).`,
      );
      return;
    }
    const model = await requireModel(this.state);
    if (!model) return;
    const { generate } = await import('../core/complete/generate');
    const { loadGenerationModel } = await import('../core/complete/modelSession');
    const loaded = await loadGenerationModel(model);
    const document = editor.document;
    const text = document.getText();
    const selection = {
      start: document.offsetAt(editor.selection.start),
      end: document.offsetAt(editor.selection.end),
    };
    // a character model's block is block_size characters; a BPE token is a few characters
    const target = completionTarget(text, selection, loaded.blockSize * 8);

    const abort = new AbortController();
    this.running = abort;
    await vscode.commands.executeCommand('setContext', 'wordplay.completing', true);
    // the user typing in the document ends the completion: our offsets would be wrong
    let ours = false;
    const typing = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === document && !ours && e.contentChanges.length > 0) abort.abort();
    });
    const started = performance.now();
    let summary: GenerationSummary | undefined;
    /** From the command to the first text in the document: what the person waits. */
    let firstTextMs: number | undefined;
    try {
      await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: 'Wordplay: completing (Esc to stop)',
          cancellable: true,
        },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          const run = generate(loaded, {
            ...generationSettings(),
            prompt: target.prompt,
            signal: abort.signal,
            onWarning: (message) => {
              this.log.warn(message);
              void vscode.window.showWarningMessage(`Wordplay: ${message}`);
            },
          });
          let tokens = 0;
          const stream = async function* () {
            for (;;) {
              const next = await run.next();
              if (next.done) {
                summary = next.value;
                return;
              }
              tokens++;
              yield next.value;
            }
          };
          this.status.show();
          try {
            const inserted = await streamInsert(stream(), target.insertAt, async (offset, text, stops) => {
              ours = true;
              try {
                const at = document.positionAt(offset);
                const applied = await editor.edit((edit) => edit.insert(at, text), stops);
                firstTextMs ??= performance.now() - requested;
                const seconds = (performance.now() - started) / 1000;
                this.status.text = `$(sparkle) wordplay ${(tokens / seconds).toFixed(0)} tok/s`;
                progress.report({ message: `${tokens} tokens` });
                return applied;
              } finally {
                ours = false;
              }
            });
            // The inserts grew the selection over the new text, where the next keystroke would
            // replace prompt and completion alike: leave the cursor after the completion instead,
            // ready to type on or to complete again. (Undo brings the prompt's selection back.)
            const end = document.positionAt(target.insertAt + inserted.length);
            if (inserted && editor.selection.end.isEqual(end)) editor.selection = new vscode.Selection(end, end);
          } finally {
            // stopped early (cancelled, editor closed): end the generator so its cache is released
            if (!summary) await run.return(undefined as never);
          }
        },
      );
    } finally {
      typing.dispose();
      this.running = undefined;
      this.status.hide();
      await vscode.commands.executeCommand('setContext', 'wordplay.completing', false);
    }
    if (summary) {
      this.log.info(
        `Completed ${summary.tokens} tokens (${summary.reason}) in ${((performance.now() - started) / 1000).toFixed(2)} s: first text ${firstTextMs?.toFixed(0) ?? '-'} ms after the command (model loading included), first token ${summary.firstTokenMs.toFixed(0)} ms after the prompt, ${summary.tokensPerSecond.toFixed(0)} tokens/s, seed ${summary.seed}, model ${model}`,
      );
    }
  }

  /** nanoGPT's sample.py in the editor: N samples from a prompt in a new untitled document. */
  async sample(): Promise<void> {
    const model = await requireModel(this.state);
    if (!model) return;
    const prompt = await input('Sample', 'no samples were written', {
      title: 'Wordplay: sample — prompt',
      value: '\n',
      prompt: 'Text the samples start from (a newline by default)',
    });
    if (prompt === undefined) return;
    const count = await input('Sample', 'no samples were written', {
      title: 'Wordplay: sample — how many',
      value: '3',
      validateInput: (v) => (/^[1-9]\d?$/.test(v) ? undefined : 'A number from 1 to 99'),
    });
    if (count === undefined) return;
    const { complete } = await import('../core/complete/generate');
    const samples = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Wordplay: sampling', cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        const texts: string[] = [];
        for (let i = 0; i < Number(count) && !abort.signal.aborted; i++) {
          progress.report({ message: `${i + 1} of ${count}`, increment: 100 / Number(count) });
          const settings = generationSettings();
          // distinct samples from one fixed seed: seed, seed + 1, ...
          const seed = settings.seed === undefined ? undefined : settings.seed + i;
          texts.push(prompt + (await complete(model, { ...settings, seed, prompt, signal: abort.signal })).text);
        }
        return texts;
      },
    );
    const document = await vscode.workspace.openTextDocument({ content: samples.join('\n---------------\n') });
    await vscode.window.showTextDocument(document);
  }
}

/** Ghost text as you type (off by default): the same engine, short, debounced, cancelled by typing. */
export class WordplayInlineCompletions implements vscode.InlineCompletionItemProvider {
  constructor(private readonly state: vscode.Memento) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    _context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[]> {
    const inline = vscode.workspace.getConfiguration('wordplay.inlineCompletions');
    if (!inline.get<boolean>('enabled', false) || !languageEnabled(document.languageId)) return [];
    const found = completionModel(this.state);
    if (!('model' in found)) return [];
    const model = found.model;
    // debounce: a keystroke within the delay cancels this request before any work
    await new Promise((resolve) => setTimeout(resolve, inline.get<number>('debounceMs', 300)));
    if (token.isCancellationRequested) return [];
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    try {
      const { complete } = await import('../core/complete/generate');
      const { loadGenerationModel } = await import('../core/complete/modelSession');
      const loaded = await loadGenerationModel(model);
      const offset = document.offsetAt(position);
      const target = completionTarget(document.getText(), { start: offset, end: offset }, loaded.blockSize * 8);
      const result = await complete(loaded, {
        ...generationSettings(),
        prompt: target.prompt,
        maxTokens: inline.get<number>('maxTokens', 24),
        signal: abort.signal,
      });
      if (token.isCancellationRequested || !result.text) return [];
      return [new vscode.InlineCompletionItem(result.text, new vscode.Range(position, position))];
    } catch (err) {
      // ghost text never interrupts typing with errors; the explicit command reports them
      if (!(err instanceof UserError)) throw err;
      return [];
    }
  }
}
