// With TensorFlow's default kernels (oneDNN, as every run uses them), the graph step and tfjs autodiff train the
// same model from the same seed to the same losses: the trainer draws the noise, so both steps get the same
// reparameterisation noise, and only float32 rounding separates them (see graph-step.test.ts for why conv ReLU
// models separate a little more than smooth ones).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { splitDataset } from '../src/data/split.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { buildVae } from '../src/model/vae.ts';
import type { MetricPoint } from '../src/record/entries.ts';
import { TrackerFanout } from '../src/tracking/tracker.ts';
import { train, type TrainingStepChoice } from '../src/train/trainer.ts';

const mnist = loadDataset(loadSpec('experiments/vae-mnist.yaml').spec.data, '.');

before(async () => {
  assert.equal((await selectBackend('tensorflow')).name, 'tensorflow', 'tfjs-node must load (npm ci builds it)');
});

/** Two epochs on 192 digits (64 held out), every metric logged at an epoch's end, and the step's description. */
async function twoEpochs(spec: string, overrides: string[], trainingStep: TrainingStepChoice) {
  const resolved = loadSpec(spec, ['data.limit=256', 'data.split.train=0.75', 'data.split.val=0.25', ...overrides]).spec;
  const data = splitDataset(mnist.train, mnist.test, { seed: resolved.seed, ...resolved.data.split, limit: resolved.data.limit });
  const vae = buildVae(resolved, { height: 28, width: 28, channels: 1 });
  const metrics: Record<string, number> = {};
  let description = '';
  // A fan-out to no tracker records nothing; only the metrics are kept.
  const tracker = Object.assign(new TrackerFanout([]), {
    logMetrics: async (points: MetricPoint[]) => void points.forEach((p) => (metrics[`${p.key}@${p.step}`] = p.value)),
  });
  const settings = {
    ...resolved,
    train: { ...resolved.train, epochs: 2, batch_size: 64 },
    tracking: { ...resolved.tracking, log_every_steps: 1000 },
  };
  await train(vae, data, settings, {
    tracker,
    progress: { startEpoch: () => {}, update: () => {}, endEpoch: () => {} },
    shouldStop: () => false,
    trainingStep,
    onStepChosen: async (d) => void (description = d),
  });
  vae.dispose();
  return { description, metrics };
}

describe('graph step and autodiff train alike with the default kernels', () => {
  const cases: [string, string, string[], number][] = [
    ['MLP 784-400-20', 'experiments/vae-mnist.yaml', [], 1e-4],
    ['conv, tanh', 'experiments/vae-mnist-conv.yaml', ['model.encoder.activation=tanh', 'model.decoder.activation=tanh'], 1e-4],
    ['conv 32-64, ReLU', 'experiments/vae-mnist-conv.yaml', [], 1e-3],
  ];
  for (const [name, spec, overrides, tolerance] of cases) {
    it(`${name}: the same losses after two epochs from one seed`, async () => {
      const [graph, autodiff] = [await twoEpochs(spec, overrides, 'auto'), await twoEpochs(spec, overrides, 'autodiff')];
      assert.match(graph.description, /TensorFlow graph/);
      assert.match(autodiff.description, /autodiff/);
      for (const key of ['train/loss@1', 'train/loss@2', 'train/kl@2', 'val/loss@2']) {
        const [g, a] = [graph.metrics[key], autodiff.metrics[key]];
        assert.ok(Number.isFinite(g) && Math.abs(g - a) <= tolerance * Math.abs(a), `${key}: graph ${g}, autodiff ${a}`);
      }
    });
  }
});
