// What this machine can train with: Node, the Python in use, PyTorch and its devices, and each
// problem with its fix. The trainer package's `probe` answers the Python half.
import { execFile } from 'node:child_process';
import {
  isManagedEnvReady,
  managedEnv,
  resolvePython,
  trainerInvocation,
  type PythonSource,
  type ResolvedPython,
} from '../common/pythonEnv';

export interface Problem {
  problem: string;
  fix: string;
}

export interface DoctorReport {
  node: { version: string };
  python: { path: string; version: string | null; source: PythonSource } | null;
  torch: { version: string; cuda_build: string | null; threads: number } | null;
  device: 'cuda' | 'mps' | 'cpu';
  devices: { cpu_threads: number; cuda: { index: number; name: string; memory_gb: number }[]; mps: boolean };
  managed_environment: { path: string; ready: boolean };
  problems: Problem[];
}

/** Runs the trainer package's probe without blocking (importing torch takes seconds), with the
 *  interpreter wordplay would use, or the one given (the extension resolves its own). */
export async function doctor(
  env: NodeJS.ProcessEnv = process.env,
  resolved: ResolvedPython = resolvePython(env),
): Promise<DoctorReport> {
  const report: DoctorReport = {
    node: { version: process.versions.node },
    python: null,
    torch: null,
    device: 'cpu',
    devices: { cpu_threads: 0, cuda: [], mps: false },
    managed_environment: { path: managedEnv(env).dir, ready: isManagedEnvReady(env) },
    problems: [],
  };
  if (Number(process.versions.node.split('.')[0]) < 20) {
    report.problems.push({
      problem: `Node.js ${process.versions.node} is older than 20.`,
      fix: 'Install Node.js 20 or later.',
    });
  }
  const probe = trainerInvocation(['probe'], { ...env, WORDPLAY_PYTHON: resolved.path });
  const result = await new Promise<{ ok: boolean; stdout: string; why: string }>((resolve) =>
    execFile(probe.command, probe.args, { env: probe.env, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, stdout, why: stderr.trim().split('\n').pop() || err?.message || '' }),
    ),
  );
  if (!result.ok) {
    report.problems.push({
      problem: `Python could not be run at "${resolved.path}" (${result.why}).`,
      fix: 'Install Python 3.10 or later and run `wordplay setup`, or set WORDPLAY_PYTHON to an interpreter with PyTorch.',
    });
    return report;
  }
  const probed = JSON.parse(result.stdout) as Pick<DoctorReport, 'torch' | 'device' | 'devices' | 'problems'> & {
    python: { path: string; version: string };
  };
  report.python = { ...probed.python, source: resolved.source };
  report.torch = probed.torch;
  report.device = probed.device;
  report.devices = probed.devices;
  report.problems.push(...probed.problems);
  const [major, minor] = probed.python.version.split('.').map(Number);
  if (major < 3 || (major === 3 && minor < 10)) {
    report.problems.push({
      problem: `Python ${probed.python.version} is older than 3.10.`,
      fix: 'Install Python 3.10 or later, then run `wordplay setup`.',
    });
  }
  return report;
}

export function formatDoctor(r: DoctorReport): string {
  const lines = [
    `Node.js      ${r.node.version}`,
    `Python       ${r.python ? `${r.python.version} (${r.python.path}, from ${r.python.source})` : 'not found'}`,
    `PyTorch      ${r.torch ? `${r.torch.version}${r.torch.cuda_build ? ` (CUDA ${r.torch.cuda_build} build)` : ''}` : 'not installed'}`,
    `Device       ${r.device}`,
    ...r.devices.cuda.map((d) => `  cuda:${d.index}     ${d.name}, ${d.memory_gb} GiB`),
    ...(r.devices.mps ? ['  mps        Apple GPU'] : []),
    `  cpu        ${r.devices.cpu_threads} threads`,
    `Environment  ${r.managed_environment.path} (${r.managed_environment.ready ? 'ready' : 'not set up'})`,
  ];
  if (r.problems.length === 0) lines.push('', 'No problems found.');
  else lines.push('', 'Problems:', ...r.problems.map((p) => `  - ${p.problem}\n    Fix: ${p.fix}`));
  return lines.join('\n');
}

/** One line for a notification: the Python and PyTorch versions and the device training uses. */
export function summarizeDoctor(r: DoctorReport): string {
  if (!r.python) return 'Python not found';
  if (!r.torch) return `Python ${r.python.version} without PyTorch`;
  const device =
    r.device === 'cuda'
      ? `CUDA (${r.devices.cuda.map((d) => d.name).join(', ')})`
      : r.device === 'mps'
        ? 'MPS (Apple GPU)'
        : `the CPU (${r.devices.cpu_threads} threads)`;
  return `Python ${r.python.version} with PyTorch ${r.torch.version}, training on ${device}`;
}
