// "Complete with wordplay" in a real VS Code, through its UI only: a trained model (a finished
// run in the workspace's runs/ folder, found by default) continues "ROMEO:" in shakespeare.txt
// right after the selection, started from the editor's context menu, the palette and the
// keybinding; one Ctrl+Z takes the whole completion back. Then a dataset of Python files is
// prepared from the palette with a BPE trained on it, a model trained on it from the palette,
// and a selection in a .py file completed with that model. The document is read from disk after
// Ctrl+S, not from the screen (the editor renders only the lines in view).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { launchVsCode, waitUntil, type VsCode } from './harness';
import { e2eSetup, trainedModel } from './setup';

const MAX_TOKENS = 60;
const PROMPT = 'ROMEO:';

let vscode: VsCode;
let file: string;
let original: string;
let vocab: string[];
/** The lines that hold just "ROMEO:" (1-based): one per scenario, so each starts afresh. */
let romeoLines: number[];

before(async () => {
  const setup = await e2eSetup();
  file = path.join(setup.workspace, 'shakespeare.txt');
  original = fs.readFileSync(file, 'utf8');
  romeoLines = original.split('\n').flatMap((line, i) => (line === PROMPT ? [i + 1] : []));
  // training (seconds of CPU, or none when another file made the model) overlaps the window's
  // start; the run only has to be there when the command looks for a model
  const [run, started] = await Promise.allSettled([
    trainedModel(setup.workspace),
    launchVsCode({
      ...setup,
      settings: {
        'wordplay.completion.maxTokens': MAX_TOKENS,
        // a fixed seed: the same prompt must give the same text from every entry point
        'wordplay.completion.seed': 1,
        // as in desktop VS Code (the web build saves after a delay by default): the test saves
        // with Ctrl+S, so what is on disk is what the editor held at that moment
        'files.autoSave': 'off',
      },
    }),
  ]);
  // a code-server that started is closed by after(), whatever else failed
  if (started.status === 'fulfilled') vscode = started.value;
  if (run.status === 'rejected') throw run.reason;
  if (started.status === 'rejected') throw started.reason;
  vocab = JSON.parse(fs.readFileSync(path.join(run.value, 'model.json'), 'utf8')).tokenizer.vocab;
});

after(() => vscode?.close());

const activeTab = (state = '') => vscode.page.locator(`.part.editor .tab.active${state}`);
const completions = () => vscode.extensionLog().match(/Completed \d+ tokens/g)?.length ?? 0;

/** Waits until the status bar says the cursor is at line:column (1-based) with `selected`
 *  characters selected. */
async function cursorAt(line: number, column: number, selected = 0): Promise<void> {
  const text = `Ln ${line}, Col ${column}${selected ? ` \\(${selected} selected\\)` : ''}`;
  await vscode.page
    .locator('.statusbar-item[id="status.editor.selection"]', { hasText: new RegExp(`^\\s*${text}\\s*$`) })
    .waitFor();
}

/** Goes to `line` (Go to Line) and selects PROMPT there with Shift+End, as a person would;
 *  returns the offset of the selection's end. */
async function selectPrompt(line: number): Promise<number> {
  if (!(await activeTab().filter({ hasText: 'shakespeare.txt' }).count()))
    await vscode.quickOpen('shakespeare.txt', 'shakespeare.txt');
  await vscode.quickOpen(`:${line}`, `Go to line ${line}`);
  await cursorAt(line, 1);
  await vscode.page.keyboard.press('Shift+End');
  await cursorAt(line, PROMPT.length + 1, PROMPT.length);
  return original.split('\n').slice(0, line).join('\n').length;
}

/** Waits until the cursor is right after `completion`, inserted after PROMPT on `line`, with
 *  nothing selected. */
async function cursorAfter(line: number, completion: string): Promise<void> {
  const lines = completion.split('\n');
  const last = [...lines[lines.length - 1]].length;
  await cursorAt(line + lines.length - 1, 1 + (lines.length === 1 ? PROMPT.length + last : last));
}

/** Runs the command with `start`, waits until the completion has ended, saves, and returns
 *  the text on disk. */
async function completeAndSave(start: () => Promise<void>): Promise<string> {
  const before = completions();
  await start();
  // the first piece makes the document dirty; the log line comes once the last is in
  await activeTab('.dirty').waitFor();
  await waitUntil(() => completions() > before, 'the extension logs "Completed ... tokens"');
  return save();
}

async function save(): Promise<string> {
  await activeTab('.dirty').waitFor();
  await vscode.page.keyboard.press('Control+S');
  await activeTab(':not(.dirty)').waitFor();
  return fs.readFileSync(file, 'utf8');
}

/** The completion's text, after checking the document is the original with it right after
 *  the selection's end. */
function inserted(text: string, end: number): string {
  assert.ok(text.length > original.length, 'the document grew');
  const added = text.length - original.length;
  assert.equal(text.slice(0, end), original.slice(0, end), 'the text up to the selection is unchanged');
  assert.equal(text.slice(end + added), original.slice(end), 'the text after the selection is unchanged');
  return text.slice(end, end + added);
}

