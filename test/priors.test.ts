// Learned priors (model.prior: vamp or mog): their log-density against the formulas written out, sampling, the
// graph forward pass against tfjs's, checkpoints, and a run end to end on a slice of real MNIST.
// (test/graph-step.test.ts checks their training step against tfjs autodiff.)
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/backend.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { pairwiseLogNormal as pairwiseLogNormalGraph } from '../src/model/pairwise-graph.ts';
import { pairwiseLogNormal, priorParameters, standardLogDensity } from '../src/model/prior.ts';
import { GraphBuilder } from '../src/tfjs-bridge/graph-builder.ts';
import { buildVae, type Vae } from '../src/model/vae.ts';
import { findCheckpoint, saveCheckpoint } from '../src/train/checkpoint.ts';
import { GraphStep } from '../src/train/graph-step.ts';
import { vae as cli } from './support/cli.ts';
import { DIGIT_SHAPE, testDigits } from './support/digits.ts';
import { checkModelOptionRun } from './support/model-option-run.ts';
import { assertForwardFormsAgree } from './support/forward-agreement.ts';
import { scratchFolders } from './support/scratch.ts';

/** Temporary folders, removed when this file's tests end. */
const scratch = scratchFolders('vae-prior-checkpoint-');

const MLP = 'experiments/vae-mnist.yaml';

before(async () => {
  assert.equal((await selectBackend('tensorflow')).name, 'tensorflow');
});

function model(overrides: string[]): Vae {
  return buildVae(
    loadSpec(MLP, ['model.encoder.hidden=[64]', 'model.decoder.hidden=[64]', 'model.latent_dim=4', ...overrides]).spec,
    DIGIT_SHAPE,
  );
}

/** log N(z | mean, exp(logvar)) of one row against one component, summed over dimensions, in plain numbers. */
function logNormal(z: number[], mean: number[], logvar: number[]): number {
  return z.reduce((s, zj, j) => s - 0.5 * (Math.log(2 * Math.PI) + logvar[j] + (zj - mean[j]) ** 2 / Math.exp(logvar[j])), 0);
}

const logMeanExp = (values: number[]) => {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0) / values.length);
};

