// `wordplay train --config <file|preset> [--set group.key=value ...] [--run-dir D]`, or
// `wordplay train --dataset <dir> --minutes N`: a run sized for the dataset and the time
// (core/train/trainFor.ts), its plan printed before it trains.
import { startTrainer } from '../core/train/trainerProcess';
import { parseOptions } from '../core/common/options';
import type { Subcommand } from './subcommand';
import { loadRun, loadTrainFor, runOptions, runOptionsUsage, trainForOptions, trainForUsage } from './runOptions';
import { RunOutput } from './runOutput';

const usage = `Usage: wordplay train --config <file|preset> [--set group.key=value ...] [--run-dir DIR]
       wordplay train --dataset <dir> --minutes N [--recalibrate] [--set group.key=value ...] [--run-dir DIR]

${runOptionsUsage}
${trainForUsage}

Ctrl-C stops gracefully: the trainer finishes its step, saves a checkpoint, and exits.`;

export const train: Subcommand = {
  summary: 'train a GPT (config file or preset, or sized for a dataset and --minutes) with live progress',
  usage,
  async run(args) {
    const opts = parseOptions(args, { ...runOptions, ...trainForOptions }, usage);
    const sized = opts.dataset !== undefined || opts.minutes !== undefined;
    const { config, runDir } = sized ? await loadTrainFor(opts, usage) : loadRun(opts, usage);
    const output = new RunOutput();
    process.stderr.write(`wordplay: run dir ${runDir}\n`);
    const trainer = startTrainer({
      config,
      runDir,
      // the trainer has its own process group: closing the terminal (which ends this process)
      // must still stop it, gracefully
      env: { ...process.env, WORDPLAY_STOP_WITH_PID: String(process.pid) },
      onEvent: (event) => output.event(event),
      onStderr: (line) => output.trainerLine(line),
    });
    let interrupts = 0;
    const onSigint = () => {
      interrupts += 1;
      if (interrupts === 1) {
        output.print('wordplay: stopping gracefully (checkpoint first); press Ctrl-C again to kill');
        trainer.stop();
      } else {
        output.print('wordplay: killing the trainer');
        trainer.kill();
      }
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    try {
      const result = await trainer.done;
      if (!output.ended(result.events, runDir) && !result.error) {
        process.stderr.write(`wordplay: the trainer exited with code ${result.exitCode} without an error event\n`);
      }
      return result.exitCode;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  },
};