/** One completion: a character model gives one character per token, all from its vocabulary. */
function checkCompletion(completion: string): void {
  assert.equal([...completion].length, MAX_TOKENS, `${MAX_TOKENS} characters: ${JSON.stringify(completion)}`);
  const unknown = [...completion].filter((ch) => !vocab.includes(ch));
  assert.deepEqual(unknown, [], 'every character is from the model vocabulary');
  assert.match(vscode.extensionLog(), new RegExp(`Completed ${MAX_TOKENS} tokens \\(length\\)`));
}

/** One Ctrl+Z: the whole completion goes, and the prompt on `line` is selected again. */
async function undoAndSave(line: number): Promise<void> {
  await vscode.page.keyboard.press('Control+Z');
  assert.equal(await save(), original, 'one undo removes the whole completion');
  await cursorAt(line, PROMPT.length + 1, PROMPT.length);
}

/**
 * The scenario on the "ROMEO:" at `line`: select it, run the command with `run`, check that the
 * completion went right after the selection and the cursor after it, then one Ctrl+Z. Returns
 * the completion. Screenshots are named `completion-<shot>-...`.
 */
async function completeRomeo(line: number, how: string, shot: string, run: () => Promise<void>): Promise<string> {
  const end = await vscode.step(`select ROMEO: on line ${line}`, () => selectPrompt(line));
  await vscode.screenshot(`completion-${shot}-1-selected`);
  const text = await vscode.step(`complete ${how}`, () => completeAndSave(run));
  await vscode.screenshot(`completion-${shot}-3-completed`);
  const completion = await vscode.step('check the document', async () => {
    const added = inserted(text, end);
    checkCompletion(added);
    await cursorAfter(line, added);
    return added;
  });
  await vscode.step('undo', () => undoAndSave(line));
  await vscode.screenshot(`completion-${shot}-4-undone`);
  return completion;
}

let fromMenu: string;

test('Complete with wordplay from the editor context menu continues the selection; one undo removes it', async () => {
  fromMenu = await completeRomeo(romeoLines[0], 'from the context menu', '1-menu', async () => {
    // right-click inside the selection: a click outside it would move the cursor there
    const box = await vscode.page
      .locator('.part.editor .monaco-editor .view-overlays .selected-text')
      .first()
      .boundingBox();
    assert.ok(box, 'the selection is drawn');
    await vscode.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { button: 'right' });
    const item = vscode.page.locator('.monaco-menu .action-item', { hasText: 'Complete with wordplay' });
    await item.waitFor();
    await vscode.screenshot('completion-1-menu-2-context-menu');
    await item.click();
  });
});

test('Complete with wordplay from the palette: the same prompt and seed give the same text', async () => {
  const completion = await completeRomeo(romeoLines[1], 'from the palette', '2-palette', () =>
    vscode.runCommand('Wordplay: Complete with wordplay'),
  );
  assert.equal(completion, fromMenu);
});

test('Complete with wordplay from its keybinding (Ctrl+Alt+Enter)', async () => {
  const completion = await completeRomeo(romeoLines[2], 'with Ctrl+Alt+Enter', '3-keybinding', () =>
    vscode.page.keyboard.press('Control+Alt+Enter'),
  );
  assert.equal(completion, fromMenu);
});

/** Picks a folder in the web's simple file dialog, once it shows the workspace: the folder's
 *  path typed and the dialog's OK button (labelled with the command's openLabel) opens it; OK
 *  again, in it, picks it. */
async function pickFolder(folder: string, okLabel: string): Promise<void> {
  const box = vscode.page.locator('.quick-input-widget input');
  const ok = vscode.page.locator('.quick-input-widget .monaco-button', { hasText: okLabel });
  await waitUntil(
    async () => (await box.inputValue().catch(() => '')).startsWith(path.dirname(folder)),
    'the file dialog to show the workspace',
  );
  await box.fill(folder);
  await ok.click();
  await waitUntil(
    async () => (await box.inputValue().catch(() => '')) === `${folder}/`,
    `the file dialog to open ${folder}`,
  );
  await vscode.page
    .locator('.quick-input-widget .monaco-list-row', { hasText: fs.readdirSync(folder).sort()[0] })
    .first()
    .waitFor();
  await ok.click();
}

/** Accepts the quick pick's row `label`, or an input box's value, once the prompt shows `title`. */
async function answer(title: RegExp, row?: string): Promise<void> {
  await vscode.page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor();
  if (row) await vscode.page.locator('.quick-input-widget .monaco-list-row', { hasText: row }).first().click();
  else await vscode.page.keyboard.press('Enter');
}

