// The trainer's Python: finding an interpreter, and building the managed virtual environment
// (`wordplay setup`) outside the clone, keyed by the hash of trainer/requirements.txt, so a
// changed requirement builds a fresh environment and an unchanged one is reused. DeepSpeed
// (distributed.backend deepspeed) is an optional extra, `wordplay setup --deepspeed`, installed
// into that same environment from trainer/requirements-deepspeed.txt without changing its key.
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors';
import { cacheDir, trainerDir } from './paths';

export const MIN_PYTHON: [number, number] = [3, 10];
const READY_MARKER = 'wordplay-env.json';
const DEEPSPEED_MARKER = 'wordplay-deepspeed.json';

export const requirementsFile = path.join(trainerDir, 'requirements.txt');
export const deepspeedRequirementsFile = path.join(trainerDir, 'requirements-deepspeed.txt');

function fileHash(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);
}

export function requirementsHash(): string {
  return fileHash(requirementsFile);
}

export interface ManagedEnv {
  dir: string;
  python: string;
}

export function managedEnv(env: NodeJS.ProcessEnv = process.env): ManagedEnv {
  const dir = path.join(cacheDir(env), `python-${requirementsHash()}`);
  const python =
    process.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');
  return { dir, python };
}

/** The environment is complete only once setup wrote its marker, after every install succeeded. */
export function isManagedEnvReady(env: NodeJS.ProcessEnv = process.env): boolean {
  return fs.existsSync(path.join(managedEnv(env).dir, READY_MARKER));
}

export type PythonSource =
  'wordplay.pythonPath' | 'WORDPLAY_PYTHON' | 'Python extension' | 'managed environment' | 'PATH';

export interface ResolvedPython {
  path: string;
  source: PythonSource;
}

/** The interpreter the CLI runs the trainer with: WORDPLAY_PYTHON, else the managed
 *  environment when it is ready, else python3 (python on Windows) from PATH. */
export function resolvePython(env: NodeJS.ProcessEnv = process.env): ResolvedPython {
  if (env.WORDPLAY_PYTHON) return { path: env.WORDPLAY_PYTHON, source: 'WORDPLAY_PYTHON' };
  if (isManagedEnvReady(env)) return { path: managedEnv(env).python, source: 'managed environment' };
  return { path: systemPython(), source: 'PATH' };
}

/** What the editor adds to the search; src/common/pythonCommands.ts fills it in from VS Code. */
export interface EditorPythonSources {
  /** The wordplay.pythonPath setting: empty when unset. */
  setting: string;
  /** The Python extension's active interpreter, when that extension is installed and has one. */
  activeEnvironment(): Promise<string | undefined>;
  /** Whether the trainer can run with an interpreter (Python 3.10+, PyTorch, its packages). */
  canTrain(python: string): Promise<boolean>;
}

/** The interpreter the extension trains with: the wordplay.pythonPath setting, else
 *  WORDPLAY_PYTHON, else the Python extension's active environment when it can train, else as
 *  the CLI (the managed environment, then PATH). The active environment must be able to train
 *  to be chosen: a torch-less one would otherwise hide the environment `wordplay setup` made. */
export async function resolveEditorPython(
  sources: EditorPythonSources,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedPython> {
  const setting = sources.setting.trim();
  if (setting) return { path: setting, source: 'wordplay.pythonPath' };
  if (!env.WORDPLAY_PYTHON) {
    const active = await sources.activeEnvironment();
    if (active && (await sources.canTrain(active))) return { path: active, source: 'Python extension' };
  }
  return resolvePython(env);
}

function systemPython(): string {
  return process.platform === 'win32' ? 'python' : 'python3';
}

/** The interpreter's version, or a UserError saying how to get a suitable one. */
export function pythonVersion(python: string): string {
  const probe = spawnSync(python, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new UserError(
      `Python was not found at "${python}". Install Python ${MIN_PYTHON.join('.')} or later, or set WORDPLAY_PYTHON to its path.`,
    );
  }
  const version = probe.stdout.trim();
  const [major, minor] = version.split('.').map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new UserError(
      `Python ${version} at "${python}" is too old: wordplay needs ${MIN_PYTHON.join('.')} or later. Install a newer Python or set WORDPLAY_PYTHON to one.`,
    );
  }
  return version;
}

export interface SetupProgress {
  /** A short line for people: what setup is doing now. */
  step(message: string): void;
  /** Every line pip prints, for a log. */
  log?(line: string): void;
}

/** Creates the managed environment when it is missing or incomplete; a ready one is kept.
 *  With `deepspeed`, DeepSpeed too, unless that same extra is installed already. */
export async function setupManagedEnv(
  progress: SetupProgress,
  options: { basePython?: string; signal?: AbortSignal; env?: NodeJS.ProcessEnv; deepspeed?: boolean } = {},
): Promise<ManagedEnv> {
  const env = options.env ?? process.env;
  const target = managedEnv(env);
  if (isManagedEnvReady(env)) progress.step(`Python environment is up to date: ${target.dir}`);
  else await createManagedEnv(target, progress, options.basePython ?? env.WORDPLAY_BASE_PYTHON, options.signal);
  if (options.deepspeed) await installDeepSpeed(target, progress, options.signal);
  return target;
}

