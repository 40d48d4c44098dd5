import type { ImageSet } from '../data/images.ts';
import type { Vae } from '../model/vae.ts';
import { discreteEntropy, latentFactorMutualInformation } from './disentanglement/mutual-information.ts';
import { column } from './disentanglement/statistics.ts';
import { posteriorMeans } from './posterior-means.ts';

/** The factor a latent dimension tells most about, and how much: its mutual information over the factor's entropy. */
export interface ExplainedFactor {
  factor: string;
  /** In [0, 1]: 1 when the dimension alone determines the factor (up to the 20-bin discretization). */
  share: number;
}

const MAX_IMAGES = 5000;
// As MIG in disentanglement_lib's published protocol.
const BINS = 20;

/** For each latent dimension, the factor of the test images its posterior mean explains best; none without factors. */
export async function explainedFactors(vae: Vae, test: ImageSet): Promise<ExplainedFactor[] | undefined> {
  const factors = test.factors;
  if (!factors) return undefined;
  const count = Math.min(test.count, MAX_IMAGES);
  const codes = await posteriorMeans(vae, test, count);
  const width = factors.names.length;
  const classes = Array.from({ length: count }, (_, i) => factors.classes.subarray(i * width, (i + 1) * width));
  const entropies = factors.names.map((_, j) => discreteEntropy(column(classes, j)));
  return latentFactorMutualInformation(codes, classes, BINS).map((row) => {
    const shares = row.map((mi, j) => (entropies[j] > 0 ? mi / entropies[j] : 0));
    const best = shares.indexOf(Math.max(...shares));
    return { factor: factors.names[best], share: shares[best] };
  });
}
