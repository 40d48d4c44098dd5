// The graph step (TensorFlow's own gradients, in-place Adam, on tfjs-node) against tfjs's autodiff and
// tf.train.adam, on real MNIST digits: the same loss terms, gradients and weights after several steps, for MLP and
// conv models, every activation the schema allows and both likelihoods; Adam's state carried from one to the other
// through a checkpoint's encoding.
//
// Both sides run TensorFlow's plain (Eigen) kernels here, so the comparison sees the maths and nothing else. With
// oneDNN's kernels, which the graph's session uses by default, a conv layer sums in another order; a ReLU whose
// input is within float32 rounding of zero then switches, and one example's share of a gradient moves (measured:
// up to 4e-3 of the largest entry for the conv VAE, against 2e-7 with these kernels). graph-step-training.test.ts
// checks the default kernels, through whole epochs of training.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import type { ImageShape } from '../src/data/images.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { buildVae, type Vae } from '../src/model/vae.ts';
import { AutodiffStep } from '../src/train/autodiff-step.ts';
import { GraphStep } from '../src/train/graph-step.ts';
import { createTrainingStep } from '../src/train/trainer.ts';
import type { TrainingStep } from '../src/train/training-step.ts';
import { samplesPerExample, type Objective } from '../src/model/objective.ts';

// Read when tfjs-node loads TensorFlow, in before() below.
process.env.TF_ENABLE_ONEDNN_OPTS = '0';

const MLP = 'experiments/vae-mnist.yaml';
const CONV = 'experiments/vae-mnist-conv.yaml';
const mnist = loadDataset(loadSpec(MLP).spec.data, '.');
// Two batches of real test digits, the second short like an epoch's last batch.
const BATCHES = [
  [0, 32],
  [32, 52],
].map(([from, to]) =>
  tf.tensor2d(
    Float32Array.from(mnist.test.pixels.subarray(from * 784, to * 784), (p) => p / 255),
    [to - from, 784],
  ),
);

before(async () => {
  const backend = await selectBackend('tensorflow');
  assert.equal(backend.name, 'tensorflow', 'tfjs-node must load (npm ci builds it)');
});

const DIGITS = { height: 28, width: 28, channels: 1 };

/** Builds the same VAE twice from one spec (same seed, so the same initial weights). */
function twins(spec: string, overrides: string[], image: ImageShape = DIGITS): [Vae, Vae] {
  const resolved = loadSpec(spec, overrides).spec;
  return [buildVae(resolved, image), buildVae(resolved, image)];
}

const BETA = { kind: 'elbo', beta: 0.7 } as const;

/** The graph step's loss terms and gradients on `batches` against tfjs autodiff's for the same model. */
function assertSameLossAndGradients(vae: Vae, batches: tf.Tensor2D[], objective: Objective = BETA): void {
  const graph = new GraphStep(vae, 1e-3, objective.kind);
  for (const x of batches) {
    const eps = tf.randomNormal([x.shape[0] * samplesPerExample(objective), vae.noiseDim], 0, 1, 'float32', 7) as tf.Tensor2D;
    const { totals, grads } = graph.lossAndGradients(x, eps, objective);
    const expected = tf.variableGrads(() => vae.batchLoss(x, eps, objective).loss, vae.trainableVariables);
    const terms = vae.batchLoss(x, eps, objective);
    const n = x.shape[0];
    const expectedTotals = [terms.loss, terms.recon, terms.kl, ...terms.terms].map((t) => t.dataSync()[0] * n);
    assert.ok(relativeGap([Array.from(totals.dataSync())], [expectedTotals]) < 1e-5, `${totals.dataSync()} vs ${expectedTotals}`);
    assert.equal(grads.length, vae.trainableVariables.length);
    vae.trainableVariables.forEach((variable, i) => {
      // Each gradient to 1e-4 of its largest entry: float32 sums over a batch in another order, nothing more.
      const want = expected.grads[variable.name];
      const scale = tf.max(tf.abs(want)).dataSync()[0];
      const gap = tf.max(tf.abs(tf.sub(grads[i], want))).dataSync()[0];
      assert.ok(scale > 0 && gap <= 1e-4 * scale, `${variable.name}: gradients differ by ${gap} (largest entry ${scale})`);
    });
    tf.dispose([
      eps,
      totals,
      ...grads,
      expected.value,
      ...Object.values(expected.grads),
      terms.loss,
      terms.recon,
      terms.kl,
      ...terms.terms,
    ]);
  }
  graph.dispose();
}

