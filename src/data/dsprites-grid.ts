/**
 * The factor grid of deepmind/dsprites-dataset: every combination of shape (square, ellipse, heart), scale
 * (linspace(0.5, 1, 6)), orientation (linspace(0, 2 pi, 40)), posX and posY (linspace(0, 1, 32) each), once.
 * A grid index is the position in the original's file order, where posY varies fastest and shape slowest; colour
 * (always white) is left out of the factors.
 */
export const DSPRITES_FACTORS = {
  names: ['shape', 'scale', 'orientation', 'posX', 'posY'],
  sizes: [3, 6, 40, 32, 32],
} as const;

export const DSPRITES_SHAPES = ['square', 'ellipse', 'heart'] as const;
export type DspritesShape = (typeof DSPRITES_SHAPES)[number];

export const DSPRITES_GRID_SIZE = DSPRITES_FACTORS.sizes.reduce((a, b) => a * b, 1);

/** numpy's linspace(start, stop, n)[i], endpoints included as in the original's latents_values. */
function linspace(start: number, stop: number, n: number, i: number): number {
  return start + ((stop - start) * i) / (n - 1);
}

export interface SpriteLatents {
  shape: DspritesShape;
  scale: number;
  /** Radians, counter-clockwise as seen on the image. */
  orientation: number;
  /** 0 = left edge of the range of centres, 1 = right edge. */
  posX: number;
  /** 0 = top edge of the range of centres, 1 = bottom edge. */
  posY: number;
}

/** The class index of each factor at `index`, in DSPRITES_FACTORS order. */
export function factorClasses(index: number): number[] {
  if (!Number.isInteger(index) || index < 0 || index >= DSPRITES_GRID_SIZE) {
    throw new RangeError(`dSprites grid index must be an integer in [0, ${DSPRITES_GRID_SIZE}), got ${index}`);
  }
  const classes = new Array<number>(DSPRITES_FACTORS.sizes.length);
  let rest = index;
  for (let f = DSPRITES_FACTORS.sizes.length - 1; f >= 0; f--) {
    classes[f] = rest % DSPRITES_FACTORS.sizes[f];
    rest = Math.floor(rest / DSPRITES_FACTORS.sizes[f]);
  }
  return classes;
}

/** The grid index of a combination of class indices, in DSPRITES_FACTORS order. */
export function gridIndex(classes: readonly number[]): number {
  return classes.reduce((index, c, f) => index * DSPRITES_FACTORS.sizes[f] + c, 0);
}

/** The latent values of the classes at `index`, as the original's latents_values give them. */
export function spriteLatents(index: number): SpriteLatents {
  const [shape, scale, orientation, posX, posY] = factorClasses(index);
  const [, scales, orientations, xs, ys] = DSPRITES_FACTORS.sizes;
  return {
    shape: DSPRITES_SHAPES[shape],
    scale: linspace(0.5, 1, scales, scale),
    orientation: linspace(0, 2 * Math.PI, orientations, orientation),
    posX: linspace(0, 1, xs, posX),
    posY: linspace(0, 1, ys, posY),
  };
}
