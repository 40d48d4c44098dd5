// Evaluation's two forms of the forward pass (vae-forward.ts) must agree: the TensorFlow session and tfjs ops.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { eagerVaeForward, vaeForward } from '../../src/eval/vae-forward.ts';
import type { Vae } from '../../src/model/vae.ts';

/**
 * The graph form is in use for `vae`, and on the digits `x` it gives the eager form's log importance weights (k = 5
 * draws an example) and its one-draw reconstructions and KLs, to 1e-3 nats; returns both forms for more checks.
 */
export function assertForwardFormsAgree(vae: Vae, x: tf.Tensor2D, seed = 8) {
  const n = x.shape[0];
  const eps = tf.randomNormal([n * 5, vae.noiseDim], 0, 1, 'float32', seed) as tf.Tensor2D;
  const [graph, eager] = [vaeForward(vae), eagerVaeForward(vae)];
  assert.notEqual(graph.constructor, eager.constructor, 'the graph form is in use');
  close(graph.logImportanceWeights(x, eps, 5), eager.logImportanceWeights(x, eps, 5), 'log importance weights');
  const oneDraw = eps.slice([0, 0], [n, vae.noiseDim]) as tf.Tensor2D;
  const [a, b] = [graph.terms(x, oneDraw), eager.terms(x, oneDraw)];
  close(a.kl, b.kl, 'sampled KLs');
  close(a.recon, b.recon, 'reconstructions');
  return { graph, eager };
}

export function close(a: tf.Tensor, b: tf.Tensor, what: string): void {
  const gap = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  assert.ok(gap < 1e-3, `${what} differ by ${gap}`);
}
