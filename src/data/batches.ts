import * as tf from '@tensorflow/tfjs';
import type { PRNG } from 'seedrandom';
import { pixelsPerImage, type ImageSet } from './images.ts';

export type Binarization = 'none' | 'static' | 'dynamic';

// Grey level v as float32 v / 255: the values TensorFlow's float32 division gives, for all 256 (test/data.test.ts).
const GREY_LEVELS = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Writes the images at `indices` into `out` as floats in [0, 1], binarised as asked. `dynamic` draws every pixel
 * from Bernoulli(grey level) with `rng`, so each epoch sees a new binary sample of the same image.
 */
export function fillBatch(set: ImageSet, indices: ArrayLike<number>, out: Float32Array, binarize: Binarization, rng: PRNG): Float32Array {
  const size = pixelsPerImage(set);
  const view = out.subarray(0, indices.length * size);
  for (let i = 0; i < indices.length; i++) {
    const src = set.pixels.subarray(indices[i] * size, (indices[i] + 1) * size);
    const base = i * size;
    if (binarize === 'none') for (let p = 0; p < size; p++) view[base + p] = GREY_LEVELS[src[p]];
    else if (binarize === 'static') for (let p = 0; p < size; p++) view[base + p] = src[p] / 255 > 0.5 ? 1 : 0;
    else for (let p = 0; p < size; p++) view[base + p] = rng() < src[p] / 255 ? 1 : 0;
  }
  return view;
}

/** The images at `indices` as a [n, pixels] tensor, as fillBatch writes them. */
export function batchTensor(set: ImageSet, indices: ArrayLike<number>, out: Float32Array, binarize: Binarization, rng: PRNG): tf.Tensor2D {
  return tf.tensor2d(fillBatch(set, indices, out, binarize, rng), [indices.length, pixelsPerImage(set)]);
}

/** Index ranges of consecutive batches over `order`; the last one may be smaller. */
export function* batchRanges(order: Uint32Array, batchSize: number): Generator<Uint32Array> {
  for (let start = 0; start < order.length; start += batchSize) yield order.subarray(start, start + batchSize);
}
