// The pickers the training commands ask with: a config to train (the workspace's *.wordplay.json
// files and the presets) and a run of the runs folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { presetNames, presetsDir } from '../core/train/config';
import { positionText } from '../core/run/progress';
import { listRuns, type RunJob, type RunSummary } from '../core/run/runs';
import { runsFolder } from '../common/workspace';
import { pick } from '../common/prompts';

/** A config to train: a *.wordplay.json of the workspace, or a preset saved as one in root. */
export async function pickConfig(root: string, command: string): Promise<vscode.Uri | undefined> {
  const files = await vscode.workspace.findFiles('**/*.wordplay.json', '**/node_modules/**', 200);
  const active = vscode.window.activeTextEditor?.document.uri;
  files.sort(
    (a, b) =>
      Number(b.fsPath === active?.fsPath) - Number(a.fsPath === active?.fsPath) || a.fsPath.localeCompare(b.fsPath),
  );
  type Item = vscode.QuickPickItem & { file?: vscode.Uri; preset?: string };
  const items: Item[] = [
    ...files.map((file) => ({
      label: path.basename(file.fsPath),
      description: vscode.workspace.asRelativePath(path.dirname(file.fsPath)),
      file,
    })),
    { label: 'Presets', kind: vscode.QuickPickItemKind.Separator },
    ...presetNames().map((preset) => ({
      label: preset,
      description: 'preset: saved as a config file in the workspace',
      preset,
    })),
  ];
  const picked = await pick(command, 'no config was chosen, so no run was started', items, {
    title: `Wordplay: ${command} with which config?`,
    placeHolder: 'A *.wordplay.json config, or a preset',
  });
  if (!picked) return undefined;
  if (picked.file) return picked.file;
  // a preset becomes a file the user can edit and train again
  const target = vscode.Uri.file(path.join(root, `${picked.preset}.wordplay.json`));
  if (!fs.existsSync(target.fsPath)) fs.copyFileSync(path.join(presetsDir, `${picked.preset}.json`), target.fsPath);
  return target;
}

/** A run of the runs folder that filter accepts; undefined when there is none or none was picked. */
export async function pickRun(
  command: string,
  title: string,
  cancelled: string,
  filter: (run: RunSummary) => boolean,
  jobOf: (dir: string) => RunJob | undefined,
): Promise<string | undefined> {
  const folder = runsFolder();
  const runs = folder ? listRuns(folder, jobOf).filter(filter) : [];
  if (runs.length === 0) {
    void vscode.window.showInformationMessage(
      `Wordplay: ${command}: no run to choose from in ${folder ?? 'this workspace'}.`,
    );
    return undefined;
  }
  const picked = await pick(
    command,
    cancelled,
    runs.map((r) => ({ label: r.name, description: `${r.state} · ${positionText(r)}`, dir: r.dir })),
    { title: `Wordplay: ${title}` },
  );
  return picked?.dir;
}
