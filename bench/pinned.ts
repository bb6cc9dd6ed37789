// What the benchmarks that train side by side on the CPU share (bench/recipe.ts,
// bench/tokenizers.ts): whether two runs can be pinned, one to each of two cores, and one
// trainer run with one thread, pinned to its core where given, to its exit (or stopped with
// SIGINT, the trainer's graceful stop, after some seconds of training; polled every 500 ms).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { UserError } from '../src/core/common/errors';
import { EventFollower, readEvents, type RunEvent } from '../src/core/run/events';
import { runPaths } from '../src/core/run/runDir';
import { trainerInvocation } from '../src/core/common/pythonEnv';

/** Whether taskset can pin to cores 0 and 1 here (it exists, and both cores are ours). */
export function canPin(): boolean {
  return (
    os.availableParallelism() >= 2 &&
    ['0', '1'].every((core) => spawnSync('taskset', ['-c', core, 'true']).status === 0)
  );
}

export interface PinnedRun {
  /** Its name in messages (a role, a tokenizer). */
  label: string;
  /** A preset or a config file. */
  config: string;
  /** The core to pin it to (taskset), or null: not pinned. */
  core: number | null;
  runDir: string;
  /** `--set group.key=value` overrides. */
  sets: string[];
}

export interface PinnedOptions {
  /** Aborting kills the trainer (SIGKILL). */
  signal: AbortSignal;
  /** Gets each eval as a line, as it comes. */
  say: (line: string) => void;
  /** Stop it gracefully (SIGINT) once this many seconds have passed since its start event
   *  and, with `iters`, once it has trained that many iterations too; its ending `stopped` is
   *  then no failure. Without it the run must finish. */
  stopAfter?: { seconds: number; iters?: number };
  /** Called at every poll (then every 100 ms, not 500) with the last iteration of a train event
   *  so far, whether the start event has come, and the trainer's CPU time. */
  onSample?: (sample: Sample) => void;
}

export interface Sample {
  iter: number;
  started: boolean;
  /** The trainer's CPU time (user + system) so far; null where /proc cannot tell. */
  cpu_s: number | null;
}

let clockTicks: number | undefined;

/** A process's CPU time (user + system, its threads included) from /proc/<pid>/stat; null
 *  where there is no /proc (macOS, Windows) or the process is gone. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command's closing parenthesis: state is field 3, utime 14, stime 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/** One trainer with one thread (OMP_NUM_THREADS=1), export skipped, to its exit; its events. */
export async function trainPinned(run: PinnedRun, options: PinnedOptions): Promise<RunEvent[]> {
  const paths = runPaths(run.runDir);
  fs.mkdirSync(paths.root, { recursive: true });
  const trainArgs = [
    'train',
    '--config',
    run.config,
    '--run-dir',
    paths.root,
    ...run.sets.flatMap((s) => ['--set', s]),
  ];
  const inv = trainerInvocation(trainArgs, {
    ...process.env,
    OMP_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
    WORDPLAY_SKIP_EXPORT: '1', // the export is not part of the figures
    WORDPLAY_STOP_WITH_PID: String(process.pid), // stops if this bench goes away
  });
  const [command, args] =
    run.core === null ? [inv.command, inv.args] : ['taskset', ['-c', String(run.core), inv.command, ...inv.args]];
  const log = fs.openSync(paths.log, 'w');
  const child = spawn(command, args, {
    env: inv.env,
    stdio: ['ignore', log, log],
    signal: options.signal,
    killSignal: 'SIGKILL',
  });
  fs.closeSync(log);
  const follower = new EventFollower(paths.events);
  let start: number | undefined;
  let iter = 0;
  let stopped = false;
  const poll = () => {
    for (const e of follower.poll()) {
      if (e.type === 'start') start = e.time;
      if (e.type === 'train') iter = e.iter;
      if (e.type === 'eval') {
        const bpb = e.val_bpb === undefined ? '' : `, ${e.val_bpb.toFixed(4)} bits per byte`;
        options.say(
          `${run.label} eval ${e.iter}: val ${e.val_loss.toFixed(4)}${bpb} at ${(e.time - (start ?? e.time)).toFixed(0)} s`,
        );
      }
    }
    const stop = options.stopAfter;
    if (
      stop &&
      !stopped &&
      child.exitCode === null &&
      child.signalCode === null &&
      start !== undefined &&
      Date.now() / 1000 - start >= stop.seconds &&
      iter >= (stop.iters ?? 0)
    ) {
      stopped = true;
      child.kill('SIGINT'); // taskset execs the trainer: this is its process
    }
    // taskset execs the trainer, so the child's pid is the trainer's
    options.onSample?.({ iter, started: start !== undefined, cpu_s: cpuSeconds(child.pid) });
  };
  const timer = setInterval(poll, options.onSample ? 100 : 500);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => clearInterval(timer));
  poll();
  const events = readEvents(paths.events);
  const ended = events.some(
    (e) => e.type === 'done' && (e.reason === 'finished' || (stopped && e.reason === 'stopped')),
  );
  if (code !== 0 || !ended) {
    const tail = fs.readFileSync(paths.log, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
    throw new UserError(`the ${run.label} run (${run.config}) did not finish (exit ${code}); its last lines:\n${tail}`);
  }
  return events;
}
