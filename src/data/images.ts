/** The ground-truth factors of variation behind each image, where a dataset is generated from them (dSprites). */
export interface Factors {
  /** One name per factor, e.g. `shape`, `scale`. */
  names: readonly string[];
  /** How many values each factor takes; its class indices run from 0 to size - 1. */
  sizes: readonly number[];
  /** count * names.length class indices, one row per image. */
  classes: Uint8Array;
}

/** The size of one image: grey images have 1 channel, colour images 3 (red, green, blue). */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/** A set of grey or colour images, stored as bytes until a batch needs them as floats. */
export interface ImageSet extends ImageShape {
  count: number;
  /** count * height * width * channels bytes, row-major and channel-last (r, g, b of a pixel together), 0 = black. */
  pixels: Uint8Array;
  /** One class label per image where the dataset has them (used to colour plots, never to train). */
  labels?: Uint8Array;
  /** The factors each image was made from, for evaluating what the latent space captured (never to train). */
  factors?: Factors;
}

/** Values per image: every channel of every pixel, the width of the model's input and output. */
export function pixelsPerImage(image: ImageShape): number {
  return image.height * image.width * image.channels;
}

export function imageShape({ height, width, channels }: ImageShape): ImageShape {
  return { height, width, channels };
}

/** `28x28` for grey images, `32x32 RGB` for colour ones. */
export function describeImageShape({ height, width, channels }: ImageShape): string {
  return `${height}x${width}${channels === 3 ? ' RGB' : ''}`;
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
  const picked: ImageSet = { count: indices.length, ...imageShape(set), pixels, labels };
  if (set.factors && classes) picked.factors = { ...set.factors, classes };
  return picked;
}
