import type { Matrix } from './factor-sampler.ts';
import { discreteEntropy, latentFactorMutualInformation } from './mutual-information.ts';
import { column } from './statistics.ts';

/**
 * Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs"), as
 * disentanglement_lib's _compute_mig: for each factor, the gap between the two latents that share the most
 * information with it, over the factor's entropy; averaged over factors. Latents are discretized into numBins
 * equal-width bins (20 in the published protocol). A factor that never varies has entropy 0 and makes the score
 * NaN, as in the library: leave such factors out of the world.
 */
export function mig(codes: Matrix, factors: Matrix, numBins: number): number {
  if (codes[0].length < 2) throw new Error('MIG needs at least two latent dimensions');
  const mi = latentFactorMutualInformation(codes, factors, numBins);
  const numFactors = factors[0].length;
  let sum = 0;
  for (let j = 0; j < numFactors; j++) {
    const [first, second] = mi.map((row) => row[j]).sort((a, b) => b - a);
    sum += (first - second) / discreteEntropy(column(factors, j));
  }
  return sum / numFactors;
}
