// The model completion uses when none was chosen: the newest run with an exported model,
// whatever its state (a run that trains on after a stop keeps the model.onnx the stop
// exported, and that file is replaced atomically). Without one, what is true about the runs
// there are, and the command that gets a model.
import type { RunSummary } from '../run/runs';

export interface NoModel {
  /** Why there is no model, and what gives one. */
  why: string;
  /** The command that gives one. */
  fix: 'Train GPT' | 'Stop Training' | 'Export Model';
}

export type DefaultModel = { run: RunSummary } | ({ run?: undefined } & NoModel);

/** `runs` newest first (as listRuns gives them). */
export function defaultModel(runs: RunSummary[]): DefaultModel {
  const withModel = runs.find((r) => r.hasModel);
  if (withModel) return { run: withModel };
  if (runs.length === 0)
    return { why: 'there is no trained model in this workspace yet: Train GPT trains one.', fix: 'Train GPT' };
  const training = runs.filter((r) => r.state === 'running');
  if (training.length === runs.length) {
    const who =
      runs.length === 1
        ? `the only run, ${runs[0].name}, is still training and has`
        : `all ${runs.length} runs are still training and have`;
    return { why: `${who} no exported model yet; Stop Training exports one.`, fix: 'Stop Training' };
  }
  if (training.length > 0) {
    const names = training.map((r) => r.name).join(', ');
    return {
      why: `no run has an exported model yet. ${names} ${training.length === 1 ? 'is' : 'are'} still training: Stop Training exports one; Export Model writes one from another run's checkpoint.`,
      fix: 'Stop Training',
    };
  }
  return {
    why: `no run has an exported model (model.onnx) yet: Export Model writes one from a run's checkpoint, or Train GPT trains a new run.`,
    fix: 'Export Model',
  };
}
