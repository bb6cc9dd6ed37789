// `wordplay bench <name>`: one module per benchmark (bench/*.ts), each printing JSON on its
// last line; bench/run.mjs (`npm run bench`) runs them and keeps their results.
import { UserError } from '../core/common/errors';
import type { Subcommand } from './subcommand';
import { benchActivation, benchActivationUsage } from '../../bench/activation';
import { benchBudget, benchBudgetUsage } from '../../bench/budget';
import { benchFinetune, benchFinetuneUsage } from '../../bench/finetune';
import { benchFirstCompletion, benchFirstCompletionUsage } from '../../bench/firstCompletion';
import { benchGeneration, benchGenerationUsage } from '../../bench/generation';
import { benchPrepare, benchPrepareUsage } from '../../bench/prepare';
import { benchRecipe, benchRecipeUsage } from '../../bench/recipe';
import { benchStop, benchStopUsage } from '../../bench/stop';
import { benchSurprise, benchSurpriseUsage } from '../../bench/surprise';
import { benchTokenizers, benchTokenizersUsage } from '../../bench/tokenizers';
import { benchTraining, benchTrainingUsage } from '../../bench/training';

const benches: Record<string, (args: string[]) => Promise<number>> = {
  prepare: benchPrepare,
  training: benchTraining,
  generation: benchGeneration,
  activation: benchActivation,
  'first-completion': benchFirstCompletion,
  stop: benchStop,
  recipe: benchRecipe,
  budget: benchBudget,
  tokenizers: benchTokenizers,
  surprise: benchSurprise,
  finetune: benchFinetune,
};

const summary = `Usage: wordplay bench <prepare | training | generation | activation | first-completion | stop | recipe | budget | tokenizers | surprise | finetune> [options]

  prepare           prepare's MB/s, char, GPT-2 and trained BPE, on tiny Shakespeare repeated to 100 MB
  training          the trainer's tokens/s and MFU for a preset (medians after warm-up)
  generation        KV-cached ONNX generation against recomputing the context each step
  activation        the extension's code loading + activate(), in fresh processes
  first-completion  a session's first completion to its first token, onnxruntime loading included
  stop              a graceful stop (SIGINT, SIGTERM) of a training run, to its done event and its exit
  recipe            two training presets side by side on the CPU, one core each: time to a val loss
  budget            Train for… (--dataset --minutes): the val loss reached and the end against the budget
  tokenizers        char, GPT-2 and trained BPEs: val bits per byte after the same CPU time, on Python's code
  surprise          Model Surprise: 2,000 tokens scored (loss, probability, top 5) with the demo model
  finetune          fine-tuning a SmolLM2-135M-shaped model, full and LoRA: ours against transformers + PEFT

Each prints JSON on its last line. Their options:`;

const usage = [
  summary,
  benchPrepareUsage,
  benchTrainingUsage,
  benchGenerationUsage,
  benchActivationUsage,
  benchFirstCompletionUsage,
  benchStopUsage,
  benchRecipeUsage,
  benchBudgetUsage,
  benchTokenizersUsage,
  benchSurpriseUsage,
  benchFinetuneUsage,
].join('\n\n');

export const bench: Subcommand = {
  summary:
    'measure prepare, training, generation, activation, first-completion or stop speed, or compare training recipes or tokenizers',
  usage,
  async run(args) {
    const [name, ...rest] = args;
    const run = name ? benches[name] : undefined;
    if (!run) throw new UserError(`${name ? `unknown benchmark "${name}"` : 'which benchmark?'}\n\n${usage}`);
    return run(rest);
  },
};
