import seedrandom from 'seedrandom';
import { subset, type ImageSet } from './images.ts';

/** A permutation of 0..n-1 from a named seeded stream: the same seed and name give the same order everywhere. */
export function seededPermutation(n: number, seed: number, stream: string): Uint32Array {
  const rng = seedrandom(`${seed}:${stream}`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export interface Split {
  train: ImageSet;
  val: ImageSet;
  test: ImageSet;
}

/**
 * Shuffles the training pool with the run's seed and cuts it into train and validation fractions; the test set is
 * never touched except for `limit`, which keeps its first images.
 */
export function splitDataset(pool: ImageSet, test: ImageSet, options: { seed: number; train: number; val: number; limit: number }): Split {
  const order = seededPermutation(pool.count, options.seed, 'split');
  const used = options.limit > 0 ? order.subarray(0, Math.min(options.limit, pool.count)) : order;
  const nTrain = Math.round(options.train * used.length);
  const nVal = Math.min(Math.round(options.val * used.length), used.length - nTrain);
  const testCount = options.limit > 0 ? Math.min(options.limit, test.count) : test.count;
  return {
    train: subset(pool, used.subarray(0, nTrain)),
    val: subset(pool, used.subarray(nTrain, nTrain + nVal)),
    test:
      testCount === test.count
        ? test
        : subset(
            test,
            Uint32Array.from({ length: testCount }, (_, i) => i),
          ),
  };
}
