// Evaluation's forward pass as one TensorFlow session (tfjs-node) against the same maths in tfjs ops, on real MNIST
// digits: per-example ELBO terms, posterior moments and importance weights, for MLP and conv models and both
// likelihoods, and the whole importance-weighted bound through either form.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { subset } from '../src/data/images.ts';
import { importanceWeightedNll } from '../src/eval/iwae.ts';
import { eagerVaeForward, vaeForward } from '../src/eval/vae-forward.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { buildVae } from '../src/model/vae.ts';
import { bernoulliNll, bernoulliNllSum, perExample } from '../src/model/vae-graph.ts';
import { GraphBuilder } from '../src/tfjs-bridge/graph-builder.ts';

const mnist = loadDataset(loadSpec('experiments/vae-mnist.yaml').spec.data, '.');
const x = tf.tensor2d(
  Float32Array.from(mnist.test.pixels.subarray(0, 24 * 784), (p) => p / 255),
  [24, 784],
);

before(async () => {
  assert.equal((await selectBackend('tensorflow')).name, 'tensorflow', 'tfjs-node must load (npm ci builds it)');
});

/** The largest difference between two tensors, relative to the larger of 1 and the expected tensor's largest entry. */
function gap(got: tf.Tensor, want: tf.Tensor): number {
  assert.deepEqual(got.shape, want.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0] / Math.max(1, tf.max(tf.abs(want)).dataSync()[0]));
}

describe('the forward pass as a TensorFlow session', () => {
  const cases: [string, string, string[]][] = [
    ['MLP, Bernoulli', 'experiments/vae-mnist.yaml', []],
    [
      'MLP, tanh, Gaussian',
      'experiments/vae-mnist.yaml',
      ['model.encoder.activation=tanh', 'model.decoder.activation=tanh', 'loss.reconstruction=mse'],
    ],
    ['conv, Bernoulli', 'experiments/vae-mnist-conv.yaml', []],
    [
      'conv, ELU, Gaussian',
      'experiments/vae-mnist-conv.yaml',
      ['model.encoder.activation=elu', 'model.decoder.activation=elu', 'loss.reconstruction=mse'],
    ],
  ];
  for (const [name, spec, overrides] of cases) {
    it(`${name}: the same terms, posterior and importance weights as tfjs ops`, () => {
      const vae = buildVae(loadSpec(spec, overrides).spec, { height: 28, width: 28, channels: 1 });
      const [graph, eager] = [vaeForward(vae), eagerVaeForward(vae)];
      assert.notEqual(graph.constructor, eager.constructor, 'tfjs-node evaluates through a session');
      const eps = tf.randomNormal([24, vae.latentDim], 0, 1, 'float32', 3) as tf.Tensor2D;
      const [gt, et] = [graph.terms(x, eps), eager.terms(x, eps)];
      assert.ok(gap(gt.recon, et.recon) < 1e-5 && gap(gt.kl, et.kl) < 1e-5, 'terms');
      const [gp, ep] = [graph.posterior(x), eager.posterior(x)];
      assert.ok(gap(gp.mu, ep.mu) < 1e-5 && gap(gp.logvar, ep.logvar) < 1e-5, 'posterior');
      const draws = tf.randomNormal([24 * 5, vae.latentDim], 0, 1, 'float32', 4) as tf.Tensor2D;
      const [gw, ew] = [graph.logImportanceWeights(x, draws, 5), eager.logImportanceWeights(x, draws, 5)];
      assert.ok(gap(gw, ew) < 1e-5, `importance weights differ by ${gap(gw, ew)}`);
      tf.dispose([eps, draws, gt.recon, gt.kl, et.recon, et.kl, gp.mu, gp.logvar, ep.mu, ep.logvar, gw, ew]);
      vae.dispose();
    });
  }

  it('the importance-weighted bound is the same number through the session as through tfjs ops', async () => {
    const spec = loadSpec('experiments/vae-mnist.yaml').spec;
    const vae = buildVae(spec, { height: 28, width: 28, channels: 1 });
    const digits = subset(
      mnist.test,
      Uint32Array.from({ length: 100 }, (_, i) => i),
    );
    // 1 MiB: several chunks of samples per example, so the running log-sum-exp is exercised too.
    const options = { samples: 50, binarize: 'none' as const, seed: 'forward-test', memoryBytes: 2 ** 20 };
    const viaGraph = await importanceWeightedNll(vae, digits, options);
    const viaOps = await importanceWeightedNll(vae, digits, { ...options, forward: eagerVaeForward(vae) });
    assert.ok(Number.isFinite(viaGraph) && Math.abs(viaGraph - viaOps) < 1e-4 * viaOps, `${viaGraph} vs ${viaOps}`);
  });

  it("evaluation's Bernoulli NLL sum is bernoulliNll's, also at logits far out in both tails", () => {
    const g = new GraphBuilder();
    const [logits, pixels] = [g.placeholder('logits', [-1, -1, 4]), g.placeholder('pixels', [-1, 1, 4])];
    const [summed, elements] = [bernoulliNllSum(g, logits, pixels), perExample(g, bernoulliNll(g, logits, pixels))];
    const session = g.load();
    const l = tf.tensor3d(
      [
        [
          [-1000, -100, -20, 0],
          [1000, 100, 20, 0.5],
          [-3, 2, -0.25, 7],
        ],
      ],
      [1, 3, 4],
    );
    const p = tf.tensor3d([[[0, 1, 0.25, 1]]], [1, 1, 4]);
    const [got, want] = session.run(
      [
        ['logits', l],
        ['pixels', p],
      ],
      [summed, elements],
    );
    assert.deepEqual(got.shape, [1, 3]);
    assert.ok(gap(got, want) < 1e-6, `${got.dataSync()} vs ${want.dataSync()}`);
    session.dispose();
    tf.dispose([l, p, got, want]);
  });
});
