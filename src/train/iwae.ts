import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { batchRanges, batchTensor, type Binarization } from '../data/batches.ts';
import { pixelsPerImage, type ImageSet } from '../data/images.ts';
import { bernoulliNll, gaussianNll } from '../model/loss.ts';
import type { Vae } from '../model/vae.ts';

const LOG_2PI = Math.log(2 * Math.PI);

export interface IwaeOptions {
  /** Importance samples per example (Burda et al. report k = 5000). */
  samples: number;
  binarize: Binarization;
  seed: string;
  /** Rough cap on the memory one chunk of decoder passes may take. */
  memoryBytes: number;
}

/**
 * -log p(x) estimated with the importance-weighted bound of Burda et al. (2015):
 *   log p(x) >= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x),
 * averaged over the set, in nats. The k samples are drawn in chunks sized to `memoryBytes`, and the log-sum-exp
 * is kept as a running (max, sum) pair per example, so no weight ever overflows and k = 5000 fits in any memory.
 */
export async function importanceWeightedNll(vae: Vae, set: ImageSet, options: IwaeOptions): Promise<number> {
  const size = pixelsPerImage(set);
  // Per decoder pass: the output and about four pixel-sized intermediates of the likelihood, in float32.
  const rowsPerChunk = Math.max(1, Math.floor(options.memoryBytes / (4 * 5 * size)));
  const examplesPerBatch = Math.max(1, Math.min(set.count, Math.floor(rowsPerChunk / Math.min(options.samples, rowsPerChunk))));
  const samplesPerChunk = Math.max(1, Math.min(options.samples, Math.floor(rowsPerChunk / examplesPerBatch)));
  const binarizeRng = seedrandom(`${options.seed}:binarize`);
  const noiseRng = seedrandom(`${options.seed}:noise`);
  const buffer = new Float32Array(examplesPerBatch * size);
  const order = Uint32Array.from({ length: set.count }, (_, i) => i);
  let total = 0;
  for (const indices of batchRanges(order, examplesPerBatch)) {
    const b = indices.length;
    const x = batchTensor(set, indices, buffer, options.binarize, binarizeRng);
    const { mu, logvar } = tf.tidy(() => vae.encode(x));
    let runningMax = tf.fill([b], -Infinity);
    let runningSum = tf.zeros([b]);
    for (let done = 0; done < options.samples; done += samplesPerChunk) {
      const c = Math.min(samplesPerChunk, options.samples - done);
      const [nextMax, nextSum] = tf.tidy(() => {
        const logW = logImportanceWeights(vae, x, mu, logvar, c, noiseRng.int32()); // [b, c]
        const m = tf.maximum(runningMax, tf.max(logW, 1));
        const s = runningSum.mul(tf.exp(runningMax.sub(m))).add(tf.sum(tf.exp(logW.sub(m.expandDims(1))), 1));
        return [m, s];
      });
      tf.dispose([runningMax, runningSum]);
      [runningMax, runningSum] = [nextMax, nextSum];
    }
    const logPx = tf.tidy(() => runningMax.add(tf.log(runningSum)).sub(Math.log(options.samples)));
    total -= (await tf.sum(logPx).data())[0];
    tf.dispose([x, mu, logvar, runningMax, runningSum, logPx]);
  }
  return total / set.count;
}

/** log p(x|z) + log p(z) - log q(z|x) for `c` samples of z per example, as a [batch, c] tensor. */
function logImportanceWeights(vae: Vae, x: tf.Tensor2D, mu: tf.Tensor2D, logvar: tf.Tensor2D, c: number, seed: number): tf.Tensor2D {
  const [b, latent] = mu.shape;
  const repeat = (t: tf.Tensor2D) => tf.reshape(tf.tile(tf.expandDims(t, 1), [1, c, 1]), [b * c, t.shape[1]]) as tf.Tensor2D;
  const eps = tf.randomNormal([b * c, latent], 0, 1, 'float32', seed) as tf.Tensor2D;
  const [muR, logvarR] = [repeat(mu), repeat(logvar)];
  const z = muR.add(tf.exp(logvarR.mul(0.5)).mul(eps)) as tf.Tensor2D;
  const params = vae.decode(z);
  const xR = repeat(x);
  const logPxGivenZ = tf.neg(vae.likelihood.kind === 'bernoulli' ? bernoulliNll(params, xR) : gaussianNll(params, xR, vae.likelihood.std));
  const logPz = tf.sum(tf.square(z).add(LOG_2PI), 1).mul(-0.5);
  // (z - mu) / sigma is eps itself, so log q needs no division.
  const logQz = tf.sum(tf.square(eps).add(logvarR).add(LOG_2PI), 1).mul(-0.5);
  return tf.reshape(logPxGivenZ.add(logPz).sub(logQz), [b, c]) as tf.Tensor2D;
}

export interface LatentUsage {
  /** Mean over the set of each dimension's KL(q(z_u|x) || N(0, 1)), in nats. */
  klPerDimension: number[];
  /** Cov_x(E_q[z_u]) per dimension: how much the posterior mean moves with the input. */
  activity: number[];
  /** Dimensions with activity above the threshold (Burda et al.: 0.01). */
  activeUnits: number;
}

/** Which latent dimensions the model uses, from the posterior means and variances over a set. */
export async function latentUsage(vae: Vae, set: ImageSet, options: { batchSize: number; binarize: Binarization; seed: string; threshold: number }): Promise<LatentUsage> {
  const size = pixelsPerImage(set);
  const buffer = new Float32Array(options.batchSize * size);
  const rng = seedrandom(`${options.seed}:binarize`);
  const order = Uint32Array.from({ length: set.count }, (_, i) => i);
  let sums = tf.zeros([3, vae.latentDim]);
  for (const indices of batchRanges(order, options.batchSize)) {
    const next = tf.tidy(() => {
      const { mu, logvar } = vae.encode(batchTensor(set, indices, buffer, options.binarize, rng));
      const kl = tf.square(mu).add(tf.exp(logvar)).sub(1).sub(logvar).mul(0.5);
      return sums.add(tf.stack([tf.sum(mu, 0), tf.sum(tf.square(mu), 0), tf.sum(kl, 0)]));
    });
    sums.dispose();
    sums = next;
  }
  const [sumMu, sumMu2, sumKl] = (await sums.array()) as number[][];
  sums.dispose();
  const n = set.count;
  const activity = sumMu.map((s, u) => Math.max(0, sumMu2[u] / n - (s / n) ** 2));
  return { klPerDimension: sumKl.map((s) => s / n), activity, activeUnits: activity.filter((a) => a > options.threshold).length };
}