async function createManagedEnv(
  target: ManagedEnv,
  progress: SetupProgress,
  base: string | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const basePython = base ?? systemPython();
  const version = pythonVersion(basePython);
  // An environment without its marker was interrupted: start it again from nothing.
  fs.rmSync(target.dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target.dir), { recursive: true });
  try {
    progress.step(`Creating a virtual environment with Python ${version} in ${target.dir}`);
    await run(basePython, ['-m', 'venv', target.dir], progress, signal);
    const total = requirementNames().length;
    let collected = 0;
    progress.step(`Installing ${total} packages (PyTorch is large: this takes a few minutes the first time)`);
    await run(
      target.python,
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-r', requirementsFile],
      {
        log: progress.log,
        step: progress.step,
        line(line: string) {
          const collecting = /^Collecting (\S+)/.exec(line);
          if (collecting)
            progress.step(`Collecting ${collecting[1]} (${++collected} packages so far, for the ${total} asked for)`);
          else if (line.startsWith('Installing collected packages')) progress.step('Installing the collected packages');
        },
      },
      signal,
    );
    fs.writeFileSync(
      path.join(target.dir, READY_MARKER),
      JSON.stringify({ requirements: requirementsHash(), python: version, created: new Date().toISOString() }, null, 2),
    );
    progress.step(`Python environment ready: ${target.dir}`);
  } catch (err) {
    fs.rmSync(target.dir, { recursive: true, force: true });
    throw err;
  }
}

/** Whether the managed environment holds DeepSpeed as trainer/requirements-deepspeed.txt pins it now. */
export function hasDeepSpeed(target: ManagedEnv = managedEnv()): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(target.dir, DEEPSPEED_MARKER), 'utf8')) as {
      requirements?: string;
    };
    return marker.requirements === fileHash(deepspeedRequirementsFile);
  } catch {
    return false;
  }
}

/** Installs the DeepSpeed extra into a ready environment; its marker, written last, records
 *  the requirements it installed, so a second setup skips it and a changed pin installs again. */
async function installDeepSpeed(target: ManagedEnv, progress: SetupProgress, signal?: AbortSignal): Promise<void> {
  if (hasDeepSpeed(target)) {
    progress.step('DeepSpeed is installed');
    return;
  }
  progress.step('Installing DeepSpeed (distributed.backend deepspeed)');
  const args = [
    '-m',
    'pip',
    'install',
    '--disable-pip-version-check',
    '--progress-bar',
    'off',
    '-r',
    deepspeedRequirementsFile,
  ];
  await run(target.python, args, progress, signal);
  fs.writeFileSync(
    path.join(target.dir, DEEPSPEED_MARKER),
    JSON.stringify({ requirements: fileHash(deepspeedRequirementsFile), installed: new Date().toISOString() }, null, 2),
  );
  progress.step('DeepSpeed installed');
}

function requirementNames(): string[] {
  return fs
    .readFileSync(requirementsFile, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

function run(
  command: string,
  args: string[],
  progress: SetupProgress & { line?(line: string): void },
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const tail: string[] = [];
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) {
        if (!line.trim()) continue;
        progress.log?.(line);
        progress.line?.(line);
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      if (err.name === 'AbortError') reject(new UserError('Python environment setup was cancelled; nothing was kept.'));
      else reject(new UserError(`Could not run ${command}: ${err.message}`));
    });
    child.on('close', (code) => {
      if (code === 0) resolve();
      else if (!signal?.aborted) {
        reject(
          new UserError(`"${command} ${args.join(' ')}" failed (exit ${code}). Its last lines:\n${tail.join('\n')}`),
        );
      }
    });
  });
}

export interface TrainerInvocation {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** How to run `python -m wordplay_trainer <args>` with the resolved interpreter: the package
 *  is imported from this extension's trainer/ folder, never installed into the environment. */
export function trainerInvocation(args: string[], env: NodeJS.ProcessEnv = process.env): TrainerInvocation {
  const python = resolvePython(env).path;
  return {
    command: python,
    args: ['-m', 'wordplay_trainer', ...args],
    env: { ...env, ...trainerVariables(env) },
  };
}

/** The variables the trainer runs with, beside those it inherits: the package on PYTHONPATH,
 *  and its output unbuffered (a log file shows each line as it is written). A batch script
 *  (src/core/cluster/) writes these same values. */
export function trainerVariables(env: NodeJS.ProcessEnv = process.env): {
  PYTHONPATH: string;
  PYTHONUNBUFFERED: string;
} {
  return { PYTHONPATH: [trainerDir, env.PYTHONPATH].filter(Boolean).join(path.delimiter), PYTHONUNBUFFERED: '1' };
}
