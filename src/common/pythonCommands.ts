// The Python the extension trains with, and whether it can. The order and the probe live in
// src/core (resolveEditorPython, doctor); this file feeds them VS Code's sources (the
// wordplay.pythonPath setting, the optional Python extension's active environment), keeps
// the probes for the session, says what is wrong with a way to fix it, and holds the commands
// Set Up Python Environment and Check Python Environment.
import { PVSC_EXTENSION_ID, PythonExtension } from '@vscode/python-extension';
import * as vscode from 'vscode';
import { guarded, requireTrust } from './commandGuards';
import { doctor, formatDoctor, summarizeDoctor, type DoctorReport, type Problem } from '../core/train/doctor';
import { resolveEditorPython, setupManagedEnv, type ResolvedPython } from '../core/common/pythonEnv';

const SET_UP = 'Set Up Python Environment';
const OPEN_SETTING = 'Open Setting';
const SHOW_LOGS = 'Show Logs';

let log: vscode.LogOutputChannel;
/** Where listeners end up, to be disposed with the extension (the Python extension's is added on first use). */
let subscriptions: vscode.Disposable[];

/** Interpreters that can train, by path, for this session: importing torch takes seconds.
 *  Failures are not kept, so a Train right after installing PyTorch sees it. */
const ready = new Map<string, DoctorReport>();

export function registerPython(context: vscode.ExtensionContext, channel: vscode.LogOutputChannel): void {
  log = channel;
  subscriptions = context.subscriptions;
  context.subscriptions.push(
    vscode.commands.registerCommand('wordplay.setupPython', () => guarded(log, setupPython)),
    vscode.commands.registerCommand('wordplay.checkPython', () => guarded(log, checkPython)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('wordplay.pythonPath')) forget('wordplay.pythonPath changed');
    }),
  );
}

/** The environment to start the trainer with: process.env with WORDPLAY_PYTHON set to the
 *  interpreter that was checked. Undefined, after a notification saying why and how to fix
 *  it, when there is no usable Python. */
export async function trainingEnvironment(): Promise<NodeJS.ProcessEnv | undefined> {
  if (!requireTrust('Training')) return undefined;
  const python = await choosePython();
  const report = await check(python);
  if (report.problems.length > 0) {
    log.warn(`Cannot train with ${describe(python)}:\n${formatDoctor(report)}`);
    void showProblem('error', python, report.problems[0]);
    return undefined;
  }
  log.info(`Training with ${describe(python)}: ${summarizeDoctor(report)}`);
  return { ...process.env, WORDPLAY_PYTHON: python.path };
}

function forget(why: string): void {
  if (ready.size > 0) log.info(`${why}: Python is checked again before the next training.`);
  ready.clear();
}

function choosePython(): Promise<ResolvedPython> {
  return resolveEditorPython({
    setting: vscode.workspace.getConfiguration('wordplay').get<string>('pythonPath', ''),
    activeEnvironment,
    canTrain: async (python) => {
      const report = await check({ path: python, source: 'Python extension' });
      if (report.problems.length > 0) {
        log.info(
          `Not using the Python extension's environment ${python}: ${report.problems.map((p) => p.problem).join(' ')}`,
        );
      }
      return report.problems.length === 0;
    },
  });
}

/** The doctor's report on an interpreter: from the session's cache, unless fresh is asked for. */
async function check(python: ResolvedPython, fresh = false): Promise<DoctorReport> {
  const cached = fresh ? undefined : ready.get(python.path);
  // the same interpreter can be reached from another source: report the one asked about
  if (cached?.python) return { ...cached, python: { ...cached.python, source: python.source } };
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: `Wordplay: checking Python ${python.path}` },
    () => doctor(process.env, python),
  );
  if (report.problems.length === 0) ready.set(python.path, report);
  else ready.delete(python.path);
  return report;
}

let pythonApi: Promise<PythonExtension | undefined> | undefined;

/** The Python extension's API, or undefined without that extension: it is optional. The first
 *  use activates it and starts following its active environment. */
