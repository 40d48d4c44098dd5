import type { FactorWorld } from '../../data/factor-world.ts';
import type { Vae } from '../../model/vae.ts';
import { posteriorMeans } from '../posterior-means.ts';
import { randomInt, type FactorSampler } from './factor-sampler.ts';

/**
 * A generated dataset and a trained encoder as the metrics see them: factors drawn uniformly from the world's grid
 * (as disentanglement_lib samples them), the representation of each the posterior mean of its image.
 */
export function encoderFactorSampler(vae: Vae, world: FactorWorld): FactorSampler {
  return {
    numFactors: world.sizes.length,
    sampleFactors: (n, rng) => Array.from({ length: n }, () => world.sizes.map((size) => randomInt(rng, size))),
    representations: (factors) => posteriorMeans(vae, world.render(factors)),
  };
}
