import * as tf from '@tensorflow/tfjs';
import { imageShape, pixelsPerImage, subset, type ImageSet, type ImageShape } from '../data/images.ts';
import type { Vae } from '../model/vae.ts';
import { encodeImageGrid } from './image-grid.ts';

/** A square-ish grid of `count` decoder outputs (8 x 8 by default) for z drawn from the model's prior with a fixed seed. */
export async function priorSamplesPng(vae: Vae, image: ImageShape, seed: number, count = 64): Promise<Buffer> {
  const z = await vae.samplePrior(count, seed);
  const images = vae.decodeToImages(z);
  const pixels = await images.data();
  tf.dispose([z, images]);
  const columns = Math.ceil(Math.sqrt(count));
  return encodeImageGrid(pixels as Float32Array, { rows: Math.ceil(count / columns), columns, ...image });
}

/**
 * Images beside their reconstructions: rows alternate between 8 inputs and the decoded posterior means of the
 * same 8 (four pairs of rows for the default 32 images).
 */
export async function reconstructionsPng(vae: Vae, test: ImageSet, count = 32): Promise<Buffer> {
  const size = pixelsPerImage(test);
  const n = Math.min(count, test.count);
  const inputs = Float32Array.from(
    subset(
      test,
      Uint32Array.from({ length: n }, (_, i) => i),
    ).pixels,
    (p) => p / 255,
  );
  const recon = await tf.tidy(() => vae.decodeToImages(vae.encode(tf.tensor2d(inputs, [n, size])).mu)).data();
  const rows = 2 * Math.ceil(n / 8);
  const tiles = new Float32Array(rows * 8 * size);
  for (let k = 0; k < n; k++) {
    const [pair, col] = [Math.floor(k / 8), k % 8];
    tiles.set(inputs.subarray(k * size, (k + 1) * size), (2 * pair * 8 + col) * size);
    tiles.set(recon.subarray(k * size, (k + 1) * size), ((2 * pair + 1) * 8 + col) * size);
  }
  return encodeImageGrid(tiles, { rows, columns: 8, ...imageShape(test) });
}
