import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { conv2dBackpropFilter } from '../src/kernels/conv2d-backprop-filter.ts';
import { bernoulliNll, betaTcTerms, gaussianNll, klToStandardNormal, reparameterize } from '../src/model/loss.ts';
import { loadLayersModel, saveLayersModel } from '../src/model/persist.ts';
import { buildVae } from '../src/model/vae.ts';
import { klPartValue, klWeightAt, objectiveAt } from '../src/model/objective.ts';
import { scratchFolders } from './support/scratch.ts';

/** Temporary folders, removed when this file's tests end. */
const scratch = scratchFolders('vae-model-');

const close = (actual: ArrayLike<number>, expected: number[], tolerance = 1e-5) => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `[${i}] ${actual[i]} != ${expected[i]}`);
};

before(async () => {
  await tf.setBackend('cpu');
});

describe('loss terms against hand-computed values (nats, per example)', () => {
  it('Bernoulli NLL from logits', () => {
    const logits = tf.tensor2d([
      [0, 2],
      [-1, 100],
    ]);
    const x = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    // ln 2 + ln(1 + e^2); ln(1 + e^-1) + ln(1 + e^-100)
    close(bernoulliNll(logits, x).dataSync(), [Math.LN2 + Math.log(1 + Math.E ** 2), Math.log(1 + Math.E ** -1)]);
  });

  it('Bernoulli NLL stays finite and exact at extreme logits (no clipped sigmoid)', () => {
    const nll = bernoulliNll(tf.tensor2d([[-100], [100], [-1000]]), tf.tensor2d([[1], [0], [1]])).dataSync();
    close(nll, [100, 100, 1000], 1e-3);
  });

  it('Gaussian NLL with fixed std', () => {
    const nll = gaussianNll(tf.tensor2d([[0.5, 0.5]]), tf.tensor2d([[1, 0]]), 0.1).dataSync();
    // 0.5 / (2 * 0.01) + 2 * (ln 0.1 + 0.5 ln 2 pi)
    close(nll, [25 + 2 * (Math.log(0.1) + 0.5 * Math.log(2 * Math.PI))], 1e-4);
  });

  it('KL(q || N(0, I)) in closed form', () => {
    const kl = klToStandardNormal(
      tf.tensor2d([
        [0, 0],
        [1, 0],
      ]),
      tf.tensor2d([
        [0, 0],
        [0, Math.log(2)],
      ]),
    ).dataSync();
    close(kl, [0, 0.5 * (1 + (2 - 1 - Math.log(2)))]);
  });

  it('reparameterisation: z = mu + sigma * eps', () => {
    close(reparameterize(tf.tensor2d([[1]]), tf.tensor2d([[Math.log(4)]]), tf.tensor2d([[0.5]])).dataSync(), [2]);
  });

  it('KL warm-up ramps beta linearly to kl_weight', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((e) => klWeightAt(e, { kl_weight: 0.5, kl_warmup_epochs: 2 })),
      [0, 0.25, 0.5, 0.5],
    );
    assert.equal(klWeightAt(0, { kl_weight: 1, kl_warmup_epochs: 0 }), 1);
    // val/loss weighs the KL by the beta of the epoch's end, as train/loss does, or it leaves the warm-up out.
    assert.equal(klPartValue({ kind: 'elbo', beta: 0.25 }, 8), 2);
  });

  it("β-TCVAE's MI, TC and dimension-wise KL add up to the KL estimated from the sample, log q(z|x) - log p(z)", () => {
    const mu = tf.tensor2d([
      [0.3, -1],
      [1.2, 0.4],
      [-0.5, 0.1],
    ]);
    const logvar = tf.tensor2d([
      [-1, 0.2],
      [0.5, -0.3],
      [0, -2],
    ]);
    const eps = tf.tensor2d([
      [0.1, -0.7],
      [1.5, 0.3],
      [-0.2, 0.9],
    ]);
    const z = reparameterize(mu, logvar, eps);
    const { mi, tc, dimKl } = betaTcTerms(z, mu, logvar, 1000);
    // log q(z|x) - log p(z) = sum_j -0.5 (logvar_j + eps_j^2) + 0.5 z_j^2: the normalisers cancel.
    const sampled = tf.mean(tf.sum(tf.add(logvar, tf.square(eps)).mul(-0.5).add(tf.square(z).mul(0.5)), 1)).dataSync()[0];
    close([mi.add(tc).add(dimKl).dataSync()[0]], [sampled], 1e-5);
    // A batch of one: the estimate of q(z) is that one posterior over N, so MI is log N and TC is (2 - 1) log N.
    const one = betaTcTerms(z.slice([0, 0], [1, 2]), mu.slice([0, 0], [1, 2]), logvar.slice([0, 0], [1, 2]), 1000);
    close([one.mi.dataSync()[0], one.tc.dataSync()[0]], [Math.log(1000), Math.log(1000)], 1e-4);
  });

  it('controlled capacity raises C linearly to max_nats over anneal_steps, and costs gamma * |KL - C|', () => {
    const loss = {
      ...loadSpec('experiments/vae-mnist.yaml').spec.loss,
      objective: 'capacity' as const,
      capacity: { gamma: 100, max_nats: 20, anneal_steps: 1000 },
    };
    assert.deepEqual(
      [0, 250, 1000, 5000].map((step) => objectiveAt(loss, 0, step, 60000)),
      [0, 5, 20, 20].map((capacity) => ({ kind: 'capacity', gamma: 100, capacity })),
    );
    assert.equal(klPartValue({ kind: 'capacity', gamma: 100, capacity: 5 }, 3), 200);
    assert.equal(klPartValue({ kind: 'capacity', gamma: 100, capacity: 5 }, 7), 200);
    assert.deepEqual(objectiveAt(loadSpec('experiments/vae-mnist.yaml').spec.loss, 1, 0, 60000), { kind: 'elbo', beta: 1 });
  });
});

