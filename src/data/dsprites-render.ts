import { spriteLatents, type DspritesShape, type SpriteLatents } from './dsprites-grid.ts';

/**
 * Bump when any pixel the renderer draws changes: it is part of every cache digest, so an old cache is never read
 * as new pixels (test/dsprites.test.ts pins the rendered bytes to catch a change that forgot to).
 */
export const DSPRITES_RENDERER_VERSION = 1;

// The original's rendering code is not published; its README gives only the factor values. The geometry below is
// ours, in units of the image side, so every image_size draws the same scene:
// - the square's side at scale 1 is SQUARE_SIDE; the ellipse and the heart are sized against it (below). This
//   makes the grid's mean pixel about 0.043, the value a third-party loader uses to normalise the original;
// - centres run over [MARGIN, 1 - MARGIN] on both axes: the largest reach from a centre (a square at scale 1 turned
//   45 degrees, 0.212) stays inside the frame, so no shape is ever cut by the border.
const SQUARE_SIDE = 0.3;
const MARGIN = 0.22;
// The ellipse's axes, in square sides: 2:1, its long axis horizontal at orientation 0.
const ELLIPSE_SEMI_AXES = [0.65, 0.325] as const;
// The heart is the curve (x^2 + y^2 - 1)^3 = x^2 y^3, pointing down, scaled to the square's width and centred on
// its centroid, so rotating it does not move its centre of mass (the curve's width is 2.2755 and its centroid is
// at y = 0.2935, both measured numerically).
const HEART_WIDTH = 2.2755;
const HEART_CENTROID_Y = 0.2935;
// Farther than any shape reaches from its centre, in square sides: only pixels within it are tested.
const REACH = 0.8;

/** Whether (x, y), in square sides from the shape's centre with y up and the shape unrotated, is inside it. */
function inside(shape: DspritesShape, x: number, y: number): boolean {
  switch (shape) {
    case 'square':
      return Math.abs(x) <= 0.5 && Math.abs(y) <= 0.5;
    case 'ellipse': {
      const [a, b] = ELLIPSE_SEMI_AXES;
      return (x / a) ** 2 + (y / b) ** 2 <= 1;
    }
    case 'heart': {
      const hx = x * HEART_WIDTH;
      const hy = y * HEART_WIDTH + HEART_CENTROID_Y;
      return (hx * hx + hy * hy - 1) ** 3 - hx * hx * hy * hy * hy <= 0;
    }
  }
}

/**
 * Draws a sprite as a binary `side` x `side` image (0 or 255) into `out` at `offset`, which must be zero there. A
 * pixel is on when its centre is inside the shape: no anti-aliasing, as the original is binary.
 */
export function drawSprite({ shape, scale, orientation, posX, posY }: SpriteLatents, side: number, out: Uint8Array, offset: number): void {
  const size = SQUARE_SIDE * scale;
  const cx = MARGIN + (1 - 2 * MARGIN) * posX;
  const cy = MARGIN + (1 - 2 * MARGIN) * posY;
  const cos = Math.cos(orientation);
  const sin = Math.sin(orientation);
  const reach = REACH * size;
  const first = (c: number) => Math.max(0, Math.floor((c - reach) * side));
  const last = (c: number) => Math.min(side - 1, Math.ceil((c + reach) * side));
  for (let row = first(cy); row <= last(cy); row++) {
    const dy = cy - (row + 0.5) / side;
    for (let col = first(cx); col <= last(cx); col++) {
      const dx = (col + 0.5) / side - cx;
      // Turning the pixel by -orientation is turning the shape by +orientation.
      const x = (cos * dx + sin * dy) / size;
      const y = (-sin * dx + cos * dy) / size;
      if (inside(shape, x, y)) out[offset + row * side + col] = 255;
    }
  }
}

/** The sprites at `indices`, rendered one after another as `side` x `side` bytes. */
export function renderSprites(indices: ArrayLike<number>, side: number): Uint8Array {
  const pixels = new Uint8Array(indices.length * side * side);
  for (let i = 0; i < indices.length; i++) drawSprite(spriteLatents(indices[i]), side, pixels, i * side * side);
  return pixels;
}
