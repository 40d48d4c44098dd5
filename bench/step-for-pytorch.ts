// One spec's training step as vae-lab's graph step takes it, written out for bench/check_step_against_pytorch.py to
// replay in PyTorch: the model's initial weights, 6 batches of real MNIST test digits (each binarized by a seeded
// Bernoulli draw), the noise of each step, step 0's loss terms and gradients, the loss of each of 6 Adam steps and
// the weights after them.
//
//   npx tsx bench/step-for-pytorch.ts <spec.yaml> <out.json>
//
// For MLP specs with the standard prior, trained with the ELBO at KL weight 1 or with IWAE: the objectives that
// bench/pytorch_objectives.py's batch_loss computes from given noise.
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { imageShape } from '../src/data/images.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { seededNormal } from '../src/model/noise.ts';
import { objectiveAt, samplesPerExample } from '../src/model/objective.ts';
import { buildVae } from '../src/model/vae.ts';
import { GraphStep } from '../src/train/graph-step.ts';

const STEPS = 6;
const [specPath, out] = process.argv.slice(2);
if (!specPath || !out) throw new Error('usage: npx tsx bench/step-for-pytorch.ts <spec.yaml> <out.json>');
await selectBackend('tensorflow');
const { spec } = loadSpec(specPath);
const objective = objectiveAt(spec.loss, 0, 0, 1);
if (
  spec.model.architecture !== 'mlp' ||
  spec.model.prior !== 'standard' ||
  !(objective.kind === 'iwae' || (objective.kind === 'elbo' && objective.beta === 1))
) {
  throw new Error(`${specPath}: the replay covers MLP models with the standard prior, trained with the ELBO at KL weight 1 or with IWAE`);
}
const test = loadDataset(spec.data, dirname(specPath)).test;
const vae = buildVae(spec, imageShape(test));
const values = (t: tf.Tensor) => Array.from(t.dataSync());
const init = vae.trainableVariables.map((v) => ({ name: v.name, shape: v.shape, values: values(v) }));
const graph = new GraphStep(vae, spec.train.optimizer.learning_rate, objective.kind);
const batch = spec.train.batch_size;
const k = samplesPerExample(objective);
const pixels = test.pixels.length / test.count;
const steps = [];
let step0;
for (let s = 0; s < STEPS; s++) {
  const grey = tf.tensor2d(
    Float32Array.from(test.pixels.subarray(s * batch * pixels, (s + 1) * batch * pixels), (p) => p / 255),
    [batch, pixels],
  );
  const x = tf.cast(tf.less(tf.randomUniform([batch, pixels], 0, 1, 'float32', 100 + s), grey), 'float32') as tf.Tensor2D;
  const eps = seededNormal(batch * k, vae.noiseDim, 200 + s);
  if (s === 0) {
    const { totals, grads } = graph.lossAndGradients(x, eps, objective);
    step0 = { totals: values(totals).map((t) => t / batch), grads: grads.map(values) };
  }
  const loss = values(graph.run(x, eps, objective))[0] / batch;
  steps.push({ x: values(x), eps: values(eps), loss });
}
graph.syncModel();
const after = vae.trainableVariables.map(values);
writeFileSync(
  out,
  JSON.stringify({ spec: specPath, objective: objective.kind, k, lr: spec.train.optimizer.learning_rate, init, steps, step0, after }),
);
