// Folders of generated pictures for the `dataset: images` tests: coloured shapes, written as real PNG files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import seedrandom from 'seedrandom';

/** A PNG of width x height from a function giving each pixel's [r, g, b, a]. */
export function pngBytes(width: number, height: number, pixel: (x: number, y: number) => number[], colorType: 0 | 2 | 6 = 6): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) png.data.set(pixel(x, y), 4 * (y * width + x));
  return PNG.sync.write(png, { colorType });
}

/** The colours of the shapes: each is mostly one channel, so a grey reconstruction cannot pass for any of them. */
export const SHAPE_COLOURS = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
];

/**
 * `perClass` images of side x side in each of two class folders, `discs/` and `squares/`: one large shape of one of
 * SHAPE_COLOURS, at a random size and place, on black.
 */
export function writeShapesFolder(dir: string, perClass: number, side = 16, seed = 1): void {
  const rng = seedrandom(String(seed));
  for (const shape of ['discs', 'squares']) {
    mkdirSync(join(dir, shape), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const colour = SHAPE_COLOURS[Math.floor(rng() * SHAPE_COLOURS.length)];
      const radius = side * (0.25 + 0.15 * rng());
      const [cx, cy] = [radius + rng() * (side - 2 * radius), radius + rng() * (side - 2 * radius)];
      const inside = (x: number, y: number) =>
        shape === 'discs'
          ? (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= radius ** 2
          : Math.max(Math.abs(x + 0.5 - cx), Math.abs(y + 0.5 - cy)) <= radius;
      const bytes = pngBytes(side, side, (x, y) => [...(inside(x, y) ? colour : [0, 0, 0]), 255], 2);
      writeFileSync(join(dir, shape, `${String(i).padStart(4, '0')}.png`), bytes);
    }
  }
}

/**
 * Of the input/reconstruction pairs in a reconstructions.png of side x side images (2x scale, 2-pixel gaps, 8 a
 * row, inputs above their reconstructions), how many reconstruct the shape in its own colour: the strongest channel
 * of the reconstruction over the shape's pixels is the input's.
 */
export function reconstructedColours(png: PNG, side: number, pairs: number): number {
  const [tile, gap] = [2 * side, 2];
  const at = (row: number, col: number, x: number, y: number) =>
    ((gap + row * (tile + gap) + y) * png.width + gap + col * (tile + gap) + x) * 4;
  let same = 0;
  for (let k = 0; k < pairs; k++) {
    const [row, col] = [2 * Math.floor(k / 8), k % 8];
    const [input, output] = [
      [0, 0, 0],
      [0, 0, 0],
    ];
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const [i, o] = [at(row, col, x, y), at(row + 1, col, x, y)];
        if (png.data[i] + png.data[i + 1] + png.data[i + 2] === 0) continue;
        for (let c = 0; c < 3; c++) [input[c], output[c]] = [input[c] + png.data[i + c], output[c] + png.data[o + c]];
      }
    }
    const strongest = (sums: number[]) => sums.indexOf(Math.max(...sums));
    if (strongest(input) === strongest(output)) same += 1;
  }
  return same;
}
