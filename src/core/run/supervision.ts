// Finding and stopping a run's trainer from any process, not only the one that started it: a
// reloaded VS Code window, or a window beside a terminal where `wordplay train` runs. Whoever
// spawns the trainer records its process group in the run dir (process.json); a run started
// some other way is found by the pid of its `start` event.
//
// A run can be tied to a watcher process (WORDPLAY_STOP_WITH_PID: the window or terminal that
// started it): once the watcher is gone the trainer stops after a grace period, unless a window
// takes the run over by recording itself in watcher.json. That is how a run survives a window
// reload (the old extension host ends, the new one takes over) but not a closed window.
import * as fs from 'node:fs';
import { writeFileAtomic } from '../common/atomicWrite';
import { commandLine, groupAlive, processAlive, signalProcess } from '../common/processes';
import { runPaths } from './runDir';

export interface ProcessRecord {
  /** The process group leader: python, or torchrun for several processes. */
  pid: number;
  /** When it was spawned (ms since the epoch). */
  started: number;
  /** The process the run stops with (its WORDPLAY_STOP_WITH_PID), or null. */
  watcher: number | null;
}

export function writeProcessRecord(runDir: string, pid: number, watcher: number | null = null): void {
  writeFileAtomic(
    runPaths(runDir).process,
    `${JSON.stringify({ pid, started: Date.now(), watcher } satisfies ProcessRecord)}\n`,
  );
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

/** The run's watcher now: the window that took it over, else the process that started it. */
export function currentWatcher(runDir: string): number | null {
  try {
    const pid = JSON.parse(fs.readFileSync(runPaths(runDir).watcher, 'utf8'))?.pid;
    if (Number.isInteger(pid) && pid > 0) return pid;
  } catch {
    // not taken over
  }
  return readProcessRecord(runDir)?.watcher ?? null;
}

/** Takes over a run whose watcher is gone (the window before a reload), so it keeps training
 *  while `pid` lives. A run tied to nobody, or to a live watcher, is left alone. */
export function takeOverRun(runDir: string, pid: number): boolean {
  const watcher = currentWatcher(runDir);
  if (watcher === null || processAlive(watcher)) return false;
  writeFileAtomic(runPaths(runDir).watcher, `${JSON.stringify({ pid })}\n`);
  return true;
}
