import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { batchRanges, batchTensor, type Binarization } from '../data/batches.ts';
import { pixelsPerImage, type ImageSet } from '../data/images.ts';
import type { Vae } from '../model/vae.ts';
import { vaeForward, type VaeForward } from './vae-forward.ts';
import { seededNormal } from '../model/noise.ts';

export interface IwaeOptions {
  /** Importance samples per example (Burda et al. report k = 5000). */
  samples: number;
  binarize: Binarization;
  seed: string;
  /** Rough cap on the memory one chunk of decoder passes may take. */
  memoryBytes: number;
  /** Default: the fastest form for the backend (vae-forward.ts). */
  forward?: VaeForward;
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
  const forward = options.forward ?? vaeForward(vae);
  let total = 0;
  for (const indices of batchRanges(order, examplesPerBatch)) {
    const b = indices.length;
    const x = batchTensor(set, indices, buffer, options.binarize, binarizeRng);
    let runningMax = tf.fill([b], -Infinity);
    let runningSum = tf.zeros([b]);
    for (let done = 0; done < options.samples; done += samplesPerChunk) {
      const c = Math.min(samplesPerChunk, options.samples - done);
      const [nextMax, nextSum] = tf.tidy(() => {
        const eps = seededNormal(b * c, vae.noiseDim, noiseRng.int32());
        const logW = forward.logImportanceWeights(x, eps, c); // [b, c]
        const m = tf.maximum(runningMax, tf.max(logW, 1));
        const s = runningSum.mul(tf.exp(runningMax.sub(m))).add(tf.sum(tf.exp(logW.sub(m.expandDims(1))), 1));
        return [m, s];
      });
      tf.dispose([runningMax, runningSum]);
      [runningMax, runningSum] = [nextMax, nextSum];
    }
    const logPx = tf.tidy(() => runningMax.add(tf.log(runningSum)).sub(Math.log(options.samples)));
    total -= (await tf.sum(logPx).data())[0];
    tf.dispose([x, runningMax, runningSum, logPx]);
  }
  return total / set.count;
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
export async function latentUsage(
  vae: Vae,
  set: ImageSet,
  options: { batchSize: number; binarize: Binarization; seed: string; threshold: number },
): Promise<LatentUsage> {
  const size = pixelsPerImage(set);
  const buffer = new Float32Array(options.batchSize * size);
  const rng = seedrandom(`${options.seed}:binarize`);
  const order = Uint32Array.from({ length: set.count }, (_, i) => i);
  const forward = vaeForward(vae);
  let sums = tf.zeros([3, vae.latentDim]);
  for (const indices of batchRanges(order, options.batchSize)) {
    const next = tf.tidy(() => {
      const { mu, logvar } = forward.posterior(batchTensor(set, indices, buffer, options.binarize, rng));
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