function pythonExtension(): Promise<PythonExtension | undefined> {
  if (!vscode.extensions.getExtension(PVSC_EXTENSION_ID)) return Promise.resolve(undefined);
  pythonApi ??= PythonExtension.api().then(
    (api) => {
      subscriptions.push(
        api.environments.onDidChangeActiveEnvironmentPath(() =>
          forget("The Python extension's active environment changed"),
        ),
      );
      return api;
    },
    (err: unknown) => {
      log.warn(`The Python extension did not answer (${String(err)}); going on without it.`);
      pythonApi = undefined;
      return undefined;
    },
  );
  return pythonApi;
}

async function activeEnvironment(): Promise<string | undefined> {
  const api = await pythonExtension();
  if (!api) return undefined;
  try {
    const active = api.environments.getActiveEnvironmentPath(vscode.workspace.workspaceFolders?.[0]);
    return (await api.environments.resolveEnvironment(active))?.executable.uri?.fsPath;
  } catch (err) {
    log.warn(`Could not read the Python extension's active environment (${String(err)}); going on without it.`);
    return undefined;
  }
}

function describe(python: ResolvedPython): string {
  return `${python.path} (from ${python.source})`;
}

/** The problem, the interpreter, and the fix that works for where the interpreter came from:
 *  setting up the managed environment does not help while a setting or variable chooses another. */
async function showProblem(severity: 'error' | 'warning', python: ResolvedPython, problem: Problem): Promise<void> {
  const chosenByUser = python.source === 'wordplay.pythonPath' || python.source === 'WORDPLAY_PYTHON';
  const fix =
    python.source === 'wordplay.pythonPath'
      ? 'Point the wordplay.pythonPath setting at an interpreter with PyTorch, or clear it and run Set Up Python Environment.'
      : python.source === 'WORDPLAY_PYTHON'
        ? "WORDPLAY_PYTHON in VS Code's environment chose it: change that variable, or set wordplay.pythonPath, which comes first."
        : "Set Up Python Environment installs PyTorch and the trainer's packages into an environment of wordplay's own (a few minutes the first time).";
  const action = chosenByUser ? OPEN_SETTING : SET_UP;
  const message = `Wordplay cannot train with ${describe(python)}: ${problem.problem} ${fix}`;
  const choice =
    severity === 'error'
      ? await vscode.window.showErrorMessage(message, action, SHOW_LOGS)
      : await vscode.window.showWarningMessage(message, action, SHOW_LOGS);
  if (choice === SET_UP) await vscode.commands.executeCommand('wordplay.setupPython');
  else if (choice === OPEN_SETTING)
    await vscode.commands.executeCommand('workbench.action.openSettings', 'wordplay.pythonPath');
  else if (choice === SHOW_LOGS) log.show();
}

async function checkPython(): Promise<void> {
  if (!requireTrust('Checking the Python environment')) return;
  const python = await choosePython();
  const report = await check(python, true);
  log.info(`Check Python Environment: ${describe(python)}\n${formatDoctor(report)}`);
  if (report.problems.length > 0) {
    await showProblem('warning', python, report.problems[0]);
    return;
  }
  const choice = await vscode.window.showInformationMessage(
    `Wordplay: ${summarizeDoctor(report)}. Interpreter: ${describe(python)}.`,
    SHOW_LOGS,
  );
  if (choice === SHOW_LOGS) log.show();
}

async function setupPython(): Promise<void> {
  if (!requireTrust('Setting up the Python environment')) return;
  const env = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Wordplay: Python environment', cancellable: true },
    (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return setupManagedEnv(
        {
          step: (message) => {
            log.info(message);
            progress.report({ message });
          },
          log: (line) => log.info(line),
        },
        { signal: abort.signal },
      );
    },
  );
  const setting = vscode.workspace.getConfiguration('wordplay').get<string>('pythonPath', '').trim();
  const overridden = setting
    ? ` The wordplay.pythonPath setting (${setting}) still comes first: clear it to train with this environment.`
    : '';
  void vscode.window.showInformationMessage(`Wordplay: Python environment ready (${env.python}).${overridden}`);
}