describe('the VAE', () => {
  const spec = loadSpec('experiments/vae-mnist.yaml').spec;

  it('has two separate heads for the mean and the log-variance', () => {
    const vae = buildVae(spec, { height: 28, width: 28, channels: 1 });
    const names = vae.encoder.layers.map((l) => l.name);
    assert.ok(names.includes('mu') && names.includes('logvar'));
    assert.deepEqual(
      vae.encoder.outputs.map((o) => o.shape),
      [
        [null, 20],
        [null, 20],
      ],
    );
    assert.deepEqual(vae.decoder.outputs[0].shape, [null, 784]);
    assert.equal(
      vae.encoder.countParams() + vae.decoder.countParams(),
      784 * 400 + 400 + 2 * (400 * 20 + 20) + 20 * 400 + 400 + 400 * 784 + 784,
    );
  });

  it('the batch loss is the mean of per-example sums: recon + beta * KL', () => {
    const vae = buildVae(spec, { height: 28, width: 28, channels: 1 });
    const x = tf.randomUniform([4, 784], 0, 1, 'float32', 3) as tf.Tensor2D;
    const eps = tf.randomNormal([4, 20], 0, 1, 'float32', 4) as tf.Tensor2D;
    const { recon, kl } = vae.perExampleTerms(x, eps);
    const terms = vae.batchLoss(x, eps, { kind: 'elbo', beta: 0.5 });
    close([terms.recon.dataSync()[0]], [recon.mean().dataSync()[0]], 1e-3);
    close([terms.kl.dataSync()[0]], [kl.mean().dataSync()[0]], 1e-4);
    close([terms.loss.dataSync()[0]], [recon.mean().dataSync()[0] + 0.5 * kl.mean().dataSync()[0]], 1e-3);
    // An untrained decoder is close to 0.5 everywhere: about 784 ln 2 nats per example.
    assert.ok(Math.abs(terms.recon.dataSync()[0] - 784 * Math.LN2) < 60);
  });

  it('the same seed builds the same weights', () => {
    const [a, b] = [buildVae(spec, { height: 28, width: 28, channels: 1 }), buildVae(spec, { height: 28, width: 28, channels: 1 })];
    a.trainableVariables.forEach((w, i) => assert.deepEqual(w.dataSync(), b.trainableVariables[i].dataSync()));
  });

  it('a conv VAE maps 28x28 images to logits of the same size, and refuses sizes it cannot mirror', () => {
    const conv = loadSpec('experiments/vae-mnist-conv.yaml').spec;
    const vae = buildVae(conv, { height: 28, width: 28, channels: 1 });
    assert.deepEqual(vae.decode(tf.zeros([2, 16]) as tf.Tensor2D).shape, [2, 784]);
    assert.throws(
      () => buildVae(conv, { height: 30, width: 30, channels: 1 }),
      /model\.encoder\.hidden: conv with 2 stride-2 layers needs image sides divisible by 4; these images are 30 x 30/,
    );
  });

  it('saves and loads in the TensorFlow.js format with identical outputs', async () => {
    const vae = buildVae(spec, { height: 28, width: 28, channels: 1 });
    const dir = scratch();
    await saveLayersModel(vae.encoder, dir);
    const loaded = await loadLayersModel(dir);
    const x = tf.randomUniform([2, 784], 0, 1, 'float32', 5);
    const [mu] = vae.encoder.predict(x) as tf.Tensor[];
    const [mu2] = loaded.predict(x) as tf.Tensor[];
    assert.deepEqual(mu.dataSync(), mu2.dataSync());
  });
});

describe('Conv2DBackpropFilter kernel', () => {
  type Shape4 = [number, number, number, number];
  const cases: [string, Shape4, Shape4, number, 'same' | 'valid'][] = [
    ['stride 2, same padding', [2, 7, 7, 3], [3, 3, 3, 4], 2, 'same'],
    ['stride 1, valid padding', [1, 6, 5, 2], [2, 3, 2, 3], 1, 'valid'],
    ['stride 2, even input', [3, 8, 8, 1], [3, 3, 1, 5], 2, 'same'],
  ];
  for (const [name, xShape, filter, strides, pad] of cases) {
    it(`matches TensorFlow.js's own cpu kernel: ${name}`, () => {
      const x = tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
      const info = tf.backend_util.computeConv2DInfo(xShape, filter, strides, 1, pad);
      const dy = tf.randomNormal([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 0, 1, 'float32', 2) as tf.Tensor4D;
      // d/dW of sum(conv2d(x, W) * dy) is exactly the filter gradient for upstream gradient dy.
      const w = tf.zeros(filter);
      const reference = tf
        .grad((f) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, strides, pad), dy)))(w)
        .dataSync();
      close(conv2dBackpropFilter(x.dataSync() as Float32Array, dy.dataSync() as Float32Array, info), [...reference], 1e-4);
    });
  }
});
