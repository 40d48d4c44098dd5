import type { Matrix } from './factor-sampler.ts';
import { histogramDiscretize } from './histogram-discretizer.ts';
import { column } from './statistics.ts';

/**
 * Mutual information in nats between two discrete labellings of the same samples, from their contingency table
 * (sklearn.metrics.mutual_info_score, which disentanglement_lib uses; clipped at 0 like it).
 */
export function mutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const [aIndex, aCount] = denseLabels(a);
  const [bIndex, bCount] = denseLabels(b);
  const joint = new Float64Array(aCount * bCount);
  const aMarginal = new Float64Array(aCount);
  const bMarginal = new Float64Array(bCount);
  for (let i = 0; i < aIndex.length; i++) {
    joint[aIndex[i] * bCount + bIndex[i]]++;
    aMarginal[aIndex[i]]++;
    bMarginal[bIndex[i]]++;
  }
  const n = aIndex.length;
  let mi = 0;
  for (let x = 0; x < aCount; x++) {
    for (let y = 0; y < bCount; y++) {
      const nxy = joint[x * bCount + y];
      if (nxy > 0) mi += (nxy / n) * Math.log((n * nxy) / (aMarginal[x] * bMarginal[y]));
    }
  }
  return Math.max(mi, 0);
}

/** Entropy in nats of a discrete labelling: its mutual information with itself, as disentanglement_lib computes it. */
export function discreteEntropy(labels: ArrayLike<number>): number {
  return mutualInformation(labels, labels);
}

/**
 * The [latent][factor] matrix of mutual information between each latent, discretized into numBins histogram bins,
 * and each ground-truth factor: what MIG and modularity are computed from.
 */
export function latentFactorMutualInformation(codes: Matrix, factors: Matrix, numBins: number): number[][] {
  const factorColumns = Array.from({ length: factors[0].length }, (_, j) => column(factors, j));
  return Array.from({ length: codes[0].length }, (_, i) => {
    const latent = histogramDiscretize(column(codes, i), numBins);
    return factorColumns.map((factor) => mutualInformation(latent, factor));
  });
}

/** Labels renumbered 0..k-1 (any numbers may label classes), with k. */
function denseLabels(labels: ArrayLike<number>): [Int32Array, number] {
  const ids = new Map<number, number>();
  const dense = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    let id = ids.get(labels[i]);
    if (id === undefined) ids.set(labels[i], (id = ids.size));
    dense[i] = id;
  }
  return [dense, ids.size];
}
