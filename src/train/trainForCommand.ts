// Wordplay: Train for…: a prepared dataset of the workspace and a number of minutes, a run sized for
// them on this machine (core/train/trainFor.ts: the trainer's size command, its calibration shown
// in a cancellable notification), its plan shown to accept, then saved as
// <dataset>-<N>min.wordplay.json in the workspace (the next free name) and trained by Train GPT.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { guarded, requireTrust } from '../common/commandGuards';
import { ProgressNotification } from '../common/progressNotification';
import { input, nothingDone, pick } from '../common/prompts';
import { trainingEnvironment } from '../common/pythonCommands';
import { UserError } from '../core/common/errors';
import { nextFreePath } from '../core/common/names';
import { datasetFiles } from '../core/prepare/dataset';
import {
  exportsNote,
  minutesProblem,
  planSummary,
  sizeRun,
  trainForName,
  type TrainForPlan,
} from '../core/train/trainFor';

const COMMAND = 'Train for…';
const NOTHING_TRAINED = 'no run was started';

export function registerTrainFor(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('wordplay.trainFor', () => guarded(log, () => trainFor(log))),
  );
}

async function trainFor(log: vscode.LogOutputChannel): Promise<void> {
  if (!requireTrust('Training')) return;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!root) throw new UserError('open a folder first: runs and datasets live in the workspace.');
  const dataset = await pickDataset();
  if (!dataset) return;
  const answer = await input(COMMAND, NOTHING_TRAINED, {
    title: `Wordplay: train on ${vscode.workspace.asRelativePath(dataset)} for how many minutes?`,
    prompt: 'Minutes, everything included (0.5 is 30 seconds)',
    value: '5',
    validateInput: (v) => (minutesProblem(v) ? `Minutes ${minutesProblem(v)}` : undefined),
  });
  if (answer === undefined) return;
  const minutes = Number(answer);
  const plan = await calibrate(log, dataset, minutes);
  if (!plan) return;
  const exports = exportsNote(plan);
  const file = nextFreePath(root, trainForName(dataset, minutes), '.wordplay.json');
  const chosen = await pick(
    COMMAND,
    NOTHING_TRAINED,
    [
      {
        label: '$(play) Train',
        description: `saved as ${path.basename(file)}`,
        detail: `${plan.batch_size * plan.gradient_accumulation_steps} sequences of ${plan.shape.block_size} tokens a step, ≈${plan.steps.toLocaleString('en-US')} steps at ${Math.round(plan.tokens_per_s).toLocaleString('en-US')} tokens/s on ${plan.device}${exports ? `; ${exports}` : ''}`,
        train: true,
      },
      { label: 'Cancel', train: false },
    ],
    { title: `Wordplay: ${planSummary(plan)}` },
  );
  if (!chosen?.train) {
    if (chosen) nothingDone(COMMAND, NOTHING_TRAINED);
    return;
  }
  // the dataset as the workspace's other configs name it: relative to the config file's folder
  const relative = path.relative(root, plan.dataset);
  const inside = !relative.startsWith('..') && !path.isAbsolute(relative);
  const config = { ...plan.config, data: { dataset: inside ? relative.split(path.sep).join('/') : plan.dataset } };
  fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  log.info(`${planSummary(plan)}: ${path.basename(file)} (${plan.machine}).`);
  await vscode.commands.executeCommand('wordplay.train', vscode.Uri.file(file));
}

/** A prepared dataset folder of the workspace (it has meta.json and tokenizer.json). */
async function pickDataset(): Promise<string | undefined> {
  const metas = await vscode.workspace.findFiles(`**/${datasetFiles.meta}`, '{**/node_modules/**,**/runs/**}', 200);
  const folders = metas
    .map((m) => path.dirname(m.fsPath))
    .filter((dir) => fs.existsSync(path.join(dir, datasetFiles.tokenizer)))
    .sort();
  if (folders.length === 0) {
    const choice = await vscode.window.showWarningMessage(
      'Wordplay: Train for… trains on a prepared dataset, and this workspace has none yet.',
      'Prepare Tiny Shakespeare',
      'Prepare Dataset',
    );
    if (choice === 'Prepare Tiny Shakespeare') await vscode.commands.executeCommand('wordplay.prepareShakespeare');
    if (choice === 'Prepare Dataset') await vscode.commands.executeCommand('wordplay.prepareDataset');
    return undefined;
  }
  const items = folders.map((dir) => ({
    label: vscode.workspace.asRelativePath(dir),
    description: describe(dir),
    dir,
  }));
  const picked = await pick(COMMAND, NOTHING_TRAINED, items, { title: 'Wordplay: Train for… on which dataset?' });
  return picked?.dir;
}

/** "char · 1,003,854 train tokens", from meta.json. */
function describe(dir: string): string {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, datasetFiles.meta), 'utf8'));
    return `${meta.tokenizer} · ${Number(meta.train_tokens).toLocaleString('en-US')} train tokens`;
  } catch {
    return '';
  }
}

/** The plan, measured with a cancellable notification; undefined when cancelled. */
async function calibrate(
  log: vscode.LogOutputChannel,
  dataset: string,
  minutes: number,
): Promise<TrainForPlan | undefined> {
  const notification = new ProgressNotification(
    `Wordplay: sizing a run for ${minutes} min`,
    'checking the Python environment…',
  );
  try {
    const env = await trainingEnvironment();
    // without an environment, trainingEnvironment said why
    if (!env) return undefined;
    const abort = new AbortController();
    notification.onCancel(() => abort.abort());
    notification.report('measuring this machine…');
    const plan = await sizeRun({
      dataset,
      minutes,
      env,
      signal: abort.signal,
      onLine: (line) => {
        log.info(line);
        notification.report(line);
      },
    });
    if (!plan) nothingDone(COMMAND, 'Cancel was pressed while the machine was measured');
    return plan;
  } finally {
    notification.close();
  }
}
