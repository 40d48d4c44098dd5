import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { subset } from '../src/data/images.ts';
import { evaluateElbo, perExampleNegElbo } from '../src/eval/evaluate.ts';
import { importanceWeightedNll, latentUsage } from '../src/eval/iwae.ts';
import { testMetrics } from '../src/eval/test-metrics.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { buildVae } from '../src/model/vae.ts';

// 64 real MNIST test digits and the reference model; untrained weights are enough to check the estimators.
const spec = loadSpec('experiments/vae-mnist.yaml').spec;
const mnist = loadDataset(spec.data, '.');
const digits = subset(
  mnist.test,
  Uint32Array.from({ length: 64 }, (_, i) => i),
);

before(async () => {
  assert.equal((await selectBackend('tensorflow')).name, 'tensorflow', 'tfjs-node must load (npm ci builds it)');
});

describe('importance-weighted bound', () => {
  const vae = buildVae(spec, { height: 28, width: 28, channels: 1 });
  const options = { binarize: 'none' as const, seed: 'iwae-test', memoryBytes: 64 * 2 ** 20 };

  it('with k = 1 it is the ELBO (up to Monte-Carlo error), and more samples tighten it', async () => {
    const elbo = await evaluateElbo(vae, digits, { batchSize: 64, binarize: 'none', seed: 'elbo-test' });
    const k1 = await importanceWeightedNll(vae, digits, { ...options, samples: 1 });
    const k100 = await importanceWeightedNll(vae, digits, { ...options, samples: 100 });
    assert.ok(Math.abs(k1 - elbo.loss) < 0.02 * elbo.loss, `k=1 ${k1} vs -ELBO ${elbo.loss}`);
    assert.ok(k100 < elbo.loss, `k=100 ${k100} is below -ELBO ${elbo.loss}`);
    assert.ok(Number.isFinite(k100) && k100 > 0);
  });

  it('gives the same estimate in many small chunks as in one (the running log-sum-exp is exact)', async () => {
    const one = await importanceWeightedNll(vae, digits, { ...options, samples: 200 });
    // 1 MiB holds 66 decoder passes of 784 pixels: 200 samples take 4 chunks for each example.
    const many = await importanceWeightedNll(vae, digits, { ...options, samples: 200, memoryBytes: 2 ** 20 });
    // The untrained model's log-weights hardly depend on the noise, so the two agree to 4e-4 nats; a running sum
    // that is not rescaled when the maximum moves is off by 0.3.
    assert.ok(Math.abs(one - many) < 0.01, `${one} vs ${many}`);
  });

  it('is the exact -log p(x), for every k and batching, when the latent carries nothing', async () => {
    // The inequalities above cannot see a bound that forgets -log k (log 100 = 4.6 nats too low) or averages that
    // weight a short last batch as a full one; an exact answer can.
    const { blank, exact } = blankModel();
    const mean = exact.reduce((a, b) => a + b, 0) / exact.length;
    // 64 digits in batches of 24: the last batch has 16.
    const elbo = await evaluateElbo(blank, digits, { batchSize: 24, binarize: 'none', seed: 'elbo-test' });
    assert.ok(Math.abs(elbo.loss - mean) < 0.01 && Math.abs(elbo.kl) < 1e-6, `-ELBO ${elbo.loss} (KL ${elbo.kl}) vs ${mean}`);
    for (const [samples, memoryBytes] of [
      [1, 64 * 2 ** 20],
      [100, 64 * 2 ** 20],
      [100, 2 ** 20],
    ]) {
      const bound = await importanceWeightedNll(blank, digits, { ...options, samples, memoryBytes });
      assert.ok(Math.abs(bound - mean) < 0.01, `k=${samples} in ${memoryBytes} bytes: ${bound} vs ${mean}`);
    }
    blank.dispose();
  });
});

describe('per-example scores', () => {
  it("are each example's own negative ELBO, in order, averaged over the draws, when the decoder ignores z", async () => {
    // Any score is a mean over draws whose spread hides a sum where a mean belongs; here every draw gives the exact
    // answer, so 3 draws summed would triple it. Batches of 24 leave a short last one, whose scores must land at 48.
    const { blank, exact } = blankModel();
    // q(z|x) = N(1, I) in all 20 dimensions: KL(q || p) = 20 / 2 = 10 nats, which a score of the reconstruction
    // alone would miss; the decoder still ignores z, so the reconstruction term stays exact.
    const mu = blank.encoder.getLayer('mu');
    mu.setWeights([mu.getWeights()[0], tf.ones([blank.latentDim])]);
    const scores = await perExampleNegElbo(blank, digits, { samples: 3, batchSize: 24, seed: 'score-test' });
    assert.equal(scores.length, 64);
    scores.forEach((s, i) => assert.ok(Math.abs(s - exact[i] - 10) < 0.01, `example ${i}: ${s} vs ${exact[i]} + 10`));
    blank.dispose();
  });
});

