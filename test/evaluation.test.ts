import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { subset } from '../src/data/images.ts';
import { evaluateElbo } from '../src/eval/evaluate.ts';
import { importanceWeightedNll, latentUsage } from '../src/eval/iwae.ts';
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
});

describe('active units and KL per dimension', () => {
  it('match the definitions computed directly on the posterior means', async () => {
    const vae = buildVae(spec, { height: 28, width: 28, channels: 1 });
    const usage = await latentUsage(vae, digits, { batchSize: 10, binarize: 'none', seed: 'u', threshold: 0.01 });
    const x = tf.tensor2d(
      Float32Array.from(digits.pixels, (p) => p / 255),
      [64, 784],
    );
    const { mu, logvar } = vae.encode(x);
    const variance = tf.moments(mu, 0).variance.arraySync() as number[];
    const kl = tf.mean(tf.square(mu).add(tf.exp(logvar)).sub(1).sub(logvar).mul(0.5), 0).arraySync() as number[];
    usage.activity.forEach((a, u) => assert.ok(Math.abs(a - variance[u]) < 1e-5, `activity[${u}]`));
    usage.klPerDimension.forEach((k, u) => assert.ok(Math.abs(k - kl[u]) < 1e-5, `kl[${u}]`));
    assert.equal(usage.activeUnits, variance.filter((v) => v > 0.01).length);
  });
});
