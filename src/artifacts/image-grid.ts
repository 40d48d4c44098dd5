import { PNG } from 'pngjs';
import { pixelsPerImage, type ImageShape } from '../data/images.ts';

export interface GridOptions extends ImageShape {
  rows: number;
  columns: number;
  /** Each pixel drawn as a scale x scale block: 28-pixel digits are too small to judge at 1x. */
  scale?: number;
  /** Pixels of mid-grey between tiles. */
  gap?: number;
}

// PNG colour types: grey, and RGB without alpha.
const COLOUR_TYPES: Record<number, 0 | 2> = { 1: 0, 3: 2 };

/**
 * A PNG of images laid out row by row, grey for 1 channel and RGB for 3; `images` holds rows*columns images of
 * values in [0, 1], channel-last as ImageSet keeps them.
 */
export function encodeImageGrid(images: Float32Array, o: GridOptions): Buffer {
  const scale = o.scale ?? 2;
  const gap = o.gap ?? 2;
  const channels = o.channels;
  const colorType = COLOUR_TYPES[channels];
  if (colorType === undefined) throw new Error(`image grid: ${channels} channels; PNG grids take 1 (grey) or 3 (RGB)`);
  const tileW = o.width * scale;
  const tileH = o.height * scale;
  const png = new PNG({
    width: o.columns * (tileW + gap) + gap,
    height: o.rows * (tileH + gap) + gap,
    colorType,
    inputColorType: colorType,
    inputHasAlpha: false,
  });
  const canvas = Buffer.alloc(png.width * png.height * channels, 128);
  const size = pixelsPerImage(o);
  const count = Math.min(o.rows * o.columns, images.length / size);
  for (let k = 0; k < count; k++) {
    const [row, col] = [Math.floor(k / o.columns), k % o.columns];
    const [top, left] = [gap + row * (tileH + gap), gap + col * (tileW + gap)];
    for (let y = 0; y < tileH; y++) {
      for (let x = 0; x < tileW; x++) {
        const from = k * size + (Math.floor(y / scale) * o.width + Math.floor(x / scale)) * channels;
        const to = ((top + y) * png.width + left + x) * channels;
        for (let c = 0; c < channels; c++) canvas[to + c] = Math.round(255 * Math.min(1, Math.max(0, images[from + c])));
      }
    }
  }
  png.data = canvas;
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false });
}
