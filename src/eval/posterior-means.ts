import * as tf from '@tensorflow/tfjs';
import { pixelsPerImage, type ImageSet } from '../data/images.ts';
import type { Vae } from '../model/vae.ts';

// Images per encoder call: large enough to keep TensorFlow's kernels busy, small enough for any image size.
const CHUNK = 1024;

/** The posterior means of a set's first `count` images, a row of latentDim values per image. */
export async function posteriorMeans(vae: Vae, set: ImageSet, count = set.count): Promise<Float32Array[]> {
  const size = pixelsPerImage(set);
  const rows: Float32Array[] = [];
  for (let from = 0; from < count; from += CHUNK) {
    const n = Math.min(CHUNK, count - from);
    const pixels = Float32Array.from(set.pixels.subarray(from * size, (from + n) * size), (p) => p / 255);
    const means = tf.tidy(() => vae.encode(tf.tensor2d(pixels, [n, size])).mu);
    const data = (await means.data()) as Float32Array;
    means.dispose();
    for (let i = 0; i < n; i++) rows.push(data.subarray(i * vae.latentDim, (i + 1) * vae.latentDim));
  }
  return rows;
}
