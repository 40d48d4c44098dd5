// The reparameterisation noise, standard normal draws from a seed, as every noise tensor of vae-lab is drawn.
import * as tf from '@tensorflow/tfjs';

// tfjs treats a seed of 0 as no seed and draws from Math.random instead, so 0 stands in for this fixed value: a
// stream's int32() that comes out 0, or `vae sample --seed 0`, stays reproducible.
const ZERO_SEED_STAND_IN = 0x9e3779b9;

/** A [rows, columns] tensor of N(0, 1) draws, the same for the same seed. */
export function seededNormal(rows: number, columns: number, seed: number): tf.Tensor2D {
  return tf.randomNormal([rows, columns], 0, 1, 'float32', seed === 0 ? ZERO_SEED_STAND_IN : seed) as tf.Tensor2D;
}