describe('learned priors', () => {
  it('the pairwise log-density, tfjs term by term and the graph expanded in float64, is exact even beside a narrow component', () => {
    // Three components in 50 dimensions with means of size 2; the first is narrow (log-variance -14) and the samples
    // sit half a standard deviation from its mean, where float32's expanded square loses nats to cancellation.
    const [k, d] = [3, 50];
    const means = tf.randomNormal([k, d], 0, 2, 'float32', 2) as tf.Tensor2D;
    const logvars = tf.concat([tf.fill([1, d], -14), tf.randomUniform([k - 1, d], -6, 2, 'float32', 3)]) as tf.Tensor2D;
    const offsets = tf.randomNormal([4, d], 0, 0.5 * Math.exp(-7), 'float32', 1);
    const z = tf.concat([means.slice([0, 0], [1, d]).add(offsets), tf.randomNormal([3, d], 0, 2, 'float32', 4)]) as tf.Tensor2D;
    const [zs, ms, lvs] = [z.arraySync(), means.arraySync(), logvars.arraySync()];
    const want = zs.map((row) => ms.map((m, c) => logNormal(row, m, lvs[c])));
    const g = new GraphBuilder();
    const inputs = ['z', 'means', 'logvars'].map((name) => g.placeholder(name, [-1, d]));
    const fetch = pairwiseLogNormalGraph(g, inputs[0], inputs[1], inputs[2], d);
    const session = g.load();
    const [graph] = session.run(
      [
        [inputs[0], z],
        [inputs[1], means],
        [inputs[2], logvars],
      ],
      [fetch],
    );
    session.dispose();
    const float32Expanded = tf.tidy(() => {
      const precision = tf.exp(tf.neg(logvars));
      const square = tf.matMul(tf.square(z), precision, false, true).sub(tf.matMul(z, means.mul(precision), false, true).mul(2));
      return square
        .add(tf.sum(means.square().mul(precision), 1))
        .add(tf.sum(logvars, 1))
        .add(d * Math.log(2 * Math.PI))
        .mul(-0.5);
    });
    const worst = (got: tf.Tensor) =>
      Math.max(
        ...(got.arraySync() as number[][]).flatMap((row, i) =>
          row.map((v, c) => Math.abs(v - want[i][c]) / Math.max(1, Math.abs(want[i][c]))),
        ),
      );
    const [float32Error, tfjsError, graphError] = [float32Expanded, pairwiseLogNormal(z, means, logvars), graph].map(worst);
    assert.ok(float32Error > 1e-2, `float32's expansion should be off here (${float32Error}), or this test shows nothing`);
    assert.ok(tfjsError < 1e-6, `tfjs: ${tfjsError}`);
    assert.ok(graphError < 1e-6, `graph: ${graphError}`);
  });

  it('a mixture of one Gaussian at 0 with unit variance is N(0, I)', () => {
    const vae = model(['model.prior=mog', 'model.mog.components=1']);
    const [means] = priorParameters(vae.prior!);
    means.assign(tf.zerosLike(means));
    const z = tf.randomNormal([9, 4], 0, 1.5, 'float32', 4) as tf.Tensor2D;
    const [got, want] = [vae.logPrior(z).arraySync(), standardLogDensity(z).arraySync()];
    got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-5, `${g} vs ${want[i]}`));
  });

  it("the VampPrior is the mean of the encoder's posteriors at the pseudo-inputs, clipped to [0, 1]", () => {
    const vae = model(['model.prior=vamp', 'model.vamp.components=6']);
    const [pseudoInputs] = priorParameters(vae.prior!);
    // Some pixels outside [0, 1], to see the clip.
    pseudoInputs.assign(tf.randomUniform(pseudoInputs.shape, -0.5, 1.5, 'float32', 5));
    const z = tf.randomNormal([5, 4], 0, 1, 'float32', 6) as tf.Tensor2D;
    const { mu, logvar } = vae.encode(tf.clipByValue(pseudoInputs, 0, 1) as tf.Tensor2D);
    const [zs, mus, lvs] = [z.arraySync(), mu.arraySync(), logvar.arraySync()];
    const got = vae.logPrior(z).arraySync();
    zs.forEach((row, i) => {
      const want = logMeanExp(mus.map((m, c) => logNormal(row, m, lvs[c])));
      assert.ok(Math.abs(got[i] - want) < 1e-4 * Math.abs(want), `row ${i}: ${got[i]} vs ${want}`);
    });
  });

  it('prior samples come from the mixture, the same for the same seed', async () => {
    const vae = model(['model.prior=mog', 'model.mog.components=2']);
    const [means, logvars, logits] = priorParameters(vae.prior!);
    means.assign(
      tf.tensor2d([
        [-10, -10, -10, -10],
        [10, 10, 10, 10],
      ]),
    );
    logvars.assign(tf.fill(logvars.shape, -4));
    // Weights 1/4 and 3/4.
    logits.assign(tf.tensor2d([[0], [Math.log(3)]]));
    const draws = (await vae.samplePrior(2000, 11)).arraySync();
    const second = draws.filter((row) => row.every((v) => v > 9)).length;
    assert.equal(draws.filter((row) => row.every((v) => v < -9)).length + second, 2000, 'every draw sits at one of the two means');
    assert.ok(Math.abs(second / 2000 - 0.75) < 0.03, `${second} of 2000 draws from the component of weight 3/4`);
    assert.deepEqual((await vae.samplePrior(5, 11)).arraySync(), draws.slice(0, 5));
  });

  for (const prior of ['vamp', 'mog']) {
    it(`${prior}: evaluation's graph forward pass gives tfjs's terms and importance weights`, () => {
      const vae = model([`model.prior=${prior}`, 'model.vamp.components=8', 'model.mog.components=3']);
      assertForwardFormsAgree(vae, testDigits(0, 12));
    });
  }

  it("vamp: evaluation's graph forward pass clips the pseudo-inputs to [0, 1] as tfjs does", () => {
    const vae = model(['model.prior=vamp', 'model.vamp.components=8']);
    const [pseudoInputs] = priorParameters(vae.prior!);
    // Freshly initialised pseudo-inputs sit near 0.05, where neither end of the clip acts; training moves them past
    // both. Digits stretched to [-0.5, 1.5] put pixels beyond each end.
    pseudoInputs.assign(testDigits(100, 108).mul(2).sub(0.5));
    assertForwardFormsAgree(vae, testDigits(0, 12));
  });

  it("a checkpoint carries the prior's parameters with the rest", async () => {
    const runDir = scratch();
    const [trained, fresh] = [
      model(['model.prior=vamp', 'model.vamp.components=8']),
      model(['model.prior=vamp', 'model.vamp.components=8']),
    ];
    const step = new GraphStep(trained, 1e-2);
    for (let i = 0; i < 3; i++)
      step.run(testDigits(0, 16), tf.randomNormal([16, 4], 0, 1, 'float32', i + 1) as tf.Tensor2D, { kind: 'elbo', beta: 1 });
    step.syncModel();
    await saveCheckpoint(runDir, trained, step, { epoch: 1, last: {}, trainSeconds: 1 });
    const moved = (a: Vae, b: Vae) => tf.max(tf.abs(tf.sub(priorParameters(a.prior!)[0], priorParameters(b.prior!)[0]))).dataSync()[0];
    assert.ok(moved(trained, fresh) > 1e-3, 'training moved the pseudo-inputs');
    await findCheckpoint(runDir)!.restoreModel(fresh);
    assert.equal(moved(trained, fresh), 0);
    step.dispose();
  });

  it('beta_tc with a learned prior is refused with the field to change', async () => {
    const result = await cli(['run', MLP, 'loss.objective=beta_tc', 'model.prior=mog', '--no-mlflow']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /model\.prior: objective beta_tc .* needs prior: standard \(got mog\)/);
  });

  it('a VampPrior run trains, saves its prior beside the networks, and `vae sample` reads it back', async () => {
    const { stderr, metrics } = await checkModelOptionRun(['model.prior=vamp', 'model.vamp.components=50'], ['prior']);
    assert.match(stderr, /model 784-400-20, VampPrior, K = 50 \(KL estimated from the sample\) \| bce \+ 1 x KL \|/);
    assert.ok(metrics['test/kl'] > 0, `the sampled KL of the test set: ${metrics['test/kl']}`);
  });
});
