// A run's metrics kept in bounded memory, on the host and in the dashboard alike: a chart is at
// most a few thousand pixels wide (its min-max decimation draws about two points per pixel), so
// beyond MAX_POINTS a series is thinned, older points first, and a run of any length costs the
// same. Samples (text) are kept to MAX_SAMPLES the same way, so a timeline of a long run still
// spans it from noise to words. Pure (no Node, no DOM): the webview bundle uses it too.
import type { RunSeries } from '../webview/protocol';

export const MAX_POINTS = 10_000;
/** Samples a run keeps: enough to watch the text form, few enough to render at once. */
export const MAX_SAMPLES = 50;

/** Halves parallel columns longer than `max` until they fit, keeping every other point and
 *  always the first and the latest. Repeated as a run grows, older points end up sparser than
 *  recent ones. */
function thin(columns: unknown[][], max = MAX_POINTS): void {
  for (let n = columns[0].length; n > max; n = columns[0].length) {
    for (const column of columns) {
      let kept = 0;
      for (let i = 0; i < n; i += 2) column[kept++] = column[i];
      if (n % 2 === 0) column[kept++] = column[n - 1];
      column.length = kept;
    }
  }
}

/** Thins a run's train and eval series in place when they exceed MAX_POINTS, and its samples
 *  when they exceed MAX_SAMPLES. */
export function thinSeries(s: RunSeries): void {
  thin([s.train.iter, s.train.loss, s.train.lr, s.train.tokensPerS, s.train.mfu]);
  thin([s.eval.iter, s.eval.trainLoss, s.eval.valLoss, s.eval.valBpb]);
  thin([s.samples], MAX_SAMPLES);
}
