// The seeded noise of vae-lab: its own loop gives tf.randomNormal's draws, bit for bit, so every number computed
// with noise (training, the ELBO, the importance-weighted bound, pictures) stays what it was.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalDraws, seededNormal } from '../src/model/noise.ts';

describe('seeded noise', () => {
  it('is tf.randomNormal value for value, for odd and even sizes and negative seeds', () => {
    for (const [n, seed] of [
      [1, 1],
      [7, 12345],
      [1000, -2147483648],
      [20 * 17100 + 1, 987654321],
      [4096, -7],
    ]) {
      const want = tf.randomNormal([n], 0, 1, 'float32', seed);
      const got = normalDraws(n, seed);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array((want.dataSync() as Float32Array).buffer), `n ${n}, seed ${seed}`);
      want.dispose();
    }
  });

  it('seededNormal keeps a seed of 0 reproducible', () => {
    const [a, b] = [seededNormal(3, 5, 0), seededNormal(3, 5, 0)];
    assert.deepEqual(a.shape, [3, 5]);
    assert.deepEqual(a.dataSync(), b.dataSync());
    assert.deepEqual(a.dataSync(), tf.randomNormal([3, 5], 0, 1, 'float32', 0x9e3779b9).dataSync());
  });
});
