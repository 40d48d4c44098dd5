// Run in a child process by test/kernel-library.test.ts, since TensorFlow picks its CPU kernels once per process:
// selects the tensorflow backend for the spec's architecture, as `vae run` does, traces two graph steps of the spec's
// model on real digits, and prints the kernel library the backend reports and the op types TensorFlow ran.
//   node --import tsx test/support/traced-kernels.ts <spec>
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend.ts';
import { loadDataset } from '../../src/data/datasets.ts';
import { imageShape } from '../../src/data/images.ts';
import { loadSpec } from '../../src/experiment-spec/load.ts';
import { buildVae } from '../../src/model/vae.ts';
import { loadProfiledSession, type ProfiledSession } from '../../src/tfjs-bridge/profiled-session.ts';
import { GraphStep } from '../../src/train/graph-step.ts';

const spec = loadSpec(process.argv[2]).spec;
const backend = await selectBackend('tensorflow', spec.model.architecture);
const data = loadDataset(spec.data, '.');
const vae = buildVae(spec, imageShape(data.train));
let session: ProfiledSession | undefined;
const step = new GraphStep(vae, spec.train.optimizer.learning_rate, 'elbo', (graphDef) => (session = loadProfiledSession(graphDef)));
session!.tracing = true;
const x = tf.tensor2d(
  Float32Array.from(data.test.pixels.subarray(0, 16 * 784), (p) => p / 255),
  [16, 784],
);
for (let i = 0; i < 2; i++)
  tf.tidy(() => step.run(x, tf.randomNormal([16, vae.noiseDim], 0, 1, 'float32', i) as tf.Tensor2D, { kind: 'elbo', beta: 1 }));
step.dispose();
const ops = [...new Set(session!.traces.flat().map((k) => k.op))].sort();
console.log(JSON.stringify({ kernels: backend.kernels, reason: backend.reason, ops }));
