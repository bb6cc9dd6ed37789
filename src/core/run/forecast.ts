// When will val loss reach train.target_val_loss? A forecast from the val curve so far, for the
// metrics view.
//
// The fit: a power law in iterations, L(t) = b·t^(−c), a straight line in log–log space fitted by
// least squares to the later half of the evals (at least 3). The early fast fall is another
// regime, and a third parameter (a floor the loss tends to) overfits the handful of noisy evals
// a run has when the question is asked: on the recorded curves, fits with a floor missed by up
// to 2×, this one by at most 23%. The forecast is where the line crosses the target.
//
// The range: the crossings of refits on the last third, two thirds and all of the evals (how
// much the answer depends on which part of the curve is trusted), widened to iter ÷ w … iter × w
// with w = (iter/last)^BAND, last being the latest eval: the further the forecast reaches past
// the data, the less it knows (twice as far: ÷1.41 … ×1.41). BAND = 0.5 is the smallest of 0.3,
// 0.4 and 0.5 whose range held the true crossing in every case of four curves recorded from
// real CPU runs (test/cases/val-curves.json, fitted on their first half or 60%); a fifth,
// recorded after, held too. forecast.test.ts measures the error and README states it.
//
// Limits: the curve has no floor, so targets below what the model can reach are forecast too
// early; the learning-rate schedule is not modelled (a cosine decay's steeper end is what the
// range absorbs); it forecasts a trend, not eval noise.

/** Evals a forecast needs. */
export const MIN_EVALS = 4;
/** How fast the range widens with the distance forecast: w = (iter/last)^BAND. */
export const BAND = 0.5;

export type Forecast =
  /** An eval already reached the target. */
  | { kind: 'reached'; iter: number; valLoss: number }
  /** Too few evals to fit. */
  | { kind: 'too-few'; evals: number }
  /** The fit crosses the target at iter; low–high is its range, which starts by maxIters (iter
   *  itself may lie past it). */
  | { kind: 'forecast'; iter: number; low: number; high: number; maxIters: number }
  /** Even the range's low end lies past maxIters; lossAtEnd is the fit's value there. */
  | { kind: 'not-reached'; maxIters: number; lossAtEnd: number };

/** L(t) = b·t^(−c). */
export interface PowerLaw {
  b: number;
  c: number;
}

/** The least-squares line through (log t, log L). */
export function fitPowerLaw(iters: number[], losses: number[]): PowerLaw {
  const xs = iters.map(Math.log);
  const ys = losses.map(Math.log);
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { b: Math.exp(my - slope * mx), c: -slope };
}

export const powerLawAt = (f: PowerLaw, t: number): number => f.b * Math.pow(t, -f.c);

/** The iteration where the fitted curve comes down to target; Infinity for a flat or rising one. */
export function crossing(f: PowerLaw, target: number): number {
  return f.c > 0 ? Math.pow(f.b / target, 1 / f.c) : Infinity;
}

/** The fit on the last `fraction` of the points (at least 3). */
function fitLast(iters: number[], losses: number[], fraction: number): PowerLaw {
  const k = Math.max(3, Math.ceil(iters.length * fraction));
  return fitPowerLaw(iters.slice(-k), losses.slice(-k));
}

/** The forecast for target from the evals so far (iterations ascending). */
export function forecastTarget(
  evals: { iter: number[]; valLoss: number[] },
  target: number,
  maxIters: number,
): Forecast {
  const hit = evals.valLoss.findIndex((v) => v <= target);
  if (hit >= 0) return { kind: 'reached', iter: evals.iter[hit], valLoss: evals.valLoss[hit] };
  // log t and log L need both positive
  const kept = evals.iter.map((_, i) => i).filter((i) => evals.iter[i] > 0 && evals.valLoss[i] > 0);
  const iters = kept.map((i) => evals.iter[i]);
  const losses = kept.map((i) => evals.valLoss[i]);
  if (iters.length < MIN_EVALS) return { kind: 'too-few', evals: iters.length };
  const fit = fitLast(iters, losses, 1 / 2);
  const iter = crossing(fit, target);
  const refits = [1 / 3, 2 / 3, 1].map((w) => crossing(fitLast(iters, losses, w), target));
  const last = iters[iters.length - 1];
  const band = Math.pow(iter / last, BAND);
  const low = Math.max(last, Math.min(iter / band, ...refits));
  if (!Number.isFinite(iter) || low > maxIters)
    return { kind: 'not-reached', maxIters, lossAtEnd: powerLawAt(fit, maxIters) };
  return { kind: 'forecast', iter, low, high: Math.max(iter * band, ...refits), maxIters };
}

const whole = (n: number) => Math.round(n).toLocaleString('en-US');

/** The forecast in a line, as the metrics view shows it under the val loss chart. */
export function forecastText(target: number, f: Forecast): string {
  switch (f.kind) {
    case 'reached':
      return `target ${target}: reached at iteration ${whole(f.iter)} (val loss ${f.valLoss.toFixed(4)})`;
    case 'too-few':
      return `target ${target}: not enough evals yet to forecast (${f.evals} of the ${MIN_EVALS} it needs)`;
    case 'forecast': {
      const high = Number.isFinite(f.high) ? whole(f.high) : 'never';
      const late = f.iter > f.maxIters ? `; max_iters ${whole(f.maxIters)} may come first` : '';
      return `target ${target}: forecast iteration ~${whole(f.iter)} (${whole(f.low)}–${high})${late}`;
    }
    case 'not-reached':
      return `target ${target}: will not reach it before max_iters ${whole(f.maxIters)} (forecast ${f.lossAtEnd.toFixed(2)} at the end)`;
  }
}
