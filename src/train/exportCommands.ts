// The export commands: Export Model (ONNX), Export for Hugging Face and Export to GGUF, which run
// the trainer's export on a run's checkpoint.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { UserError } from '../core/common/errors';
import { trainerInvocation } from '../core/common/pythonEnv';
import { runPaths } from '../core/run/runDir';
import type { RunJob } from '../core/run/runs';
import { defaultExportTarget, exportArguments, type ExportFormat } from '../core/train/exportTarget';
import { nothingDone } from '../common/prompts';
import { trainingEnvironment } from '../common/pythonCommands';
import { pickRun } from './runPickers';

/** What the notification says while the interpreter is checked (seconds, the first time). */
export const CHECKING_PYTHON = 'checking the Python environment…';
/** The export commands' titles, as package.json names them. */
const EXPORT_TITLES: Record<ExportFormat, string> = {
  onnx: 'Export Model',
  hf: 'Export for Hugging Face',
  gguf: 'Export to GGUF',
  peft: 'Export LoRA Adapter for PEFT',
};

/** What an export needs from the training manager. */
export interface ExportDeps {
  log: vscode.LogOutputChannel;
  /** The cluster job of a run folder, if it was submitted. */
  jobOf: (dir: string) => RunJob | undefined;
  /** Called once a model was exported (the Runs tree refreshes). */
  onExported: () => void;
}

/** Export Model: model.onnx + model.json from the run's checkpoint (training does this by
 *  itself when it ends; this is for a failed export or an older run). Export for Hugging Face
 *  and Export to GGUF write a folder transformers loads, or a file for llama.cpp, into the run
 *  folder under a name not yet taken (exportTarget.ts). */
export async function exportModel(deps: ExportDeps, runDir?: string, format: ExportFormat = 'onnx'): Promise<void> {
  const title = EXPORT_TITLES[format];
  const dir =
    runDir ??
    (await pickRun(
      title,
      'Export which run?',
      'no model was exported',
      (r) => r.state !== 'running' && fs.existsSync(runPaths(r.dir).checkpointState),
      deps.jobOf,
    ));
  if (!dir) return;
  const out = format === 'onnx' ? runPaths(dir).onnx : defaultExportTarget(dir, format);
  const code = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Wordplay: exporting ${path.basename(dir)}`,
      cancellable: true,
    },
    async (progress, token) => {
      progress.report({ message: CHECKING_PYTHON });
      const env = await trainingEnvironment();
      // without an environment, trainingEnvironment said why
      if (!env) return undefined;
      if (token.isCancellationRequested) return 'cancelled';
      progress.report({ message: `writing ${path.basename(out)}…` });
      const exported = exportArguments(dir, format, out);
      const inv = trainerInvocation(exported.args, env);
      return new Promise<number | null>((resolve, reject) => {
        const child = spawn(inv.command, inv.args, { env: inv.env, stdio: ['ignore', 'pipe', 'pipe'] });
        token.onCancellationRequested(() => child.kill('SIGINT'));
        const toLog = (chunk: Buffer) =>
          chunk
            .toString('utf8')
            .split(/\r?\n/)
            .filter(Boolean)
            .forEach((line) => deps.log.info(line));
        child.stdout.on('data', toLog);
        child.stderr.on('data', toLog);
        child.on('error', reject);
        child.on('close', resolve);
      }).finally(() => exported.cleanup());
    },
  );
  if (code === undefined) return;
  if (code === 'cancelled') {
    nothingDone(title, 'Cancel was pressed before the export started');
    return;
  }
  if (code !== 0)
    throw new UserError(
      `exporting ${path.basename(dir)} failed (exit ${code}); the Wordplay log has the trainer's message.`,
    );
  const shown = path.relative(path.dirname(dir), out);
  if (format === 'onnx') void vscode.window.showInformationMessage(`Wordplay: exported ${shown}.`);
  else
    void vscode.window
      .showInformationMessage(`Wordplay: exported ${shown}.`, 'Reveal')
      .then((choice) => choice && vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(out)));
  deps.onExported();
}
