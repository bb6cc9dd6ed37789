// What every `wordplay` subcommand is: a summary for the command list, its usage, and run.
export interface Subcommand {
  summary: string;
  usage: string;
  /** Resolves to the exit code (0 when undefined); throws UserError for bad input. */
  run(args: string[]): Promise<number | void>;
}
