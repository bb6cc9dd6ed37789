// The trainer process: `python -m wordplay_trainer train` (or torchrun for several processes)
// in its own process group, given the resolved config as --config's JSON text (the trainer
// writes config.json: one writer, however a run is launched), events followed from
// events.jsonl. Its output goes to the run dir's train.log rather than a pipe, and its group is
// recorded in process.json, so it outlives the process that started it (a reloaded window
// reattaches; see supervision.ts). stop() asks for a graceful stop (SIGINT to the group:
// finish the step, checkpoint, `done` stopped) and kills the group after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from './config';
import { UserError } from '../common/errors';
import { EventFollower, type DoneEvent, type ErrorEvent, type RunEvent } from '../run/events';
import { groupAlive, processAlive, signalProcess } from '../common/processes';
import { trainerInvocation } from '../common/pythonEnv';
import { runPaths } from '../run/runDir';
import { writeProcessRecord } from '../run/supervision';
import { FileTail } from '../run/tail';

export interface TrainerOptions {
  config: RunConfig;
  runDir: string;
  env?: NodeJS.ProcessEnv;
  /** Each event of this run, as it is appended to events.jsonl. */
  onEvent?(event: RunEvent): void;
  /** Each line the trainer writes to stdout or stderr (logs for people), read from train.log. */
  onStderr?(line: string): void;
  pollMs?: number;
}

export interface TrainerResult {
  /** The trainer's exit code; 0 also when a multi-process run was stopped gracefully. */
  exitCode: number;
  signal: NodeJS.Signals | null;
  /** Events this process wrote (not those of earlier runs in the same folder). */
  events: RunEvent[];
  done?: DoneEvent;
  error?: ErrorEvent;
}

