/** The ground-truth factors of variation behind each image, where a dataset is generated from them (dSprites). */
export interface Factors {
  /** One name per factor, e.g. `shape`, `scale`. */
  names: readonly string[];
  /** How many values each factor takes; its class indices run from 0 to size - 1. */
  sizes: readonly number[];
  /** count * names.length class indices, one row per image. */
  classes: Uint8Array;
}

/** A set of greyscale images, stored as bytes until a batch needs them as floats. */
export interface ImageSet {
  count: number;
  height: number;
  width: number;
  /** count * height * width bytes, row-major, 0 = black. */
  pixels: Uint8Array;
  /** One class label per image where the dataset has them (used to colour plots, never to train). */
  labels?: Uint8Array;
  /** The factors each image was made from, for evaluating what the latent space captured (never to train). */
  factors?: Factors;
}

export function pixelsPerImage(set: ImageSet): number {
  return set.height * set.width;
}

/** The images at `indices`, in that order, with their labels and factors. */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = pixelsPerImage(set);
  const pixels = new Uint8Array(indices.length * size);
  const labels = set.labels ? new Uint8Array(indices.length) : undefined;
  const factorCount = set.factors?.names.length ?? 0;
  const classes = set.factors ? new Uint8Array(indices.length * factorCount) : undefined;
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    pixels.set(set.pixels.subarray(j * size, (j + 1) * size), i * size);
    if (labels && set.labels) labels[i] = set.labels[j];
    if (classes && set.factors) classes.set(set.factors.classes.subarray(j * factorCount, (j + 1) * factorCount), i * factorCount);
  }
  const picked: ImageSet = { count: indices.length, height: set.height, width: set.width, pixels, labels };
  if (set.factors && classes) picked.factors = { ...set.factors, classes };
  return picked;
}
