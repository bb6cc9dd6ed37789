// Made-up but realistic metrics for the dashboard's browser tests and screenshots.
import type { RunSeries } from '../../src/core/webview/protocol';

/** A run shaped like nanoGPT's shakespeare-char: loss from ~4.2 to ~1.0, warmup + cosine lr.
 *  Val bits per byte at `tokensPerByte` (1: characters of ASCII text); null gives none, as a
 *  dataset without byte counts does. */
export function fakeRun(
  id: string,
  points: number,
  options: {
    seed?: number;
    every?: number;
    maxIters?: number;
    mfu?: boolean;
    status?: RunSeries['status'];
    tokensPerByte?: number | null;
  } = {},
): RunSeries {
  const tokensPerByte = options.tokensPerByte === undefined ? 1 : options.tokensPerByte;
  let seed = options.seed ?? 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const every = options.every ?? 10;
  const maxIters = options.maxIters ?? points * every;
  const run: RunSeries = {
    id,
    name: id.split('/').pop()!,
    status: options.status ?? 'running',
    maxIters,
    device: options.mfu ? 'cuda:0' : 'cpu',
    train: { iter: [], loss: [], lr: [], tokensPerS: [], mfu: [] },
    eval: { iter: [], trainLoss: [], valLoss: [], valBpb: [] },
    samples: [],
  };
  const warmup = maxIters / 50;
  for (let i = 0; i < points; i++) {
    const iter = i * every;
    const progress = iter / maxIters;
    const base = 1.0 + 3.2 * Math.exp(-progress * 12 * (1 + (options.seed ?? 1) * 0.15));
    run.train.iter.push(iter);
    run.train.loss.push(base + (random() - 0.5) * 0.25);
    const lr =
      iter < warmup
        ? (6e-4 * iter) / warmup
        : 6e-5 + 0.5 * (6e-4 - 6e-5) * (1 + Math.cos(Math.PI * Math.min(1, (iter - warmup) / (maxIters - warmup))));
    run.train.lr.push(lr);
    run.train.tokensPerS.push(40000 + (random() - 0.5) * 4000 - (i < 3 ? 30000 : 0));
    run.train.mfu.push(options.mfu ? 0.31 + (random() - 0.5) * 0.03 : null);
    if (iter % 250 === 0) {
      run.eval.iter.push(iter);
      run.eval.trainLoss.push(base - 0.02);
      const valLoss = base + 0.05 + progress * 0.35;
      run.eval.valLoss.push(valLoss);
      run.eval.valBpb.push(tokensPerByte === null ? null : (valLoss * tokensPerByte) / Math.LN2);
    }
  }
  // samples at each eval, from noise to the text the run ends with
  const final =
    "ROMEO:\nWhat say you, sir? I'll not be so bold to speak\nThe thing that thou hast done; and yet I know\nThy father's will was ever in my heart.\n\nJULIET:\nGood night, good night! parting is such sweet sorrow.";
  run.samples = run.eval.iter.map((iter, i, all) => {
    const formed = (i + 1) / all.length;
    return { iter, text: [...final].map((c, j) => (/\s/.test(c) || random() < formed ? c : "xqz;'k"[j % 6])).join('') };
  });
  return run;
}
