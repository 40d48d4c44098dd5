// The native MLP step (hand-written gradients, flat Adam, on tfjs-node) against tfjs's autodiff and tf.train.adam,
// on real MNIST digits: the same losses and the same weights after several steps, for every activation and both
// likelihoods, and Adam's state carried from one to the other through a checkpoint's encoding.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { buildVae, type Vae } from '../src/model/vae.ts';
import { loadSpec } from '../src/spec/load.ts';
import { AutodiffStep } from '../src/train/autodiff-step.ts';
import { nativeMlpStep } from '../src/train/native-mlp-step.ts';
import type { TrainingStep } from '../src/train/training-step.ts';

const SPEC = 'experiments/vae-mnist.yaml';
const mnist = loadDataset(loadSpec(SPEC).spec.data, '.');
// Two batches of real test digits, the second short like an epoch's last batch.
const BATCHES = [[0, 32], [32, 52]].map(([from, to]) => tf.tensor2d(Float32Array.from(mnist.test.pixels.subarray(from * 784, to * 784), (p) => p / 255), [to - from, 784]));

before(async () => {
  const backend = await selectBackend('tensorflow');
  assert.equal(backend.name, 'tensorflow', 'tfjs-node must load (npm ci builds it)');
});

/** Builds the same VAE twice from one spec (same seed, so the same initial weights). */
function twins(overrides: string[]): [Vae, Vae] {
  const spec = loadSpec(SPEC, overrides).spec;
  return [buildVae(spec, { height: 28, width: 28 }), buildVae(spec, { height: 28, width: 28 })];
}

/**
 * Trains `steps` steps, alternating the two batches, with fixed noise, and syncs the model as the trainer does at an
 * epoch's end; returns every step's [loss, recon, kl] totals.
 */
function trainSteps(step: TrainingStep, vae: Vae, steps: number, beta: number): number[][] {
  const totals: number[][] = [];
  for (let i = 0; i < steps; i++) {
    const x = BATCHES[i % 2] as tf.Tensor2D;
    const eps = tf.randomNormal([x.shape[0], vae.latentDim], 0, 1, 'float32', 100 + i) as tf.Tensor2D;
    const t = step.run(x, eps, beta);
    totals.push(Array.from(t.dataSync()));
    tf.dispose([t, eps]);
  }
  step.syncModel();
  return totals;
}

/** The largest absolute difference between the two models' weights. */
function weightGap(a: Vae, b: Vae): number {
  const [wa, wb] = [a.trainableVariables, b.trainableVariables];
  return Math.max(...wa.map((w, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(w, wb[i]))).dataSync()[0])));
}

const relativeGap = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]) / Math.max(1, Math.abs(b[i][j])))));

