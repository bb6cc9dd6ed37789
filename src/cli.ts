// The `wordplay` command: one subcommand per stage of the pipeline, each in src/cli/.
import { UserError } from './core/common/errors';
import type { Subcommand } from './cli/subcommand';
import { bench } from './cli/bench';
import { complete } from './cli/complete';
import { demo } from './cli/demo';
import { doctor } from './cli/doctor';
import { exportModel } from './cli/export';
import { prepare } from './cli/prepare';
import { setup } from './cli/setup';
import { submit } from './cli/submit';
import { train } from './cli/train';

const subcommands: Record<string, Subcommand> = {
  setup,
  doctor,
  prepare,
  train,
  submit,
  export: exportModel,
  complete,
  demo,
  bench,
};

function usage(): string {
  const lines = Object.entries(subcommands).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  return `Usage: wordplay <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "wordplay <command> --help" for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = subcommands[name];
  if (!command) {
    console.error(`wordplay: unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  return (await command.run(rest)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UserError) console.error(`wordplay: ${err.message}`);
    else console.error(err);
    process.exitCode = 1;
  },
);
