// Real MNIST test digits as a model takes them: flat rows of 784 grey levels in [0, 1].
import * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../../src/data/datasets.ts';
import { loadSpec } from '../../src/experiment-spec/load.ts';

export const DIGIT_SHAPE = { height: 28, width: 28, channels: 1 };

let test: Uint8Array | undefined;

/** Test digits `from` to `to` (exclusive), as a [to - from, 784] tensor. */
export function testDigits(from: number, to: number): tf.Tensor2D {
  test ??= loadDataset(loadSpec('experiments/vae-mnist.yaml').spec.data, '.').test.pixels;
  return tf.tensor2d(
    Float32Array.from(test.subarray(from * 784, to * 784), (p) => p / 255),
    [to - from, 784],
  );
}
