import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { readIdxFile, IdxError } from './idx.ts';
import type { ImageSet } from './images.ts';
import { UserError } from '../errors.ts';

export class ImageInputError extends UserError {}

/**
 * Images a user hands to a trained model: an IDX file of N x H x W bytes, or one PNG (grey or colour, turned grey).
 * Either must have the model's image size.
 */
export function readImageInput(file: string, size: { height: number; width: number }): ImageSet {
  const set = file.toLowerCase().endsWith('.png') ? readPng(file) : readIdx(file);
  if (set.height !== size.height || set.width !== size.width) {
    throw new ImageInputError(`${file}: images are ${set.height} x ${set.width}, the model takes ${size.height} x ${size.width}`);
  }
  return set;
}

function readIdx(file: string): ImageSet {
  const idx = readIdxFile(file);
  if (idx.dims.length !== 3) throw new IdxError(file, `images need 3 dimensions (count x height x width), found ${idx.dims.length}`);
  const [count, height, width] = idx.dims;
  return { count, height, width, pixels: idx.data };
}

function readPng(file: string): ImageSet {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(file));
  } catch (e) {
    throw new ImageInputError(`${file}: not a readable PNG (${(e as Error).message})`);
  }
  // pngjs always decodes to RGBA; the luma of the colour, scaled by alpha over black.
  const pixels = new Uint8Array(png.width * png.height);
  for (let i = 0; i < pixels.length; i++) {
    const [r, g, b, a] = png.data.subarray(4 * i, 4 * i + 4);
    pixels[i] = Math.round(((0.299 * r + 0.587 * g + 0.114 * b) * a) / 255);
  }
  return { count: 1, height: png.height, width: png.width, pixels };
}
