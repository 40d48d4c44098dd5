import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DSPRITES_FACTORS, DSPRITES_GRID_SIZE, factorClasses, gridIndex } from './dsprites-grid.ts';
import { DSPRITES_RENDERER_VERSION, renderSprites } from './dsprites-render.ts';
import type { FactorWorld } from './factor-world.ts';
import type { Factors, ImageSet } from './images.ts';
import { cachedBytes, DEFAULT_CACHE_DIR } from './pixel-cache.ts';
import { seededPermutation } from './split.ts';

/** The original's image side; `data.image_size` may ask for 16 or 32 instead. */
export const DSPRITES_NATIVE_SIDE = 64;

/** Grid combinations held out for testing, as many as MNIST's test set; the rest of the grid is the training pool. */
export const DSPRITES_TEST_SIZE = 10_000;

export interface DspritesRequest {
  /** Image side in pixels. */
  side: number;
  /** Training images to take from the pool (at most the whole pool); the test set is as many, at most 10,000. */
  limit: number;
  cacheDir?: string;
}

export interface DspritesData {
  source: string;
  train: ImageSet;
  test: ImageSet;
  /** Whether the pixels were read from the cache rather than rendered. */
  fromCache: boolean;
}

/**
 * The dSprites images a run asks for, rendered once and then read from `.cache/dsprites/<digest>.bin`.
 *
 * One fixed shuffle of the grid decides everything: its first 10,000 combinations are the test set and the rest
 * the training pool, and `limit` takes the pool's first images. Like MNIST's test set, none of it depends on the
 * run's seed (which still shuffles and splits the training images), so runs of one limit share one cache file.
 */
export function loadDsprites({ side, limit, cacheDir = DEFAULT_CACHE_DIR }: DspritesRequest): DspritesData {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`dSprites needs a limit of at least 1 training image, got ${limit}`);
  const order = seededPermutation(DSPRITES_GRID_SIZE, 0, 'dsprites');
  const testIndices = order.subarray(0, Math.min(limit, DSPRITES_TEST_SIZE));
  const trainIndices = order.subarray(DSPRITES_TEST_SIZE, DSPRITES_TEST_SIZE + limit);
  const indices = new Uint32Array(trainIndices.length + testIndices.length);
  indices.set(trainIndices);
  indices.set(testIndices, trainIndices.length);

  const header = `dsprites renderer ${DSPRITES_RENDERER_VERSION} ${side}x${side} train ${trainIndices.length} test ${testIndices.length}\n`;
  const digest = createHash('sha256').update(header).update(new Uint8Array(indices.buffer)).digest('hex').slice(0, 32);
  const perImage = side * side;
  const { bytes, fromCache } = cachedBytes(join(cacheDir, 'dsprites'), `${digest}.bin`, indices.length * perImage, () =>
    renderSprites(indices, side),
  );

  const images = (from: number, count: number, gridIndices: Uint32Array): ImageSet => ({
    count,
    height: side,
    width: side,
    channels: 1,
    pixels: bytes.subarray(from * perImage, (from + count) * perImage),
    factors: factorsOf(gridIndices),
  });
  return {
    source: `generated:dsprites@renderer-${DSPRITES_RENDERER_VERSION}/${side}x${side}`,
    train: images(0, trainIndices.length, trainIndices),
    test: images(trainIndices.length, testIndices.length, testIndices),
    fromCache,
  };
}

function factorsOf(gridIndices: Uint32Array): Factors {
  const { names, sizes } = DSPRITES_FACTORS;
  const classes = new Uint8Array(gridIndices.length * names.length);
  gridIndices.forEach((index, i) => classes.set(factorClasses(index), i * names.length));
  return { names, sizes, classes };
}

/** dSprites as a world of factors: any combination drawn on demand, at the run's image size. */
export function dspritesWorld(side: number): FactorWorld {
  const { names, sizes } = DSPRITES_FACTORS;
  return {
    names,
    sizes,
    render(classes) {
      const indices = Uint32Array.from(classes, (row) => gridIndex(row));
      return {
        count: indices.length,
        height: side,
        width: side,
        channels: 1,
        pixels: renderSprites(indices, side),
        factors: factorsOf(indices),
      };
    },
  };
}
