// Finding the Python that trains, in the extension: the setting wordplay.pythonPath, then the
// Python extension's active environment (optional: all works without that extension), then the
// environment `wordplay setup` made, then python3 on PATH. The trainer is then run with
// WORDPLAY_PYTHON set to it, so src/core needs to know nothing of VS Code.
import * as vscode from 'vscode';
import { doctor, type DoctorReport } from './core/doctor';
import { resolvePython } from './core/pythonEnv';

export interface ExtensionPython {
  path: string;
  source: 'setting wordplay.pythonPath' | 'Python extension' | 'managed environment' | 'PATH' | 'WORDPLAY_PYTHON';
}

async function pythonExtensionInterpreter(): Promise<string | undefined> {
  if (!vscode.extensions.getExtension('ms-python.python')) return undefined;
  try {
    const { PythonExtension } = await import('@vscode/python-extension');
    const api = await PythonExtension.api();
    const active = api.environments.getActiveEnvironmentPath(vscode.workspace.workspaceFolders?.[0]?.uri);
    const resolved = await api.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath;
  } catch {
    return undefined;
  }
}

export async function findPython(): Promise<ExtensionPython> {
  const setting = vscode.workspace.getConfiguration('wordplay').get<string>('pythonPath', '').trim();
  if (setting) return { path: setting, source: 'setting wordplay.pythonPath' };
  const fromExtension = await pythonExtensionInterpreter();
  if (fromExtension) return { path: fromExtension, source: 'Python extension' };
  return resolvePython();
}

/** The environment the trainer and the doctor run with. */
export async function pythonEnv(): Promise<NodeJS.ProcessEnv> {
  return { ...process.env, WORDPLAY_PYTHON: (await findPython()).path };
}

/** Checks the interpreter can train (Python 3.10+, PyTorch); offers the set-up when not.
 *  Returns the report when training can go ahead. */
export async function checkPython(log: vscode.LogOutputChannel): Promise<DoctorReport | undefined> {
  const python = await findPython();
  const report = await doctor(await pythonEnv());
  const devices = report.devices.cuda.map((d) => `${d.name} (${d.memory_gb} GiB)`).join(', ') || (report.devices.mps ? 'Apple GPU (MPS)' : `CPU, ${report.devices.cpu_threads} threads`);
  log.info(`Python ${report.python?.version ?? '?'} at ${python.path} (from ${python.source}); PyTorch ${report.torch?.version ?? 'missing'}; ${devices}`);
  if (report.problems.length === 0) return report;
  for (const p of report.problems) log.warn(`${p.problem} Fix: ${p.fix}`);
  const action = await vscode.window.showErrorMessage(
    `Wordplay: ${report.problems[0].problem} (Python at ${python.path}, from ${python.source})`,
    'Set Up Python Environment',
    'Show Logs',
  );
  if (action === 'Set Up Python Environment') await vscode.commands.executeCommand('wordplay.setupPython');
  if (action === 'Show Logs') log.show();
  return undefined;
}
