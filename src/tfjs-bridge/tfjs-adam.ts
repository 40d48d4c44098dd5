// tf.train.adam keeps the running powers of beta1 and beta2 in private variables. A checkpoint saves them as they
// are: recomputing them from the step count would round differently, and a resumed run would drift from an
// uninterrupted one. test/tfjs-bridge.test.ts checks they are still there.
import type * as tf from '@tensorflow/tfjs';

type AdamInternals = { accBeta1?: tf.Variable; accBeta2?: tf.Variable };

/** beta1^t and beta2^t as the optimizer holds them. */
export function adamBetaPowers(optimizer: tf.AdamOptimizer): [tf.Variable, tf.Variable] {
  const { accBeta1, accBeta2 } = optimizer as unknown as AdamInternals;
  if (!accBeta1 || !accBeta2)
    throw new Error('tf.train.adam no longer keeps accBeta1/accBeta2: src/tfjs-bridge/tfjs-adam.ts needs updating for this tfjs version');
  return [accBeta1, accBeta2];
}
