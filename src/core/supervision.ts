// Finding and stopping a run's trainer from any process, not only the one that started it: a
// reloaded VS Code window, or a window beside a terminal where `wordplay train` runs. Whoever
// spawns the trainer records its process group in the run dir (process.json); a run started
// some other way is found by the pid of its `start` event.
import * as fs from 'node:fs';
import { commandLine, groupAlive, processAlive, signalProcess } from './processes';
import { runPaths } from './runDir';

export interface ProcessRecord {
  /** The process group leader: python, or torchrun for several processes. */
  pid: number;
  /** When it was spawned (ms since the epoch). */
  started: number;
}

export function writeProcessRecord(runDir: string, pid: number): void {
  const file = runPaths(runDir).process;
  const temp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(temp, `${JSON.stringify({ pid, started: Date.now() } satisfies ProcessRecord)}\n`);
  fs.renameSync(temp, file);
}

export function readProcessRecord(runDir: string): ProcessRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(runPaths(runDir).process, 'utf8'));
    return Number.isInteger(record?.pid) && record.pid > 0 ? (record as ProcessRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** A trainer found at work: signal its whole group, or the process alone when no group was
 *  recorded (a run started by hand with `python -m wordplay_trainer`). */
export interface LiveTrainer {
  pid: number;
  group: boolean;
}

/** Where the OS tells us, a pid whose command line is not the trainer's was reused: never
 *  signal a stranger. */
function looksLikeTrainer(pid: number): boolean {
  const cmd = commandLine(pid);
  return cmd === undefined || cmd.includes('wordplay_trainer');
}

/** The run's live trainer, if any: the recorded group, else the `start` event's pid. */
export function liveTrainer(runDir: string, startPid: number | null): LiveTrainer | undefined {
  const record = readProcessRecord(runDir);
  if (record && groupAlive(record.pid) && (!processAlive(record.pid) || looksLikeTrainer(record.pid))) {
    return { pid: record.pid, group: true };
  }
  if (startPid !== null && processAlive(startPid) && looksLikeTrainer(startPid)) return { pid: startPid, group: false };
  return undefined;
}

function trainerAlive(t: LiveTrainer): boolean {
  return t.group ? groupAlive(t.pid) : processAlive(t.pid);
}

/** Stop and wait for a trainer this process did not start (see TrainerProcess for one it did). */
export class AttachedTrainer {
  /** Resolves once no process of the trainer is left. */
  readonly done: Promise<void>;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly trainer: LiveTrainer,
    pollMs = 250,
  ) {
    this.done = new Promise((resolve) => {
      const timer = setInterval(() => {
        if (trainerAlive(trainer)) return;
        clearInterval(timer);
        if (this.killTimer) clearTimeout(this.killTimer);
        resolve();
      }, pollMs);
    });
  }

  get pid(): number {
    return this.trainer.pid;
  }

  /** Graceful stop (SIGINT: finish the step, checkpoint, exit); SIGKILL after `graceMs`. */
  stop(graceMs = 30_000): void {
    signalProcess(this.trainer.pid, 'SIGINT', this.trainer.group);
    if (!this.killTimer) {
      this.killTimer = setTimeout(() => this.kill(), graceMs);
      this.killTimer.unref();
    }
  }

  kill(): void {
    signalProcess(this.trainer.pid, 'SIGKILL', this.trainer.group);
  }
}
