/**
 * disentanglement_lib's histogram discretizer: np.digitize(x, np.histogram(x, numBins)[1][:-1]). numBins
 * equal-width bins between the smallest and largest value, numbered 1..numBins; a constant column goes to the
 * middle bin of [v - 0.5, v + 0.5], as numpy widens an empty range. The edges are computed the way np.linspace
 * computes them (start + i * step, last edge exactly the maximum) so a value on an edge lands in numpy's bin.
 */
export function histogramDiscretize(values: ArrayLike<number>, numBins: number): Int32Array {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    low = Math.min(low, values[i]);
    high = Math.max(high, values[i]);
  }
  if (low === high) {
    low -= 0.5;
    high += 0.5;
  }
  const step = (high - low) / numBins;
  const leftEdges = Array.from({ length: numBins }, (_, i) => i * step + low);
  const bins = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let bin = 0;
    while (bin < numBins && leftEdges[bin] <= values[i]) bin++;
    bins[i] = bin;
  }
  return bins;
}
