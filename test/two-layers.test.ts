// Burda et al.'s two stochastic layers (model.stochastic_layers: 2): the IWAE bound against the formulas written out,
// the graph forward pass against tfjs's, checkpoints, the refused combinations, and a run end to end on a slice of
// real MNIST. (test/graph-step.test.ts checks its training step against tfjs autodiff.)
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/backend.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { buildVae, type Vae } from '../src/model/vae.ts';
import { findCheckpoint, saveCheckpoint } from '../src/train/checkpoint.ts';
import { GraphStep } from '../src/train/graph-step.ts';
import { vae as cli } from './support/cli.ts';
import { DIGIT_SHAPE, testDigits } from './support/digits.ts';
import { checkModelOptionRun } from './support/model-option-run.ts';
import { assertForwardFormsAgree, close } from './support/forward-agreement.ts';
import { scratchFolders } from './support/scratch.ts';

/** Temporary folders, removed when this file's tests end. */
const scratch = scratchFolders('vae-two-layers-checkpoint-');

const MLP = 'experiments/vae-mnist.yaml';
const TWO_LAYERS = ['model.stochastic_layers=2', 'model.top_layer.latent_dim=4', 'model.top_layer.hidden=[16]'];

before(async () => {
  assert.equal((await selectBackend('tensorflow')).name, 'tensorflow');
});

function model(): Vae {
  const overrides = ['model.encoder.hidden=[64]', 'model.decoder.hidden=[64]', 'model.latent_dim=8', ...TWO_LAYERS];
  return buildVae(loadSpec(MLP, overrides).spec, DIGIT_SHAPE);
}

/** log N(z | mean, exp(logvar)) of each row, summed over its dimensions. */
function logNormal(z: tf.Tensor2D, mean: tf.Tensor2D | number, logvar: tf.Tensor2D | number): tf.Tensor1D {
  return tf.sum(tf.add(tf.add(Math.log(2 * Math.PI), logvar), tf.square(tf.sub(z, mean)).div(tf.exp(logvar))), 1).mul(-0.5);
}

describe('two stochastic layers', () => {
  it('a model has noise rows of z1 + z2 columns and the two networks of the second layer', () => {
    const vae = model();
    assert.equal(vae.latentDim, 8);
    assert.equal(vae.noiseDim, 12);
    assert.deepEqual(
      vae.networks.map(([name]) => name),
      ['encoder', 'decoder', 'top_encoder', 'top_decoder'],
    );
  });

  it("IWAE with k = 1: the bound is the draw's log p(x|z1) + log p(z1|z2) + log p(z2) - log q(z1|x) - log q(z2|z1)", () => {
    const vae = model();
    const top = vae.top!;
    const graph = new GraphStep(vae, 1e-3, 'iwae');
    const x = testDigits(0, 32);
    const eps = tf.randomNormal([32, 12], 0, 1, 'float32', 3) as tf.Tensor2D;
    const { totals, grads } = graph.lossAndGradients(x, eps, { kind: 'iwae', samples: 1 });
    const want = tf.tidy(() => {
      const [eps1, eps2] = [eps.slice([0, 0], [32, 8]), eps.slice([0, 8], [32, 4])];
      const { mu, logvar } = vae.encode(x);
      const z1 = mu.add(tf.exp(logvar.mul(0.5)).mul(eps1)) as tf.Tensor2D;
      const [mu2, logvar2] = top.encoder.apply(z1) as tf.Tensor2D[];
      const z2 = mu2.add(tf.exp(logvar2.mul(0.5)).mul(eps2)) as tf.Tensor2D;
      const [priorMean, priorLogvar] = top.decoder.apply(z2) as tf.Tensor2D[];
      const logits = vae.decode(z1);
      const logPx = tf.sum(x.mul(logits).sub(tf.softplus(logits)), 1);
      const logW = logPx
        .add(logNormal(z1, priorMean, priorLogvar))
        .add(logNormal(z2, 0, 0))
        .sub(logNormal(z1, mu, logvar))
        .sub(logNormal(z2, mu2, logvar2));
      return -tf.sum(logW).dataSync()[0];
    });
    const got = totals.dataSync()[0];
    assert.ok(Math.abs(got - want) < 1e-5 * Math.abs(want), `${got} vs ${want}`);
    tf.dispose([eps, totals, ...grads]);
    graph.dispose();
  });

  it("evaluation's graph forward pass gives tfjs's terms and importance weights", () => {
    const vae = model();
    const x = testDigits(0, 12);
    const { graph, eager } = assertForwardFormsAgree(vae, x);
    const [gp, ep] = [graph.posterior(x), eager.posterior(x)];
    assert.deepEqual(gp.mu.shape, [12, 8], "the posterior is z1's");
    close(gp.mu, ep.mu, 'posterior means');
  });

  it('prior samples are z1 codes, the same for the same seed', async () => {
    const vae = model();
    const draws = await vae.samplePrior(6, 11);
    assert.deepEqual(draws.shape, [6, 8]);
    assert.deepEqual((await vae.samplePrior(6, 11)).arraySync(), draws.arraySync());
    assert.notDeepEqual((await vae.samplePrior(6, 12)).arraySync(), draws.arraySync());
  });

  it('a checkpoint carries the networks of the second layer with the rest', async () => {
    const runDir = scratch();
    const [trained, fresh] = [model(), model()];
    const step = new GraphStep(trained, 1e-2);
    for (let i = 0; i < 3; i++)
      step.run(testDigits(0, 16), tf.randomNormal([16, 12], 0, 1, 'float32', i + 1) as tf.Tensor2D, { kind: 'elbo', beta: 1 });
    step.syncModel();
    await saveCheckpoint(runDir, trained, step, { epoch: 1, last: {}, trainSeconds: 1 });
    const gap = (a: Vae, b: Vae) =>
      Math.max(
        ...[a.top!.encoder, a.top!.decoder].flatMap((net, n) =>
          net.getWeights().map((w, i) => tf.max(tf.abs(tf.sub(w, [b.top!.encoder, b.top!.decoder][n].getWeights()[i]))).dataSync()[0]),
        ),
      );
    assert.ok(gap(trained, fresh) > 1e-3, 'training moved the second layer');
    await findCheckpoint(runDir)!.restoreModel(fresh);
    assert.equal(gap(trained, fresh), 0);
    step.dispose();
  });

  for (const [what, overrides, message] of [
    ['a conv model', ['model.architecture=conv'], /model\.stochastic_layers: stochastic_layers 2 .* needs architecture: mlp \(got conv\)/],
    ['beta_tc', ['loss.objective=beta_tc'], /model\.stochastic_layers: objective beta_tc .* trains with objective elbo or iwae/],
  ] as const) {
    it(`two layers with ${what} are refused with the field to change`, async () => {
      const result = await cli(['run', MLP, 'model.stochastic_layers=2', ...overrides, '--no-mlflow']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }

  it('a two-layer run trains, saves the networks of the second layer, and `vae sample` reads them back', async () => {
    const { stderr } = await checkModelOptionRun(TWO_LAYERS, ['top_encoder', 'top_decoder']);
    assert.match(stderr, /model 784-400-20-16-4 \(2 stochastic layers: 20, 4\) \| bce \+ 1 x KL \|/);
  });
});