/**
 * Trains `steps` steps, alternating the two batches, with fixed noise, and syncs the model as the trainer does at an
 * epoch's end; returns every step's [loss, recon, kl] totals.
 */
function trainSteps(step: TrainingStep, vae: Vae, steps: number, objective: Objective = BETA): number[][] {
  const totals: number[][] = [];
  for (let i = 0; i < steps; i++) {
    const x = BATCHES[i % 2] as tf.Tensor2D;
    const eps = tf.randomNormal([x.shape[0] * samplesPerExample(objective), vae.noiseDim], 0, 1, 'float32', 100 + i) as tf.Tensor2D;
    const t = step.run(x, eps, objective);
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

const relativeGap = (a: number[][], b: number[][]) =>
  Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]) / Math.max(1, Math.abs(b[i][j])))));
const small = (side: 'encoder' | 'decoder', hidden: string, activation: string) => [
  `model.${side}.hidden=${hidden}`,
  `model.${side}.activation=${activation}`,
];

describe('graph step against tfjs autodiff + tf.train.adam', () => {
  // The last number bounds the weights after 6 Adam steps. Adam's first steps are close to lr * sign(gradient), so
  // where a gradient is near zero, float32 rounding differences of 1e-7 grow: 1e-4 (a tenth of one step) bounds
  // that for most models. The conv ReLU VAE has thousands of gradients within rounding of zero on these digits
  // (13,445 of mu's 50,176 kernel entries below 1e-6: features that ReLU silences on MNIST's empty borders), some
  // differing by 2e-2 of themselves, and those ReLUs then switch as the weights move: after 6 steps its weights
  // differ by up to 8.5e-4 (measured), less than one Adam step (1e-3).
  const cases: [string, string, string[], number][] = [
    ['MLP 784-400-20, ReLU, Bernoulli', MLP, [], 1e-4],
    [
      'MLP, two tanh layers, Gaussian',
      MLP,
      [...small('encoder', '[64,32]', 'tanh'), ...small('decoder', '[32,64]', 'tanh'), 'loss.reconstruction=mse'],
      1e-4,
    ],
    ['MLP, ELU encoder, softplus decoder', MLP, [...small('encoder', '[64]', 'elu'), ...small('decoder', '[48]', 'softplus')], 1e-4],
    ['conv 32-64, ReLU, Bernoulli', CONV, [], 1e-3],
    [
      'conv, tanh, Gaussian',
      CONV,
      [...small('encoder', '[8,16]', 'tanh'), ...small('decoder', '[16,8]', 'tanh'), 'loss.reconstruction=mse'],
      1e-4,
    ],
    ['conv, ELU encoder, softplus decoder', CONV, [...small('encoder', '[8]', 'elu'), ...small('decoder', '[8]', 'softplus')], 1e-4],
  ];
  for (const [name, spec, overrides, adamTolerance] of cases) {
    it(`${name}: the same loss terms and gradients on a batch of digits`, () => {
      assertSameLossAndGradients(twins(spec, overrides)[0], BATCHES as tf.Tensor2D[]);
    });

    it(`${name}: after 6 Adam steps the same weights`, () => {
      const [a, b] = twins(spec, overrides);
      const graph = new GraphStep(a, 1e-3);
      const autodiff = new AutodiffStep(b, 1e-3);
      const [graphTotals, autodiffTotals] = [trainSteps(graph, a, 6), trainSteps(autodiff, b, 6)];
      assert.ok(
        relativeGap(graphTotals, autodiffTotals) < adamTolerance,
        `totals ${JSON.stringify(graphTotals)} vs ${JSON.stringify(autodiffTotals)}`,
      );
      const gap = weightGap(a, b);
      assert.ok(gap < adamTolerance, `weights differ by up to ${gap}`);
      // Training happened: the loss of the second pass over batch 0 is below the first.
      assert.ok(graphTotals[4][0] < graphTotals[0][0], `loss ${graphTotals[0][0]} -> ${graphTotals[4][0]}`);
      graph.dispose();
      autodiff.dispose();
    });
  }

  /**
   * `objective`'s loss terms and gradients on the digits, then 6 Adam steps of each step from the same weights: the
   * same totals and weights, to `weightTolerance`. Returns the graph step's totals, for what the objective should do.
   */
  function assertTrainAlike(spec: string, overrides: string[], objective: Objective, weightTolerance: number): number[][] {
    assertSameLossAndGradients(twins(spec, overrides)[0], BATCHES as tf.Tensor2D[], objective);
    const [a, b] = twins(spec, overrides);
    const graph = new GraphStep(a, 1e-3, objective.kind);
    const autodiff = new AutodiffStep(b, 1e-3);
    const [graphTotals, autodiffTotals] = [trainSteps(graph, a, 6, objective), trainSteps(autodiff, b, 6, objective)];
    assert.ok(
      relativeGap(graphTotals, autodiffTotals) < 1e-4,
      `totals ${JSON.stringify(graphTotals)} vs ${JSON.stringify(autodiffTotals)}`,
    );
    assert.ok(weightGap(a, b) < weightTolerance, `weights differ by up to ${weightGap(a, b)}`);
    graph.dispose();
    autodiff.dispose();
    return graphTotals;
  }
  const objectiveCases = [
    ['MLP', MLP, []],
    ['conv, tanh', CONV, [...small('encoder', '[8,16]', 'tanh'), ...small('decoder', '[16,8]', 'tanh')]],
  ] as const;

  // Controlled capacity: gamma * |KL - C|, its gradient TensorFlow's through the sign of the gap. An untrained
  // VAE's KL is under a nat on these digits, so C = 5 pushes the KL up and C = 0 pulls it down. gamma multiplies
  // the KL's gradients, and their float32 rounding with them: after 6 steps the weights are held to 3e-4, under a
  // third of one Adam step (measured: up to 1.1e-4 for the MLP with C = 0).
  for (const capacity of [5, 0]) {
    for (const [name, spec, overrides] of objectiveCases) {
      it(`${name}, capacity objective with C = ${capacity}: the same loss terms and gradients, and after 6 Adam steps the same weights`, () => {
        const graphTotals = assertTrainAlike(spec, [...overrides], { kind: 'capacity', gamma: 30, capacity }, 3e-4);
        // The KL moves toward C: up from under a nat for C = 5, down for C = 0.
        const [first, last] = [graphTotals[0][2], graphTotals[4][2]];
        assert.ok(capacity > 0 ? last > first : last < first, `KL of batch 0: ${first} -> ${last}`);
      });
    }
  }

  // β-TCVAE: its per-example MI, TC and dimension-wise KL come from every pair of the batch (minibatch-weighted
  // sampling), through log-sum-exps; TensorFlow's gradients against tfjs's. Its step weighs the reconstruction's
  // elements apart from the ELBO's, so the Gaussian likelihood, whose elements are scaled by 1 / (2 std^2), has a
  // case of its own: with the Bernoulli's scale of 1 a weight that leaves the scale out is right by accident.
  for (const [name, spec, overrides] of [...objectiveCases, ['MLP, Gaussian', MLP, ['loss.reconstruction=mse']]] as const) {
    it(`${name}, β-TCVAE objective: the same loss terms and gradients, and after 6 Adam steps the same weights`, () => {
      const betaTc = { kind: 'beta_tc', mi: 1, tc: 6, dimKl: 1, datasetSize: 60_000 } as const;
      const graphTotals = assertTrainAlike(spec, [...overrides], betaTc, 1e-4);
      assert.ok(graphTotals[4][0] < graphTotals[0][0], `loss ${graphTotals[0][0]} -> ${graphTotals[4][0]}`);
    });
  }

  // IWAE: k draws per example through one log-sum-exp each. Its gradient weighs each draw by its normalised
  // importance weight, so float32 rounding moves with the weights' softmax: after 6 steps the weights are held to
  // 5e-4, half of one Adam step (measured: up to 3.5e-4 for the MLP).
  for (const [name, spec, overrides] of objectiveCases) {
    it(`${name}, IWAE objective with k = 5: the same loss terms and gradients, and after 6 Adam steps the same weights`, () => {
      const graphTotals = assertTrainAlike(spec, [...overrides], { kind: 'iwae', samples: 5 }, 5e-4);
      // The bound sits below the mean of the draws' ELBOs (Jensen), here taken with the analytic KL.
      for (const [loss, recon, kl] of graphTotals)
        assert.ok(loss < recon + kl, `the bound ${loss} is not below the mean ELBO ${recon + kl}`);
      assert.ok(graphTotals[4][0] < graphTotals[0][0], `loss ${graphTotals[0][0]} -> ${graphTotals[4][0]}`);
    });
  }
  it("MLP, IWAE objective with k = 1: the bound is the one draw's log p(x|z) + log p(z) - log q(z|x)", () => {
    const [vae] = twins(MLP, []);
    const graph = new GraphStep(vae, 1e-3, 'iwae');
    const x = BATCHES[0] as tf.Tensor2D;
    const eps = tf.randomNormal([x.shape[0], vae.latentDim], 0, 1, 'float32', 3) as tf.Tensor2D;
    const { totals, grads } = graph.lossAndGradients(x, eps, { kind: 'iwae', samples: 1 });
    const want = tf.tidy(() => {
      const { mu, logvar } = vae.encode(x);
      const z = mu.add(tf.exp(logvar.mul(0.5)).mul(eps));
      const logNormal = (t: tf.Tensor, logVariance: tf.Tensor | number) =>
        tf
          .sum(
            tf
              .square(t)
              .add(logVariance)
              .add(Math.log(2 * Math.PI)),
            1,
          )
          .mul(-0.5);
      const logPz = logNormal(z, 0);
      const logQz = logNormal(eps, logvar);
      return tf.sum(vae.perExampleTerms(x, eps).recon.sub(logPz).add(logQz)).dataSync()[0];
    });
    const got = totals.dataSync()[0];
    assert.ok(Math.abs(got - want) < 1e-5 * Math.abs(want), `${got} vs ${want}`);
    tf.dispose([eps, totals, ...grads]);
    graph.dispose();
  });

  // Learned priors: log p(z) is a log-sum-exp over K components, the VampPrior's through the encoder at its
  // pseudo-inputs; the KL is estimated from the sample. The prior's own parameters train with the rest. tfjs sums the
  // pairwise square term by term in float32 and the graph expands it in float64, so their gradients differ by
  // rounding (well inside 1e-4 of the largest entry); Adam moves a weight whose gradient is that small by the
  // learning rate whatever its size, so the weights after 6 steps are held to 1e-3, a sixth of the most any weight
  // can move in them (a gradient of the wrong sign would show as up to 1.2e-2).
  const PRIOR_ADAM_TOLERANCE = 1e-3;
  const priors = [
    ['VampPrior K = 20', ['model.prior=vamp', 'model.vamp.components=20']],
    ['mixture-of-Gaussians prior K = 5', ['model.prior=mog', 'model.mog.components=5']],
  ] as const;
  for (const [priorName, priorOverrides] of priors) {
    for (const [name, spec, overrides] of objectiveCases) {
      for (const objective of [BETA, { kind: 'iwae', samples: 5 } as const]) {
        it(`${name}, ${priorName}, ${objective.kind}: the same loss terms and gradients, and after 6 Adam steps the same weights`, () => {
          const graphTotals = assertTrainAlike(spec, [...overrides, ...priorOverrides], objective, PRIOR_ADAM_TOLERANCE);
          assert.ok(graphTotals[4][0] < graphTotals[0][0], `loss ${graphTotals[0][0]} -> ${graphTotals[4][0]}`);
        });
      }
    }
  }

  // Burda et al.'s two stochastic layers: q(z2|z1) reads the sampled z1, p(z1|z2) the sampled z2, and the KL is
  // estimated from both samples; the weights are held like the learned priors'.
  const twoLayers = [
    ...small('encoder', '[64]', 'tanh'),
    ...small('decoder', '[64]', 'tanh'),
    'model.latent_dim=8',
    'model.stochastic_layers=2',
    'model.top_layer.latent_dim=4',
    'model.top_layer.hidden=[16]',
  ];
  for (const objective of [BETA, { kind: 'iwae', samples: 5 } as const]) {
    it(`MLP, two stochastic layers, ${objective.kind}: the same loss terms and gradients, and after 6 Adam steps the same weights`, () => {
      const graphTotals = assertTrainAlike(MLP, twoLayers, objective, 5e-4);
      assert.ok(graphTotals[4][0] < graphTotals[0][0], `loss ${graphTotals[0][0]} -> ${graphTotals[4][0]}`);
    });
  }

  for (const spec of [MLP, CONV]) {
    it(`${spec}: Adam's state moves between the two through a checkpoint's encoding and training goes on identically`, async () => {
      const [a, b] = twins(spec, []);
      const graph = new GraphStep(a, 1e-3);
      trainSteps(graph, a, 3);
      b.trainableVariables.forEach((w, i) => w.assign(a.trainableVariables[i]));
      const { data, specs } = await graph.optimizerState();
      const saved = tf.io.decodeWeights(data, specs);
      const autodiff = new AutodiffStep(b, 1e-3);
      await autodiff.restoreOptimizerState(specs.map((s) => ({ name: s.name, tensor: saved[s.name] })));
      // And back: the autodiff step's own encoding restores into a fresh graph step.
      const reencoded = await autodiff.optimizerState();
      const again = tf.io.decodeWeights(reencoded.data, reencoded.specs);
      const graphAgain = new GraphStep(a, 1e-3);
      await graphAgain.restoreOptimizerState(reencoded.specs.map((s) => ({ name: s.name, tensor: again[s.name] })));
      tf.dispose([...Object.values(saved), ...Object.values(again)]);
      graph.dispose();
      const [continued, restored] = [trainSteps(graphAgain, a, 3), trainSteps(autodiff, b, 3)];
      assert.ok(relativeGap(continued, restored) < 1e-5, `${JSON.stringify(continued)} vs ${JSON.stringify(restored)}`);
      assert.ok(weightGap(a, b) < 1e-5);
      graphAgain.dispose();
      autodiff.dispose();
    });
  }

  // Colour images are channel-last, H x W x 3 values an image: the conv layers see 3 input channels and the decoder
  // writes 3, and every value has its own Bernoulli logit or Gaussian mean.
  const colour = { height: 16, width: 16, channels: 3 };
  const pictures = [20, 7].map((n, b) =>
    tf.tensor2d(
      Float32Array.from({ length: n * 768 }, (_, i) => 0.5 + 0.5 * Math.sin(0.37 * i + 1.3 * (i % 3) + b)),
      [n, 768],
    ),
  );
  for (const [name, spec, overrides] of [
    ['conv 8-16 on RGB, tanh, Bernoulli', CONV, [...small('encoder', '[8,16]', 'tanh'), ...small('decoder', '[16,8]', 'tanh')]],
    ['MLP on RGB, Gaussian', MLP, [...small('encoder', '[64]', 'elu'), ...small('decoder', '[64]', 'elu'), 'loss.reconstruction=mse']],
  ] as const) {
    it(`${name}: the same loss terms and gradients on 16 x 16 colour pictures`, () => {
      const [vae] = twins(spec, [...overrides], colour);
      assert.equal(vae.decoder.outputs[0].shape[1], 768);
      assertSameLossAndGradients(vae, pictures);
    });
  }

  it('the trainer picks the graph step on tfjs-node for MLP and conv models alike', () => {
    for (const spec of [MLP, CONV]) {
      const step = createTrainingStep(twins(spec, [])[0], 1e-3, 'auto');
      assert.ok(step instanceof GraphStep, `${spec}: ${step.description}`);
      step.dispose();
    }
  });
});
