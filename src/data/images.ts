/** A set of greyscale images, stored as bytes until a batch needs them as floats. */
export interface ImageSet {
  count: number;
  height: number;
  width: number;
  /** count * height * width bytes, row-major, 0 = black. */
  pixels: Uint8Array;
  /** One class label per image where the dataset has them (used to colour plots, never to train). */
  labels?: Uint8Array;
}

export function pixelsPerImage(set: ImageSet): number {
  return set.height * set.width;
}

/** The images at `indices`, in that order. */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = pixelsPerImage(set);
  const pixels = new Uint8Array(indices.length * size);
  const labels = set.labels ? new Uint8Array(indices.length) : undefined;
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    pixels.set(set.pixels.subarray(j * size, (j + 1) * size), i * size);
    if (labels && set.labels) labels[i] = set.labels[j];
  }
  return { count: indices.length, height: set.height, width: set.width, pixels, labels };
}
