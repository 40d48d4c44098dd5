// TensorFlow's step stats for vae-lab's graph training step, op by op: where a step's time goes.
//
//   npx tsx bench/profile-step.ts [--spec experiments/vae-mnist.yaml] [--steps 50] [--top 15]
//
// Builds the spec's model and its graph step, runs it on real MNIST batches of the spec's size in a session made
// through TensorFlow's C API with FULL_TRACE (tfjs-node's own session takes no RunOptions), and prints, over the
// traced steps: the step's span on the executor's clock, the summed kernel time per op type (after Grappler's
// rewrites, so fused ops show as such), and the slowest nodes. Kernel times on two threads overlap, so their sum
// can exceed the span; tracing itself adds a little to every kernel.
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { imageShape } from '../src/data/images.ts';
import { buildVae } from '../src/model/vae.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { loadProfiledSession, type KernelStat, type ProfiledSession } from '../src/tfjs-bridge/profiled-session.ts';
import { GraphStep } from '../src/train/graph-step.ts';

const { values: args } = parseArgs({
  options: {
    spec: { type: 'string', default: 'experiments/vae-mnist.yaml' },
    steps: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '10' },
    top: { type: 'string', default: '15' },
  },
});
await selectBackend('tensorflow');
const spec = loadSpec(args.spec!).spec;
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
  const eps = tf.randomNormal([n, vae.latentDim], 0, 1, 'float32', i) as tf.Tensor2D;
  tf.dispose([step.run(x, eps, { kind: 'elbo', beta: 1 }), x, eps]);
}
const traces = session!.traces;
const span = (t: KernelStat[]) => Math.max(...t.map((k) => k.startMicros + k.micros));
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

const byOp = new Map<string, { count: number; micros: number }>();
const byNode = new Map<string, { op: string; micros: number }>();
for (const trace of traces) {
  for (const k of trace) {
    const op = byOp.get(k.op) ?? { count: 0, micros: 0 };
    op.count += 1;
    op.micros += k.micros;
    byOp.set(k.op, op);
    const node = byNode.get(k.node) ?? { op: k.op, micros: 0 };
    node.micros += k.micros;
    byNode.set(k.node, node);
  }
}
const kernelMicros = mean(traces.map((t) => t.reduce((a, k) => a + k.micros, 0)));
console.log(
  `${args.spec}: ${traces.length} traced steps of batch ${n}; per step: span ${(mean(traces.map(span)) / 1000).toFixed(2)} ms, ` +
    `${mean(traces.map((t) => t.length)).toFixed(0)} kernels, kernel time ${(kernelMicros / 1000).toFixed(2)} ms (both threads)`,
);
console.log('\nop type                        kernels/step   ms/step   share');
for (const [op, { count, micros }] of [...byOp].sort((a, b) => b[1].micros - a[1].micros)) {
  const perStep = micros / traces.length;
  console.log(
    `${op.padEnd(30)} ${(count / traces.length).toFixed(0).padStart(12)} ${(perStep / 1000).toFixed(3).padStart(9)} ${((100 * perStep) / kernelMicros).toFixed(1).padStart(6)}%`,
  );
}
console.log(`\nslowest ${args.top} nodes                                   op                          ms/step`);
for (const [node, { op, micros }] of [...byNode].sort((a, b) => b[1].micros - a[1].micros).slice(0, Number(args.top))) {
  console.log(`${node.slice(0, 52).padEnd(52)} ${op.padEnd(27)} ${(micros / traces.length / 1000).toFixed(3)}`);
}
step.dispose();
