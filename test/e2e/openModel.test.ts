// An open model in a real VS Code, through its UI only: a tiny random Qwen3 folder, written by
// transformers as a download would be (trainer/tests/hf_models.py: grouped-query attention, qk-norm,
// a head size of its own, its own BPE tokenizer), becomes the completion model with "Use a
// Pretrained Model for Completion…" and continues a selection; then Train GPT on a LoRA config
// of it trains the adapters, and Complete with wordplay continues the selection with the
// fine-tuned model. The dataset is prepared with the folder's tokenizer by the CLI beforehand:
// Prepare Dataset's own steps are completion.test.ts's.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/core/common/paths';
import { resolvePython } from '../../src/core/common/pythonEnv';
import { launchVsCode, waitUntil, type VsCode } from './harness';
import { e2eSetup } from './setup';

const PROMPT = 'ROMEO:';
const run = promisify(execFile);

let vscode: VsCode;
let workspace: string;
let modelFolder: string;
let text: string;

before(async () => {
  const setup = await e2eSetup();
  workspace = setup.workspace;
  modelFolder = path.join(workspace, 'models', 'tiny-qwen3');
  const script = `import sys; sys.path.insert(0, 'trainer/tests'); from hf_models import write_model; write_model('qwen3', sys.argv[1])`;
  await run(resolvePython().path, ['-c', script, modelFolder], { cwd: packageRoot });
  await run(process.execPath, [
    path.join(packageRoot, 'dist', 'cli.js'),
    'prepare',
    '--input',
    path.join(workspace, 'shakespeare.txt'),
    '--tokenizer',
    modelFolder,
    '--out',
    path.join(workspace, 'data', 'tiny-qwen3'),
  ]);
  const config = {
    data: { dataset: 'data/tiny-qwen3' },
    model: { block_size: 32 },
    train: {
      init_from: 'models/tiny-qwen3',
      batch_size: 8,
      max_iters: 30,
      eval_interval: 15,
      eval_iters: 2,
      log_interval: 5,
      device: 'cpu',
      compile: 'false',
      sample_tokens: 0,
      lora: { rank: 4 },
    },
    optimizer: { learning_rate: 0.002, min_lr: 0.0002, warmup_iters: 3 },
  };
  fs.writeFileSync(path.join(workspace, 'lora.wordplay.json'), `${JSON.stringify(config, null, 2)}\n`);
  text = fs.readFileSync(path.join(workspace, 'shakespeare.txt'), 'utf8');
  vscode = await launchVsCode({
    ...setup,
    settings: { 'wordplay.completion.maxTokens': 20, 'wordplay.completion.seed': 1, 'files.autoSave': 'off' },
  });
});

after(() => vscode?.close());

const activeTab = (state = '') => vscode.page.locator(`.part.editor .tab.active${state}`);
const completions = () => vscode.extensionLog().match(/Completed \d+ tokens/g)?.length ?? 0;

/** Selects PROMPT on the `nth` line that holds just it, completes it from the palette, saves, and
 *  returns what was inserted after it, checked to leave the rest of the document as it was; then
 *  undoes it. The extension's log must name `runName` as the model that completed. */
async function completeRomeo(nth: number, runName: string): Promise<string> {
  const line = text.split('\n').flatMap((l, i) => (l === PROMPT ? [i + 1] : []))[nth];
  const file = path.join(workspace, 'shakespeare.txt');
  if (!(await activeTab().filter({ hasText: 'shakespeare.txt' }).count()))
    await vscode.quickOpen('shakespeare.txt', 'shakespeare.txt');
  await vscode.quickOpen(`:${line}`, `Go to line ${line}`);
  await vscode.page.keyboard.press('Shift+End');
  await vscode.page
    .locator('.statusbar-item[id="status.editor.selection"]', { hasText: `(${PROMPT.length} selected)` })
    .waitFor();
  const before = completions();
  await vscode.runCommand('Wordplay: Complete with wordplay');
  await waitUntil(() => completions() > before, 'the extension logs "Completed ... tokens"', 60_000);
  await activeTab('.dirty').waitFor();
  await vscode.page.keyboard.press('Control+S');
  await activeTab(':not(.dirty)').waitFor();
  const last = vscode
    .extensionLog()
    .match(/Completed \d+ tokens.*/g)!
    .at(-1)!;
  assert.match(last, new RegExp(`model .*${runName}`), last);
  const after = fs.readFileSync(file, 'utf8');
  const end = text.split('\n').slice(0, line).join('\n').length;
  const added = after.length - text.length;
  assert.ok(added > 0, 'the completion was inserted');
  assert.equal(after.slice(0, end), text.slice(0, end), 'the text up to the selection is unchanged');
  assert.equal(after.slice(end + added), text.slice(end), 'the text after the selection is unchanged');
  await vscode.page.keyboard.press('Control+Z');
  await vscode.page.keyboard.press('Control+S');
  await waitUntil(() => fs.readFileSync(file, 'utf8') === text, 'one undo to take the completion back');
  return after.slice(end, end + added);
}

