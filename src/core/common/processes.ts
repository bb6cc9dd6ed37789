// Is a process (or a process group) still there? On Linux /proc answers precisely: a zombie
// (exited, not yet reaped by a parent that is gone or busy) counts as gone, which matters for
// trainers whose extension host died. Elsewhere signal 0 answers.
import * as fs from 'node:fs';

interface ProcStat {
  state: string;
  pgrp: number;
}

/** /proc/<pid>/stat's state and process group, or undefined when unreadable (no such process,
 *  or not Linux). The command name in parentheses may hold spaces, so fields count from ')'. */
function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

const hasProc = process.platform === 'linux' && fs.existsSync('/proc/self/stat');

/** Whether a process with this id exists and has not exited. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (hasProc) {
    const stat = procStat(pid);
    return stat !== undefined && stat.state !== 'Z';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether any live process is in process group `pgid` (torchrun's workers included). */
export function groupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 0) return false;
  if (hasProc) {
    return fs.readdirSync('/proc').some((name) => {
      if (!/^\d+$/.test(name)) return false;
      const stat = procStat(Number(name));
      return stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z';
    });
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a process, where the OS tells it cheaply (Linux); undefined elsewhere. */
export function commandLine(pid: number): string | undefined {
  if (!hasProc) return undefined;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** Sends `signal` to a process group, or to the process alone when `group` is false. */
export function signalProcess(pid: number, signal: NodeJS.Signals, group: boolean): boolean {
  try {
    process.kill(group ? -pid : pid, signal);
    return true;
  } catch {
    return false;
  }
}