test(
  'Prepare Dataset trains a BPE on a folder of Python files; Train GPT on it; Complete with wordplay continues a selection in a .py file',
  { timeout: 300_000 },
  async () => {
    const workspace = path.dirname(file);
    // the corpus: this project's own trainer, a folder of Python files
    const code = path.join(workspace, 'code');
    fs.cpSync(path.join(packageRoot, 'trainer', 'wordplay_trainer'), code, {
      recursive: true,
      filter: (f) => !f.includes('__pycache__') && !f.includes('presets'),
    });
    const config = {
      data: { dataset: 'data/code-bpe' },
      model: { n_layer: 1, n_head: 2, n_embd: 64, block_size: 64 },
      train: {
        batch_size: 8,
        max_iters: 60,
        eval_interval: 30,
        eval_iters: 2,
        log_interval: 10,
        device: 'cpu',
        compile: 'false',
        sample_tokens: 0,
      },
      optimizer: { learning_rate: 0.01, min_lr: 0.001, warmup_iters: 5, lr_decay_iters: 60 },
    };
    fs.writeFileSync(path.join(workspace, 'code.wordplay.json'), `${JSON.stringify(config, null, 2)}\n`);
    const dataset = path.join(workspace, 'data', 'code-bpe');
    await vscode.step('Prepare Dataset: the folder of Python files, a BPE at its suggested size', async () => {
      await vscode.runCommand('Wordplay: Prepare Dataset');
      await pickFolder(code, 'Prepare');
      await answer(/tokenizer/, 'bpe');
      await answer(/BPE vocabulary size/);
      await vscode.screenshot('completion-5-bpe-1-dataset-folder');
      await answer(/dataset folder/);
      await waitUntil(
        async () => (await vscode.notifications()).some((n) => n.includes('prepared code-bpe')),
        'the prepared notification',
        120_000,
      );
    });
    const meta = JSON.parse(fs.readFileSync(path.join(dataset, 'meta.json'), 'utf8'));
    assert.equal(meta.tokenizer, 'bpe');
    assert.ok(meta.vocab_size >= 512 && meta.documents > 10, JSON.stringify(meta));
    assert.ok(
      JSON.parse(fs.readFileSync(path.join(dataset, 'tokenizer.json'), 'utf8')).model.type === 'BPE',
      'a Hugging Face tokenizer.json',
    );
    const runDir = await vscode.step('Train GPT on it until it finishes', async () => {
      await vscode.runCommand('Wordplay: Train GPT');
      const row = vscode.page.locator('.quick-input-list .monaco-list-row', { hasText: 'code.wordplay.json' }).first();
      await row.waitFor();
      await row.click();
      const runs = path.join(workspace, 'runs');
      let dir: string | undefined;
      await waitUntil(
        () =>
          Boolean((dir = fs.readdirSync(runs).find((n) => n.endsWith('-code')))) &&
          fs.existsSync(path.join(runs, dir!, 'model.onnx')),
        'the run to export its model',
        180_000,
      );
      return path.join(runs, dir!);
    });
    // a file of the corpus with a class in it, whatever the trainer's layout: the first by path
    const pyFiles = fs
      .readdirSync(code, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.py'))
      .sort();
    const rel = pyFiles.find((f) => /^class /m.test(fs.readFileSync(path.join(code, f), 'utf8')));
    assert.ok(rel, `a .py file with a class in ${code}`);
    const pyFile = path.join(code, rel);
    const pyName = path.basename(rel);
    const source = fs.readFileSync(pyFile, 'utf8');
    const line = source.split('\n').findIndex((l) => l.startsWith('class ')) + 1;
    const prompt = source.split('\n')[line - 1];
    await vscode.step(`select line ${line} of code/${rel} and complete it`, async () => {
      // by its whole path, which quick open opens as it is
      await vscode.quickOpen(pyFile, pyName);
      // the editor opens after the quick open closes, and takes the focus from anything opened before
      await activeTab().filter({ hasText: pyName }).waitFor();
      await cursorAt(1, 1);
      await vscode.quickOpen(`:${line}`, `Go to line ${line}`);
      await cursorAt(line, 1);
      await vscode.page.keyboard.press('Shift+End');
      await cursorAt(line, [...prompt].length + 1, [...prompt].length);
      const before = completions();
      await vscode.runCommand('Wordplay: Complete with wordplay');
      await waitUntil(() => completions() > before, 'the extension logs "Completed ... tokens"', 60_000);
      await vscode.screenshot('completion-5-bpe-2-completed');
      await activeTab('.dirty').waitFor();
      await vscode.page.keyboard.press('Control+S');
      await activeTab(':not(.dirty)').waitFor();
    });
    assert.match(vscode.extensionLog(), new RegExp(`Completed \\d+ tokens .*model .*${path.basename(runDir)}`));
    const after = fs.readFileSync(pyFile, 'utf8');
    const end = source.split('\n').slice(0, line).join('\n').length;
    assert.ok(after.length > source.length, 'the completion was inserted');
    assert.equal(after.slice(0, end), source.slice(0, end), 'the text up to the selection is unchanged');
    assert.equal(
      after.slice(end + after.length - source.length),
      source.slice(end),
      'the text after the selection is unchanged',
    );
  },
);
