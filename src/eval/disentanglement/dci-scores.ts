/**
 * Disentanglement and completeness of Eastwood & Williams (2018, "A Framework for the Quantitative Evaluation of
 * Disentangled Representations") from a [code][factor] importance matrix, exactly as disentanglement_lib's
 * dci.disentanglement and dci.completeness: one minus the entropy (in base F, resp. D) of each code's (factor's)
 * normalized importances, with 1e-11 added to every entry as the library does, weighted by the code's (factor's)
 * share of the total importance. An all-zero matrix weights every code (factor) equally and scores 0.
 */
export function dciDisentanglement(importance: readonly (readonly number[])[]): number {
  const numFactors = importance[0].length;
  const perCode = importance.map((row) => 1 - entropy(row, numFactors));
  const weights = shares(importance.map(sum));
  return perCode.reduce((total, d, i) => total + d * weights[i], 0);
}

export function dciCompleteness(importance: readonly (readonly number[])[]): number {
  const numCodes = importance.length;
  const factors = importance[0].map((_, j) => importance.map((row) => row[j]));
  const perFactor = factors.map((f) => 1 - entropy(f, numCodes));
  const weights = shares(factors.map(sum));
  return perFactor.reduce((total, c, j) => total + c * weights[j], 0);
}

/** scipy.stats.entropy(p + 1e-11, base): entropy of the normalized vector in the given base. */
function entropy(values: readonly number[], base: number): number {
  const shifted = values.map((v) => v + 1e-11);
  const total = sum(shifted);
  return -shifted.reduce((h, v) => h + (v / total) * Math.log(v / total), 0) / Math.log(base);
}

/** Each entry's share of the total; equal shares when everything is zero, as the library's np.ones_like fallback. */
function shares(totals: number[]): number[] {
  const all = sum(totals);
  return all === 0 ? totals.map(() => 1 / totals.length) : totals.map((t) => t / all);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
