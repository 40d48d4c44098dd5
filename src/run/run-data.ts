import { dirname } from 'node:path';
import { loadDataset, type Dataset } from '../data/datasets.ts';
import { describeImageShape, imageShape, type ImageShape } from '../data/images.ts';
import { splitDataset, type Split } from '../data/split.ts';
import type { LoadedSpec } from '../experiment-spec/load.ts';

/** The data of one run, loaded and checked before anything is recorded, so bad data leaves no run behind. */
export interface RunData {
  dataset: Dataset;
  split: Split;
  image: ImageShape;
  loadSeconds: number;
}

export function loadRunData(loaded: LoadedSpec): RunData {
  const started = performance.now();
  const { data, seed } = loaded.spec;
  const dataset = loadDataset(data, dirname(loaded.file));
  const split = splitDataset(dataset.train, dataset.test, { seed, ...data.split, limit: data.limit });
  return {
    dataset,
    split,
    image: imageShape(dataset.train),
    loadSeconds: (performance.now() - started) / 1000,
  };
}

export function describeData({ dataset, split, image, loadSeconds }: RunData): string {
  return `${dataset.name}: ${split.train.count} train / ${split.val.count} val / ${split.test.count} test images of ${describeImageShape(image)} (loaded in ${loadSeconds.toFixed(1)} s)`;
}
