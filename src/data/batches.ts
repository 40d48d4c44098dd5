import type { PRNG } from 'seedrandom';
import { pixelsPerImage, type ImageSet } from './images.ts';

export type Binarization = 'none' | 'static' | 'dynamic';

/**
 * Writes the images at `indices` into `out` as floats in [0, 1], binarised as asked. `dynamic` draws every pixel
 * from Bernoulli(grey level) with `rng`, so each epoch sees a new binary sample of the same image.
 */
export function fillBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  out: Float32Array,
  binarize: Binarization,
  rng: PRNG,
): Float32Array {
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

/** Index ranges of consecutive batches over `order`; the last one may be smaller. */
export function* batchRanges(order: Uint32Array, batchSize: number): Generator<Uint32Array> {
  for (let start = 0; start < order.length; start += batchSize) yield order.subarray(start, start + batchSize);
}
