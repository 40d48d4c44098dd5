import { PNG } from 'pngjs';

export interface GridOptions {
  rows: number;
  columns: number;
  height: number;
  width: number;
  /** Each pixel drawn as a scale x scale block: 28-pixel digits are too small to judge at 1x. */
  scale?: number;
  /** Pixels of mid-grey between tiles. */
  gap?: number;
}

/** A greyscale PNG of images laid out row by row; `images` holds rows*columns images of values in [0, 1]. */
export function encodeImageGrid(images: Float32Array, o: GridOptions): Buffer {
  const scale = o.scale ?? 2;
  const gap = o.gap ?? 2;
  const tileW = o.width * scale;
  const tileH = o.height * scale;
  const png = new PNG({
    width: o.columns * (tileW + gap) + gap,
    height: o.rows * (tileH + gap) + gap,
    colorType: 0,
    inputColorType: 0,
    inputHasAlpha: false,
  });
  const grey = Buffer.alloc(png.width * png.height, 128);
  const count = Math.min(o.rows * o.columns, images.length / (o.height * o.width));
  for (let k = 0; k < count; k++) {
    const [row, col] = [Math.floor(k / o.columns), k % o.columns];
    const [top, left] = [gap + row * (tileH + gap), gap + col * (tileW + gap)];
    for (let y = 0; y < tileH; y++) {
      for (let x = 0; x < tileW; x++) {
        const v = images[k * o.height * o.width + Math.floor(y / scale) * o.width + Math.floor(x / scale)];
        grey[(top + y) * png.width + left + x] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }
  png.data = grey;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}
