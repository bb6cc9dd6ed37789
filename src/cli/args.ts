// What every subcommand shares: its shape, and option parsing that names a bad option.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../core/common/errors';

export interface Subcommand {
  summary: string;
  usage: string;
  /** Resolves to the exit code (0 when undefined); throws UserError for bad input. */
  run(args: string[]): Promise<number | void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseOptions<T extends Options>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UserError(`${(err as Error).message}\n\n${usage}`);
  }
}

/** A numeric option, or a UserError naming it. */
export function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UserError(`--${name} must be a number, got "${value}".`);
  return n;
}
