// TensorFlow's step stats for vae-lab's graph training step, op by op: where a step's time goes.
//
//   npx tsx bench/profile-step.ts [--spec experiments/vae-mnist.yaml] [--steps 50] [--top 15] [--json]
//
// Builds the spec's model and its graph step, runs it on real MNIST batches of the spec's size in a session made
// through TensorFlow's C API with FULL_TRACE (tfjs-node's own session takes no RunOptions), and prints, over the
// traced steps: the step's span on the executor's clock, the summed kernel time per op type (after Grappler's
// rewrites, so fused ops show as such), and the slowest nodes. Kernel times on two threads overlap, so their sum
// can exceed the span; tracing itself adds a little to every kernel. With --json it prints instead the kernel library
// the backend picked for the spec, its backend line and the op types TensorFlow ran (test/kernel-library.test.ts).
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { imageShape } from '../src/data/images.ts';
import { buildVae } from '../src/model/vae.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { loadProfiledSession, type ProfiledSession } from '../src/tfjs-bridge/profiled-session.ts';
import { printKernelReport } from './kernel-report.ts';
import { GraphStep } from '../src/train/graph-step.ts';

const { values: args } = parseArgs({
  options: {
    spec: { type: 'string', default: 'experiments/vae-mnist.yaml' },
    steps: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '10' },
    top: { type: 'string', default: '15' },
    json: { type: 'boolean', default: false },
  },
});
const spec = loadSpec(args.spec!).spec;
const backend = await selectBackend('tensorflow', spec.model.architecture);
const data = loadDataset(spec.data, '.');
const vae = buildVae(spec, imageShape(data.train));
let session: ProfiledSession | undefined;
const step = new GraphStep(vae, spec.train.optimizer.learning_rate, 'elbo', (graphDef) => (session = loadProfiledSession(graphDef)));
const n = spec.train.batch_size;
const pixels = data.train.height * data.train.width;
const batch = (i: number) =>
  tf.tensor2d(
    Float32Array.from(data.train.pixels.subarray(i * n * pixels, (i + 1) * n * pixels), (p) => p / 255),
    [n, pixels],
  );

const [warmup, steps] = [Number(args.warmup), Number(args.steps)];
for (let i = 0; i < warmup + steps; i++) {
  session!.tracing = i >= warmup;
  const x = batch(i);
  const eps = tf.randomNormal([n, vae.noiseDim], 0, 1, 'float32', i) as tf.Tensor2D;
  tf.dispose([step.run(x, eps, { kind: 'elbo', beta: 1 }), x, eps]);
}
if (args.json) {
  const ops = [...new Set(session!.traces.flat().map((k) => k.op))].sort();
  console.log(JSON.stringify({ kernels: backend.kernels, reason: backend.reason, ops }));
} else printKernelReport(session!.traces, { unit: 'step', headline: `${args.spec}, batch ${n}`, top: Number(args.top), decimals: 3 });
step.dispose();
