import * as tf from '@tensorflow/tfjs';
import type { PRNG } from 'seedrandom';
import { pixelsPerImage, type ImageSet } from './images.ts';

export type Binarization = 'none' | 'static' | 'dynamic';

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
    for (let p = 0; p < size; p++) {
      const grey = src[p] / 255;
      view[base + p] = binarize === 'none' ? grey : binarize === 'static' ? (grey > 0.5 ? 1 : 0) : rng() < grey ? 1 : 0;
    }
  }
  return view;
}

/**
 * The images at `indices` as a [n, pixels] tensor, as fillBatch writes them. Grey levels are copied as bytes and
 * divided by 255 in one TensorFlow op (the same float32 values as dividing in JavaScript, checked for all 256): a
 * per-pixel JavaScript loop is a real share of a training step (docs/results.md, "Batches").
 */
export function batchTensor(set: ImageSet, indices: ArrayLike<number>, out: Float32Array, binarize: Binarization, rng: PRNG): tf.Tensor2D {
  const size = pixelsPerImage(set);
  if (binarize !== 'none') return tf.tensor2d(fillBatch(set, indices, out, binarize, rng), [indices.length, size]);
  const view = out.subarray(0, indices.length * size);
  for (let i = 0; i < indices.length; i++) view.set(set.pixels.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
  return tf.tidy(() => tf.div(tf.tensor2d(view, [indices.length, size]), 255));
}

/** Index ranges of consecutive batches over `order`; the last one may be smaller. */
export function* batchRanges(order: Uint32Array, batchSize: number): Generator<Uint32Array> {
  for (let start = 0; start < order.length; start += batchSize) yield order.subarray(start, start + batchSize);
}
