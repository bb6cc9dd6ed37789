// What train.device, train.dtype and train.compile resolve to, for the config editor's estimate
// (estimate.ts), as the trainer resolves them (trainer/wordplay_trainer/common/compute.py): the
// two are held to test/cases/auto-rules.json. Where the trainer refuses a value, the estimate goes
// on with what it can and says so in a note that names the key. Pure, as estimate.ts: no Node or
// DOM imports.
import compileFacts from '../../../schemas/compile.json';
import type { DeviceInfo } from '../webview/protocol';

/** The device the run will use: train.device = cpu forces the CPU whatever was detected; a
 *  device that is not here (cuda, mps), which the trainer refuses, leaves the detected one, with a
 *  note. */
export function effectiveDevice(requested: string, detected: DeviceInfo, notes: string[]): DeviceInfo {
  const cpu: DeviceInfo = detected.kind === 'cpu' ? detected : { kind: 'cpu', name: 'CPU', cores: detected.cores ?? 1 };
  if (requested === 'cpu') return cpu;
  if (requested.startsWith('cuda') && detected.kind !== 'cuda') {
    notes.push(
      `train.device is ${requested} but no CUDA GPU was detected here: the estimate is for the ${detected.kind.toUpperCase()}.`,
    );
  }
  if (requested === 'mps' && detected.kind !== 'mps') {
    notes.push(
      `train.device is mps but no Apple-silicon GPU was detected here: the estimate is for the ${detected.kind.toUpperCase()}.`,
    );
  }
  return detected;
}

/** The dtype train.dtype gives on a device: auto is bfloat16 on a CUDA GPU that has it, float16 on
 *  one that does not, float32 elsewhere. A dtype the device lacks (float16 off CUDA, bfloat16 on a
 *  GPU without it) is kept, with a note. */
export function resolveDtype(
  requested: string,
  device: DeviceInfo,
  notes: string[],
): 'float32' | 'bfloat16' | 'float16' {
  if (requested === 'float16' && device.kind !== 'cuda') {
    notes.push(
      `train.dtype float16 needs a CUDA GPU (the estimate is for the ${device.kind.toUpperCase()}): the trainer refuses it; set train.dtype to auto, bfloat16 or float32.`,
    );
  }
  if (requested === 'bfloat16' && device.kind === 'cuda' && device.bf16 === false) {
    notes.push(
      `train.dtype is bfloat16 but ${device.name} has none: the trainer refuses it; set train.dtype to auto or float16.`,
    );
  }
  if (requested === 'float32' || requested === 'bfloat16' || requested === 'float16') return requested;
  if (device.kind !== 'cuda') return 'float32';
  return device.bf16 === false ? 'float16' : 'bfloat16';
}

/** Whether train.compile compiles on a device: auto always on CUDA, never on MPS; on a CPU where it
 *  was measured to pay (schemas/compile.json): a model no wider than cpu_max_n_embd, without
 *  dropout, in a run expected to train cpu_min_run_seconds or more uncompiled (`runSeconds`; null:
 *  not known). */
export function resolveCompile(
  requested: string,
  device: DeviceInfo,
  runSeconds: number | null,
  nEmbd: number,
  dropout: number,
): boolean {
  if (requested !== 'auto') return requested === 'true';
  if (device.kind !== 'cpu') return device.kind === 'cuda';
  const longEnough = runSeconds !== null && runSeconds >= compileFacts.cpu_min_run_seconds;
  return longEnough && nEmbd <= compileFacts.cpu_max_n_embd && dropout === 0;
}