export interface Command {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** The trainer's arguments after `python -m wordplay_trainer`: the config travels as JSON text,
 *  which torchrun hands to every worker; rank 0 writes it to config.json. */
export function trainerArgs(config: RunConfig, runDir: string): string[] {
  return ['train', '--config', JSON.stringify(config), '--run-dir', runPaths(runDir).root];
}

/** torchrun beside the trainer's Python (`wordplay setup`'s environment has it), or a UserError. */
export function torchrunBeside(python: string): string {
  const dir = path.dirname(python);
  const torchrun = path.join(dir, process.platform === 'win32' ? 'torchrun.exe' : 'torchrun');
  if (dir === '.' || !fs.existsSync(torchrun)) {
    throw new UserError(
      `torchrun (it starts distributed.nproc_per_node x nnodes processes, and every cluster job) was not found beside ${python}; ` +
        'run "wordplay setup" (or set WORDPLAY_PYTHON to a Python with PyTorch installed)',
    );
  }
  return torchrun;
}

/** What torchrun runs with, here and in a batch script. Its c10d rendezvous shares one store
 *  across restarts (torch 2.11), so after a restart (distributed.max_restarts, a requeue) the new
 *  workers can read the old group's addresses from it and wait forever to connect: a store of
 *  each round's own avoids that (seen under load, the elastic restart test in test/faults). */
export const torchrunVariables = { TORCH_DISABLE_SHARE_RDZV_TCP_STORE: '1' } as const;

/** python -m wordplay_trainer train ..., or torchrun (beside that Python) when nproc_per_node
 *  or nnodes exceeds 1. */
export function trainerCommand(config: RunConfig, runDir: string, env: NodeJS.ProcessEnv = process.env): Command {
  const inv = trainerInvocation(trainerArgs(config, runDir), env);
  const d = config.distributed;
  if (d.nproc_per_node <= 1 && d.nnodes <= 1) return inv;
  const torchrun = torchrunBeside(inv.command);
  const rendezvous =
    d.nnodes > 1
      ? [
          '--nnodes',
          String(d.nnodes),
          '--node_rank',
          String(d.node_rank),
          '--rdzv_backend',
          'c10d',
          '--rdzv_endpoint',
          d.rendezvous,
        ]
      : ['--standalone'];
  return {
    command: torchrun,
    args: [
      ...rendezvous,
      '--nproc_per_node',
      String(d.nproc_per_node),
      '--max-restarts',
      String(d.max_restarts),
      ...inv.args,
    ],
    env: { ...inv.env, ...torchrunVariables },
  };
}

export class TrainerProcess {
  readonly child: ChildProcess;
  readonly done: Promise<TrainerResult>;
  readonly paths: ReturnType<typeof runPaths>;
  private killTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(options: TrainerOptions) {
    this.paths = runPaths(options.runDir);
    fs.mkdirSync(this.paths.root, { recursive: true });
    const cmd = trainerCommand(options.config, this.paths.root, options.env ?? process.env);
    // only this run's events: earlier runs (before a resume) stay in the file
    const follower = new EventFollower(this.paths.events, { fromStart: false });
    const output = new FileTail(this.paths.log, { fromStart: false });
    const events: RunEvent[] = [];
    const drain = () => {
      for (const line of output.poll()) options.onStderr?.(line);
      for (const event of follower.poll()) {
        events.push(event);
        options.onEvent?.(event);
      }
    };
    // a watcher.json left by an earlier run in this folder (before a resume) is not this run's
    fs.rmSync(this.paths.watcher, { force: true });
    const log = fs.openSync(this.paths.log, 'a');
    try {
      this.child = spawn(cmd.command, cmd.args, {
        env: cmd.env,
        cwd: path.dirname(this.paths.root),
        detached: true, // its own process group: a stop reaches torchrun's workers too
        stdio: ['ignore', log, log],
      });
    } finally {
      fs.closeSync(log);
    }
    const watcher = Number(cmd.env.WORDPLAY_STOP_WITH_PID);
    if (this.child.pid !== undefined)
      writeProcessRecord(this.paths.root, this.child.pid, Number.isInteger(watcher) && watcher > 0 ? watcher : null);
    const timer = setInterval(drain, options.pollMs ?? 200);
    this.done = new Promise<TrainerResult>((resolve, reject) => {
      this.child.on('error', (err) => {
        clearInterval(timer);
        reject(
          new UserError(
            `could not start the trainer (${cmd.command}): ${err.message}. Run "wordplay setup" or set WORDPLAY_PYTHON.`,
          ),
        );
      });
      this.child.on('close', (code, signal) => {
        clearInterval(timer);
        if (this.killTimer) clearTimeout(this.killTimer);
        drain();
        const rest = output.rest();
        if (rest) options.onStderr?.(rest);
        // nothing of the group may outlive the run (torchrun's workers included)
        const pgid = this.child.pid;
        if (pgid !== undefined && groupAlive(pgid)) signalProcess(pgid, 'SIGKILL', true);
        const done = [...events].reverse().find((e): e is DoneEvent => e.type === 'done');
        const error = [...events].reverse().find((e): e is ErrorEvent => e.type === 'error');
        // torchrun reports a signalled run as failed even when every worker stopped cleanly
        const exitCode = done?.reason === 'stopped' && this.stopping ? 0 : (code ?? 1);
        resolve({ exitCode, signal, events, done, error });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Graceful stop: SIGINT to the whole group; SIGKILL after `graceMs` if it is still there. */
  stop(graceMs = 30_000): void {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.stopping = true;
    if (!signalProcess(pid, 'SIGINT', true) && processAlive(pid)) this.child.kill('SIGINT');
    if (!this.killTimer) {
      this.killTimer = setTimeout(() => this.kill(), graceMs);
      this.killTimer.unref();
    }
  }

  /** Ends the group at once (no checkpoint). */
  kill(): void {
    const pid = this.child.pid;
    if (pid !== undefined) signalProcess(pid, 'SIGKILL', true);
  }
}

/** Starts the trainer, which writes config.json into the run dir. */
export function startTrainer(options: TrainerOptions): TrainerProcess {
  return new TrainerProcess(options);
}
