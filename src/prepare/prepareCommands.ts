// Wordplay: Prepare Dataset: a file or folder of text and a tokenizer (one of wordplay's, or a
// Hugging Face model folder's own), prepared into a dataset folder with a cancellable progress
// notification; then, if the user wants, it becomes a
// config's data.dataset (a document edit, so undo works).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { guarded } from '../common/commandGuards';
import { editConfigText } from '../core/train/configEdit';
import type { PrepareOptions, PrepareResult, TokenizerKind } from '../core/prepare/prepare';
import { chooseFile, input, pick } from '../common/prompts';
import { trainingEnvironment } from '../common/pythonCommands';

const COMMAND = 'Prepare Dataset';
const NOTHING_PREPARED = 'no dataset was prepared';

export function registerPrepareDataset(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('wordplay.prepareDataset', () => guarded(log, () => prepareDataset(log))),
  );
}

async function prepareDataset(log: vscode.LogOutputChannel): Promise<void> {
  const picked = await chooseFile(COMMAND, NOTHING_PREPARED, {
    canSelectFiles: true,
    canSelectFolders: true,
    openLabel: 'Prepare',
    title: 'Wordplay: text to prepare (a file, or a folder of text files)',
  });
  if (!picked) return;
  const kind = await pick(
    COMMAND,
    NOTHING_PREPARED,
    [
      {
        label: 'bpe',
        tokenizer: 'bpe' as TokenizerKind,
        detail:
          'A BPE trained on this text (Hugging Face tokenizer.json): the best bits per byte for a small model; for code and most text.',
      },
      {
        label: 'char',
        tokenizer: 'char' as TokenizerKind,
        detail: 'One token per character: small vocabulary, learns fast on small text (nanoGPT shakespeare_char).',
      },
      {
        label: 'gpt2',
        tokenizer: 'gpt2' as TokenizerKind,
        detail: "GPT-2's BPE (50,257 tokens): for fine-tuning GPT-2; too large a vocabulary for a small model.",
      },
      {
        label: 'The tokenizer of a model folder…',
        tokenizer: 'hf' as TokenizerKind,
        detail:
          "A Hugging Face model folder's own tokenizer.json (Llama 3, Qwen, SmolLM2): to fine-tune that model on this text.",
      },
    ],
    { title: 'Wordplay: tokenizer' },
  );
  if (!kind) return;
  const text = picked.fsPath;
  let vocabSize: number | undefined;
  let env: NodeJS.ProcessEnv | undefined;
  let folder: string | undefined;
  if (kind.tokenizer === 'hf') {
    const chosen = await chooseFile(COMMAND, NOTHING_PREPARED, {
      canSelectFiles: false,
      canSelectFolders: true,
      openLabel: 'Use Its Tokenizer',
      title: 'Wordplay: a Hugging Face model folder (with tokenizer.json)',
    });
    if (!chosen) return;
    folder = chosen.fsPath;
  }
  if (kind.tokenizer === 'bpe') {
    vocabSize = await askVocabSize(text);
    if (vocabSize === undefined) return;
    // the tokenizer trains in the trainer's Python: the same environment and trust as training
    env = await trainingEnvironment();
    if (!env) return;
  }
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.dirname(text);
  const suggested = path.join(root, 'data', `${path.parse(text).name}-${folder ? path.basename(folder) : kind.label}`);
  const out = await input(COMMAND, NOTHING_PREPARED, {
    title: 'Wordplay: dataset folder',
    value: suggested,
    prompt: 'Where to write train.bin, val.bin and meta.json',
    validateInput: (v) => (v.trim() ? undefined : 'a folder path'),
  });
  if (out === undefined) return;
  const result = await prepareWithProgress(
    { input: text, tokenizer: kind.tokenizer, folder, vocabSize, env, out, force: false },
    'Wordplay: preparing dataset',
    log,
  );
  log.info(`Prepared ${result.dir}: ${JSON.stringify(result.meta)}`);
  const choice = await vscode.window.showInformationMessage(
    `Wordplay: prepared ${path.basename(result.dir)}: vocab ${result.meta.vocab_size}, ${result.meta.train_tokens.toLocaleString()} train and ${result.meta.val_tokens.toLocaleString()} val tokens.`,
    'Use in Config',
  );
  if (choice === 'Use in Config') await useInConfig(result.dir);
}

/** The BPE's vocabulary size, offered with the size that suits the text (training split). */
async function askVocabSize(text: string): Promise<number | undefined> {
  const { resolveInputs } = await import('../core/prepare/inputs');
  const { TRAIN_FRACTION } = await import('../core/prepare/dataset');
  const { bpeVocabProblem, defaultBpeVocab } = await import('../core/prepare/trainBpe');
  const trainBytes = Math.floor(
    TRAIN_FRACTION * resolveInputs(text, path.dirname(text)).reduce((sum, f) => sum + fs.statSync(f).size, 0),
  );
  const answer = await input(COMMAND, NOTHING_PREPARED, {
    title: 'Wordplay: BPE vocabulary size',
    value: String(defaultBpeVocab(trainBytes)),
    prompt: `Tokens to learn, <|endoftext|> included; the suggested size suits ${(trainBytes / 1e6).toFixed(1)} MB of training text`,
    validateInput: (v) =>
      /^\d+$/.test(v.trim()) ? bpeVocabProblem(Number(v), trainBytes) : 'a whole number, e.g. 4096',
  });
  return answer === undefined ? undefined : Number(answer);
}

/** Runs prepare under a cancellable progress notification (percent, phase, MB/s), its log
 *  lines into the Wordplay log. Prepare is loaded on first use, not at activation. */
export async function prepareWithProgress(
  options: Omit<PrepareOptions, 'signal' | 'log' | 'onProgress'>,
  title: string,
  log: vscode.LogOutputChannel,
): Promise<PrepareResult> {
  const { prepare } = await import('../core/prepare/prepare');
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      let reported = 0;
      return prepare({
        ...options,
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
}

/** Sets data.dataset of a picked *.wordplay.json to the dataset, relative to the config's folder. */
async function useInConfig(datasetDir: string): Promise<void> {
  const files = await vscode.workspace.findFiles('**/*.wordplay.json', '**/node_modules/**', 200);
  if (files.length === 0) {
    void vscode.window.showInformationMessage(
      'Wordplay: no *.wordplay.json config in the workspace yet: Train GPT saves a preset as one.',
    );
    return;
  }
  const picked = await pick(
    'Use in Config',
    'no config was changed',
    files.map((file) => ({ label: vscode.workspace.asRelativePath(file), file })),
    { title: `Wordplay: use ${path.basename(datasetDir)} as the dataset of` },
  );
  if (!picked) return;
  const document = await vscode.workspace.openTextDocument(picked.file);
  const relative = path.relative(path.dirname(picked.file.fsPath), datasetDir).split(path.sep).join('/');
  const edit = new vscode.WorkspaceEdit();
  for (const e of editConfigText(document.getText(), ['data', 'dataset'], relative)) {
    edit.replace(
      picked.file,
      new vscode.Range(document.positionAt(e.offset), document.positionAt(e.offset + e.length)),
      e.content,
    );
  }
  await vscode.workspace.applyEdit(edit);
  await document.save();
  await vscode.window.showTextDocument(document);
}