describe('native MLP step against tfjs autodiff + tf.train.adam', () => {
  const cases: [string, string[]][] = [
    ['reference 784-400-20, ReLU, Bernoulli', []],
    ['two tanh layers, Gaussian', ['model.encoder.hidden=[64,32]', 'model.decoder.hidden=[32,64]', 'model.encoder.activation=tanh', 'model.decoder.activation=tanh', 'loss.reconstruction=mse']],
    ['ELU encoder, softplus decoder', ['model.encoder.hidden=[64]', 'model.decoder.hidden=[48]', 'model.encoder.activation=elu', 'model.decoder.activation=softplus']],
  ];
  for (const [name, overrides] of cases) {
    it(`${name}: the same loss terms and gradients on a batch of digits`, () => {
      const [vae] = twins(overrides);
      const native = nativeMlpStep(vae, 1e-3);
      assert.ok(native, 'an all-dense model on tfjs-node gets the native step');
      for (const x of BATCHES as tf.Tensor2D[]) {
        const eps = tf.randomNormal([x.shape[0], vae.latentDim], 0, 1, 'float32', 7) as tf.Tensor2D;
        const beta = 0.7;
        const { totals, grads } = native.lossAndGradients(x, eps, beta);
        const expected = tf.variableGrads(() => vae.negativeElbo(x, eps, beta).loss, vae.trainableVariables);
        const terms = vae.negativeElbo(x, eps, beta);
        const n = x.shape[0];
        const expectedTotals = [terms.loss, terms.recon, terms.kl].map((t) => t.dataSync()[0] * n);
        assert.ok(relativeGap([Array.from(totals.dataSync())], [expectedTotals]) < 1e-5, `${totals.dataSync()} vs ${expectedTotals}`);
        vae.trainableVariables.forEach((variable, i) => {
          // Each gradient to 1e-4 of its largest entry: float32 sums over a batch in another order, nothing more.
          const want = expected.grads[variable.name];
          const scale = tf.max(tf.abs(want)).dataSync()[0];
          const gap = tf.max(tf.abs(tf.sub(grads[i], want))).dataSync()[0];
          assert.ok(scale > 0 && gap <= 1e-4 * scale, `${variable.name}: gradients differ by ${gap} (largest entry ${scale})`);
        });
        tf.dispose([eps, totals, ...grads, expected.value, ...Object.values(expected.grads), terms.loss, terms.recon, terms.kl]);
      }
      native.dispose();
    });

    it(`${name}: after 6 Adam steps the same weights`, () => {
      const [a, b] = twins(overrides);
      const native = nativeMlpStep(a, 1e-3)!;
      const autodiff = new AutodiffStep(b, 1e-3);
      const [nativeTotals, autodiffTotals] = [trainSteps(native, a, 6, 0.7), trainSteps(autodiff, b, 6, 0.7)];
      // Adam's first steps are close to lr * sign(gradient), so where a gradient is near zero, float32 rounding
      // differences of 1e-7 grow; 1e-4 relative on the losses and 1e-4 on weights (a tenth of one step) bound that.
      assert.ok(relativeGap(nativeTotals, autodiffTotals) < 1e-4, `totals ${JSON.stringify(nativeTotals)} vs ${JSON.stringify(autodiffTotals)}`);
      const gap = weightGap(a, b);
      assert.ok(gap < 1e-4, `weights differ by up to ${gap}`);
      // Training happened: the loss of the second pass over batch 0 is below the first.
      assert.ok(nativeTotals[4][0] < nativeTotals[0][0], `loss ${nativeTotals[0][0]} -> ${nativeTotals[4][0]}`);
      native.dispose();
      autodiff.dispose();
    });
  }

  it("Adam's state moves between the two through a checkpoint's encoding and training goes on identically", async () => {
    const [a, b] = twins([]);
    const native = nativeMlpStep(a, 1e-3)!;
    trainSteps(native, a, 3, 1);
    b.trainableVariables.forEach((w, i) => w.assign(a.trainableVariables[i]));
    const { data, specs } = await native.optimizerState();
    const saved = tf.io.decodeWeights(data, specs);
    const autodiff = new AutodiffStep(b, 1e-3);
    await autodiff.restoreOptimizerState(specs.map((s) => ({ name: s.name, tensor: saved[s.name] })));
    // And back: the autodiff step's own encoding restores into a fresh native step.
    const reencoded = await autodiff.optimizerState();
    const again = tf.io.decodeWeights(reencoded.data, reencoded.specs);
    const nativeAgain = nativeMlpStep(a, 1e-3)!;
    await nativeAgain.restoreOptimizerState(reencoded.specs.map((s) => ({ name: s.name, tensor: again[s.name] })));
    tf.dispose([...Object.values(saved), ...Object.values(again)]);
    native.dispose();
    const [continued, restored] = [trainSteps(nativeAgain, a, 3, 1), trainSteps(autodiff, b, 3, 1)];
    assert.ok(relativeGap(continued, restored) < 1e-5, `${JSON.stringify(continued)} vs ${JSON.stringify(restored)}`);
    assert.ok(weightGap(a, b) < 1e-5);
    nativeAgain.dispose();
    autodiff.dispose();
  });

  it('conv models keep the autodiff step', () => {
    const spec = loadSpec('experiments/vae-mnist-conv.yaml').spec;
    assert.equal(nativeMlpStep(buildVae(spec, { height: 28, width: 28 }), 1e-3), undefined);
  });
});