describe('active units and KL per dimension', () => {
  it('match the definitions computed directly on the posterior means', async () => {
    const vae = buildVae(spec, { height: 28, width: 28, channels: 1 });
    const x = tf.tensor2d(
      Float32Array.from(digits.pixels, (p) => p / 255),
      [64, 784],
    );
    const { mu, logvar } = vae.encode(x);
    const variance = tf.moments(mu, 0).variance.arraySync() as number[];
    const kl = tf.mean(tf.square(mu).add(tf.exp(logvar)).sub(1).sub(logvar).mul(0.5), 0).arraySync() as number[];
    // An untrained model's activities are all near 2e-3, below Burda et al.'s 0.01: at that threshold every way of
    // counting gives 0. A threshold between its activities makes the count depend on what is counted.
    const threshold = thresholdWithAbove(variance, 10);
    const usage = await latentUsage(vae, digits, { batchSize: 10, binarize: 'none', seed: 'u', threshold });
    usage.activity.forEach((a, u) => assert.ok(Math.abs(a - variance[u]) < 1e-5, `activity[${u}]`));
    usage.klPerDimension.forEach((k, u) => assert.ok(Math.abs(k - kl[u]) < 1e-5, `kl[${u}]`));
    assert.equal(usage.activeUnits, variance.filter((v) => v > threshold).length);
    assert.equal(usage.activeUnits, 10);
  });
});

describe('the test metrics of a run', () => {
  it("count active units at the spec's threshold and bound with the spec's k, or skip the bound at k = 0", async () => {
    const vae = buildVae(spec, { height: 28, width: 28, channels: 1 });
    // A threshold between the untrained model's activities (all below the default 0.01): 15 of its 20 units pass.
    const { activity } = await latentUsage(vae, digits, { batchSize: 64, binarize: 'none', seed: 'u', threshold: 0.01 });
    const threshold = thresholdWithAbove(activity, 15);
    const overrides = [`eval.active_unit_threshold=${threshold}`, 'eval.iwae_samples=10', 'train.batch_size=24'];
    const { metrics } = await testMetrics(vae, digits, loadSpec('experiments/vae-mnist.yaml', overrides).spec);
    assert.equal(metrics['test/active_units'], 15);
    assert.ok(Math.abs(metrics['test/neg_elbo'] - metrics['test/recon'] - metrics['test/kl']) < 1e-3);
    assert.ok(metrics['test/iwae_nll'] < metrics['test/neg_elbo'], `k=10 ${metrics['test/iwae_nll']} vs ${metrics['test/neg_elbo']}`);
    const none = await testMetrics(vae, digits, loadSpec('experiments/vae-mnist.yaml', [...overrides, 'eval.iwae_samples=0']).spec);
    assert.equal('test/iwae_nll' in none.metrics, false, 'k = 0 skips the bound');
    vae.dispose();
  });
});

/**
 * The reference model with q(z|x) = p(z) and a decoder that ignores z: every importance weight is p(x) itself, so the
 * ELBO, the bound for any k and every draw's score are exactly -log p(x), here the pixel-mean Bernoulli model's NLL,
 * in closed form for each digit (`exact`).
 */
function blankModel() {
  const blank = buildVae(spec, { height: 28, width: 28, channels: 1 });
  for (const v of blank.trainableVariables) v.assign(tf.zerosLike(v));
  const grey = Float64Array.from({ length: 784 }, (_, p) => {
    let sum = 0;
    for (let i = 0; i < 64; i++) sum += digits.pixels[i * 784 + p] / 255;
    return Math.min(0.95, Math.max(0.05, sum / 64));
  });
  const output = blank.decoder.getLayer('x_params');
  output.setWeights([output.getWeights()[0], tf.tensor1d(Array.from(grey, (q) => Math.log(q / (1 - q))))]);
  // The bias went through float32: the closed form uses the probabilities the model actually holds.
  const held = Array.from(output.getWeights()[1].dataSync(), (l) => 1 / (1 + Math.exp(-l)));
  const exact = Array.from({ length: 64 }, (_, i) => {
    let nll = 0;
    for (let p = 0; p < 784; p++) {
      const x = digits.pixels[i * 784 + p] / 255;
      nll -= x * Math.log(held[p]) + (1 - x) * Math.log(1 - held[p]);
    }
    return nll;
  });
  return { blank, exact };
}

/** The midpoint between the `above`-th largest of `values` and the next: exactly `above` of them lie over it. */
function thresholdWithAbove(values: number[], above: number): number {
  const descending = [...values].sort((a, b) => b - a);
  return (descending[above - 1] + descending[above]) / 2;
}
