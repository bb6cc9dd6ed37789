// Running a benchmark's commands as child processes of `npm run bench`: their stderr shown as
// progress, their stdout shown too and kept, the result being the JSON on its last line.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { packageRoot } from '../src/core/common/paths';

export interface Finished {
  /** The exit code, or the signal that ended it. */
  code: number | NodeJS.Signals | null;
  stdout: string;
}

/** Runs a command in the package root; onChild gets the child as it starts. */
export function runCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; onChild?: (child: ChildProcess) => void } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: packageRoot,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? signal, stdout }));
    options.onChild?.(child);
  });
}

/** `node <args>`; its result is the JSON object on the last line of its stdout. */
export async function nodeJson(args: string[], what: string): Promise<unknown> {
  const { code, stdout } = await runCommand(process.execPath, args);
  if (code !== 0) throw new Error(`${what} exited with ${code}`);
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

/** The bundled `wordplay` command (dist/cli.js): what a person would type. */
export const cliPath = path.join(packageRoot, 'dist', 'cli.js');

/** `wordplay <args>`, printing JSON on its last line. */
export const wordplayJson = (args: string[]) => nodeJson([cliPath, ...args], `wordplay ${args.join(' ')}`);
