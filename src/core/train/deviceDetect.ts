// Which device a run would train on here, for the config editor's estimates: an NVIDIA GPU by
// nvidia-smi (no Python needed), Apple silicon by platform, else the CPU. The trainer makes the
// real choice at run time; this only has to be good enough for an estimate.
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import type { DeviceInfo } from '../webview/protocol';
import { gpuPeakFlops } from './estimate';

function run(command: string, args: string[], timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(command, args, { timeout: timeoutMs, encoding: 'utf8', windowsHide: true }, (err, stdout) =>
        resolve(err ? undefined : stdout),
      );
    } catch {
      resolve(undefined);
    }
  });
}

/** The CPU as PyTorch would use it. */
export function cpuDevice(): DeviceInfo {
  const cpus = os.cpus();
  const cores = Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length);
  const model = (cpus[0]?.model ?? 'CPU').replace(/\s+/g, ' ').trim();
  return { kind: 'cpu', name: `${model} (${cores} cores)`, cores, memoryBytes: os.totalmem() };
}

/** Parses `nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(text: string, cores: number): DeviceInfo | undefined {
  const line = text.split('\n').find((l) => l.trim());
  if (!line) return undefined;
  const [name, memoryMiB, computeCap] = line.split(',').map((s) => s.trim());
  if (!name) return undefined;
  const peak = gpuPeakFlops(name);
  const cap = Number(computeCap);
  return {
    kind: 'cuda',
    name,
    memoryBytes: Number.isFinite(Number(memoryMiB)) ? Number(memoryMiB) * 1024 * 1024 : undefined,
    peakFlops16: peak,
    // TF32 (Ampere and later) runs at half the 16-bit rate; older GPUs' fp32 is far slower
    peakFlops32: peak === undefined ? undefined : peak / (Number.isFinite(cap) && cap >= 8 ? 2 : 8),
    bf16: Number.isFinite(cap) ? cap >= 8 : undefined,
    cores,
  };
}

let cached: Promise<DeviceInfo> | undefined;

/** Detects once per process (nvidia-smi takes a moment). */
export function detectDevice(): Promise<DeviceInfo> {
  cached ??= (async () => {
    const cpu = cpuDevice();
    const smi = await run(
      'nvidia-smi',
      ['--query-gpu=name,memory.total,compute_cap', '--format=csv,noheader,nounits'],
      3000,
    );
    const gpu = smi ? parseNvidiaSmi(smi, cpu.cores ?? 1) : undefined;
    if (gpu) return gpu;
    if (process.platform === 'darwin' && process.arch === 'arm64') {
      return {
        kind: 'mps',
        name: `Apple silicon GPU (${(cpu.name.split(' (')[0] || 'Apple').trim()})`,
        memoryBytes: os.totalmem(),
        cores: cpu.cores,
      };
    }
    return cpu;
  })();
  return cached;
}