test('Use a Pretrained Model… on a Hugging Face Qwen3 folder completes a selection with it', async () => {
  await vscode.step('Use a Pretrained Model for Completion…: Choose a Hugging Face folder…', async () => {
    await vscode.runCommand('Wordplay: Use a Pretrained Model for Completion…');
    await vscode.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Qwen/Qwen3-0.6B' }).first().waitFor();
    await vscode.screenshot('open-model-1-picker');
    await vscode.page
      .locator('.quick-input-widget .monaco-list-row', { hasText: 'Choose a Hugging Face folder' })
      .first()
      .click();
    // the web's simple file dialog: the folder's path typed and its OK button; OK again if the
    // dialog opened the folder rather than picking it
    const box = vscode.page.locator('.quick-input-widget input');
    const ok = vscode.page.locator('.quick-input-widget .monaco-button', { hasText: 'Use This Model' });
    await waitUntil(async () => (await box.inputValue().catch(() => '')).startsWith('/'), 'the file dialog');
    await box.fill(modelFolder);
    await ok.click();
    const written = async () => fs.existsSync(path.join(workspace, 'runs', 'tiny-qwen3-pretrained', 'model.onnx'));
    await waitUntil(
      async () => (await written()) || (await box.inputValue().catch(() => '')) === `${modelFolder}/`,
      'the folder to be picked or opened',
    );
    if (!(await written())) await ok.click();
    await waitUntil(written, 'the run folder of the folder, whole', 120_000);
  });
  const runDir = path.join(workspace, 'runs', 'tiny-qwen3-pretrained');
  const model = JSON.parse(fs.readFileSync(path.join(runDir, 'model.json'), 'utf8'));
  assert.equal(model.kv_cache.n_kv_head, 2, 'the cache holds the key/value heads, not the 4 query heads');
  assert.equal(model.tokenizer.type, 'hf');
  await vscode.step('Complete with wordplay with it', () => completeRomeo(0, 'tiny-qwen3-pretrained'));
});

test(
  'Train GPT on a LoRA config of the folder trains the adapters and completes with them',
  { timeout: 240_000 },
  async () => {
    const runs = path.join(workspace, 'runs');
    const runDir = await vscode.step('Train GPT with lora.wordplay.json until it exports', async () => {
      await vscode.runCommand('Wordplay: Train GPT');
      const row = vscode.page.locator('.quick-input-list .monaco-list-row', { hasText: 'lora.wordplay.json' }).first();
      await row.waitFor();
      await row.click();
      let dir: string | undefined;
      await waitUntil(
        () =>
          Boolean((dir = fs.readdirSync(runs).find((n) => n.endsWith('-lora')))) &&
          fs.existsSync(path.join(runs, dir!, 'model.onnx')),
        'the run to export its model',
        180_000,
      );
      return path.join(runs, dir!);
    });
    const state = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'state.json'), 'utf8'));
    assert.equal(state.lora.rank, 4, 'the checkpoint holds rank-4 adapters');
    assert.equal(state.lora.folder, modelFolder, 'on the folder as their base');
    const evals = fs
      .readFileSync(path.join(runDir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === 'eval');
    assert.ok(evals.at(-1).val_loss < evals[0].val_loss, `val loss fell: ${evals.map((e) => e.val_loss).join(', ')}`);
    await vscode.step('Select Completion Model: the LoRA run', async () => {
      await vscode.runCommand('Wordplay: Select Completion Model');
      const row = vscode.page.locator('.quick-input-widget .monaco-list-row', { hasText: path.basename(runDir) });
      await row.first().waitFor();
      await row.first().click();
    });
    await vscode.step('Complete with wordplay with the fine-tuned model', () =>
      completeRomeo(1, path.basename(runDir)),
    );
    await vscode.screenshot('open-model-2-lora-completed');
  },
);
