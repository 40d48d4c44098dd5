import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { batchRanges, batchTensor, type Binarization } from '../data/batches.ts';
import { pixelsPerImage, type ImageSet } from '../data/images.ts';
import type { Vae } from '../model/vae.ts';
import { vaeForward } from './vae-forward.ts';
import { seededNormal } from '../model/noise.ts';

export interface ElboAverages {
  /** The negative ELBO, recon + kl, per example. */
  loss: number;
  recon: number;
  kl: number;
}

/**
 * Per-example averages over a whole set, one reparameterised sample per example. Sums stay on the device and are
 * read once, so a large set costs one synchronisation, and the last short batch is weighted by its true size.
 */
export async function evaluateElbo(
  vae: Vae,
  set: ImageSet,
  options: { batchSize: number; binarize: Binarization; seed: string },
): Promise<ElboAverages> {
  const size = pixelsPerImage(set);
  const buffer = new Float32Array(options.batchSize * size);
  const order = Uint32Array.from({ length: set.count }, (_, i) => i);
  const binarizeRng = seedrandom(`${options.seed}:binarize`);
  const noiseRng = seedrandom(`${options.seed}:noise`);
  const forward = vaeForward(vae);
  let sums = tf.zeros([2]);
  for (const indices of batchRanges(order, options.batchSize)) {
    const next = tf.tidy(() => {
      const x = batchTensor(set, indices, buffer, options.binarize, binarizeRng);
      const eps = seededNormal(indices.length, vae.noiseDim, noiseRng.int32());
      const { recon, kl } = forward.terms(x, eps);
      return sums.add(tf.stack([tf.sum(recon), tf.sum(kl)]));
    });
    sums.dispose();
    sums = next;
  }
  const [recon, kl] = (await sums.data()).map((v) => v / set.count);
  sums.dispose();
  return { loss: recon + kl, recon, kl };
}

/**
 * Negative ELBO of each example, averaged over `samples` reparameterised draws: an anomaly score in nats (inputs the
 * model explains badly score high). Grey levels as they are; no binarisation.
 */
export async function perExampleNegElbo(
  vae: Vae,
  set: ImageSet,
  options: { samples: number; batchSize: number; seed: string },
): Promise<Float32Array> {
  const size = pixelsPerImage(set);
  const buffer = new Float32Array(options.batchSize * size);
  const noiseRng = seedrandom(`${options.seed}:noise`);
  const scores = new Float32Array(set.count);
  const order = Uint32Array.from({ length: set.count }, (_, i) => i);
  const forward = vaeForward(vae);
  let offset = 0;
  for (const indices of batchRanges(order, options.batchSize)) {
    const x = batchTensor(set, indices, buffer, 'none', noiseRng);
    let total = tf.zeros([indices.length]);
    for (let s = 0; s < options.samples; s++) {
      const next = tf.tidy(() => {
        const eps = seededNormal(indices.length, vae.noiseDim, noiseRng.int32());
        const { recon, kl } = forward.terms(x, eps);
        return total.add(recon.add(kl));
      });
      total.dispose();
      total = next;
    }
    scores.set(
      (await total.data()).map((v) => v / options.samples),
      offset,
    );
    offset += indices.length;
    tf.dispose([x, total]);
  }
  return scores;
}
