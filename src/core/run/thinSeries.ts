// A run's metrics kept in bounded memory, on the host and in the dashboard alike: a chart is at
// most a few thousand pixels wide (its min-max decimation draws about two points per pixel), so
// beyond MAX_POINTS a series is thinned, older points first, and a run of any length costs the
// same. Pure (no Node, no DOM): the webview bundle uses it too.
import type { RunSeries } from '../webview/protocol';

export const MAX_POINTS = 10_000;

/** Halves parallel columns longer than MAX_POINTS until they fit, keeping every other point and
 *  always the first and the latest. Repeated as a run grows, older points end up sparser than
 *  recent ones. */
function thin(columns: unknown[][]): void {
  for (let n = columns[0].length; n > MAX_POINTS; n = columns[0].length) {
    for (const column of columns) {
      let kept = 0;
      for (let i = 0; i < n; i += 2) column[kept++] = column[i];
      if (n % 2 === 0) column[kept++] = column[n - 1];
      column.length = kept;
    }
  }
}

/** Thins a run's train and eval series in place when they exceed MAX_POINTS. */
export function thinSeries(s: RunSeries): void {
  thin([s.train.iter, s.train.loss, s.train.lr, s.train.tokensPerS, s.train.mfu]);
  thin([s.eval.iter, s.eval.trainLoss, s.eval.valLoss, s.eval.valBpb]);
}
