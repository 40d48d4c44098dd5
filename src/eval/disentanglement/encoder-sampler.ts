import * as tf from '@tensorflow/tfjs';
import type { FactorWorld } from '../../data/factor-world.ts';
import { pixelsPerImage } from '../../data/images.ts';
import type { Vae } from '../../model/vae.ts';
import { randomInt, type FactorSampler, type Matrix } from './factor-sampler.ts';

// Images per encoder call: large enough to keep TensorFlow's kernels busy, small enough for any image size.
const CHUNK = 1024;

/**
 * A generated dataset and a trained encoder as the metrics see them: factors drawn uniformly from the world's grid
 * (as disentanglement_lib samples them), the representation of each the posterior mean of its image.
 */
export function encoderFactorSampler(vae: Vae, world: FactorWorld): FactorSampler {
  return {
    numFactors: world.sizes.length,
    sampleFactors: (n, rng) => Array.from({ length: n }, () => world.sizes.map((size) => randomInt(rng, size))),
    representations: async (factors) => {
      const rows: Float32Array[] = [];
      for (let from = 0; from < factors.length; from += CHUNK) {
        const images = world.render(factors.slice(from, from + CHUNK));
        const size = pixelsPerImage(images);
        const means = tf.tidy(
          () =>
            vae.encode(
              tf.tensor2d(
                Float32Array.from(images.pixels, (p) => p / 255),
                [images.count, size],
              ),
            ).mu,
        );
        const data = (await means.data()) as Float32Array;
        means.dispose();
        for (let i = 0; i < images.count; i++) rows.push(data.subarray(i * vae.latentDim, (i + 1) * vae.latentDim));
      }
      return rows satisfies Matrix;
    },
  };
}
