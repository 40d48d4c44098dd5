// One measurement in its own process, so backends never share TensorFlow.js state: bench/bench.ts spawns this and
// reads the one JSON line it prints. It trains through vae-lab's own code (spec -> data -> buildVae -> train), the
// fixed step count coming from data.limit = steps x batch size on an all-train split.
//
//   tsx bench/worker.ts --backend tensorflow --spec experiments/vae-mnist.yaml --steps 200 [--warmup 10]
//   tsx bench/worker.ts --backend tensorflow --spec experiments/vae-mnist.yaml --epoch
//   tsx bench/worker.ts --backend tensorflow --spec experiments/vae-mnist-conv.yaml --epochs 10   (the spec's own split)
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { BackendName } from '../src/backend-names.ts';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { imageShape } from '../src/data/images.ts';
import { splitDataset, type Split } from '../src/data/split.ts';
import { buildVae, type Vae } from '../src/model/vae.ts';
import { loadSpec, type ResolvedSpec } from '../src/experiment-spec/load.ts';
import { TrackerFanout } from '../src/tracking/tracker.ts';
import { evaluateElbo } from '../src/eval/evaluate.ts';
import type { ProgressReporter } from '../src/train/progress.ts';
import { train } from '../src/train/trainer.ts';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'tensorflow' },
    spec: { type: 'string', default: 'experiments/vae-mnist.yaml' },
    steps: { type: 'string', default: '0' },
    warmup: { type: 'string', default: '10' },
    epoch: { type: 'boolean', default: false },
    epochs: { type: 'string', default: '0' },
  },
});

// A fan-out to no tracker: records nothing, and keeps up with every method the Tracker interface grows.
const silentTracker = new TrackerFanout([]);
const silentProgress: ProgressReporter = { startEpoch: () => {}, update: () => {}, endEpoch: () => {} };

// RSS sampled every 10 ms (the trainer yields to the event loop each step, so the timer runs during training).
let peakRss = process.memoryUsage().rss;
setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 10).unref();

// Every split trains on all it is given: val 0, so train() does no validation pass.
const spec = loadSpec(args.spec!, ['data.split.train=1', 'data.split.val=0', 'train.epochs=1']).spec;
// As `vae run` picks it: the kernels for the spec's architecture.
const backend = await selectBackend(args.backend as BackendName, spec.model.architecture);
const dataset = loadDataset(spec.data, '.');
const vae = buildVae(spec, imageShape(dataset.train));
const batch = spec.train.batch_size;
const limited = (steps: number): Split =>
  splitDataset(dataset.train, dataset.test, { seed: spec.seed, train: 1, val: 0, limit: steps * batch });

const result: Record<string, unknown> = {
  impl: 'vae-lab',
  backend: backend.name,
  tensorflow: backend.tensorflowVersion,
  kernels: backend.kernels,
  arch: spec.model.architecture,
  batch_size: batch,
  threads: { intra: process.env.TF_NUM_INTRAOP_THREADS ?? 'default', inter: process.env.TF_NUM_INTEROP_THREADS ?? 'default' },
};
const steps = Number(args.steps);
// Steps are timed within one epoch; more would be timed as fewer, and reported as faster than they are.
const fullBatches = Math.floor(dataset.train.count / batch);
if (steps > fullBatches)
  throw new Error(`--steps ${steps}: one epoch of ${dataset.train.count} images holds ${fullBatches} batches of ${batch}`);
if (steps > 0) {
  // Warm-up: kernel selection, the first allocations and JIT tiers, none of which a long run pays per step.
  await trainOnce(vae, spec, limited(Number(args.warmup)));
  const tensorsBefore = tf.memory().numTensors;
  const cpuBefore = process.cpuUsage();
  const timed = await trainOnce(vae, spec, limited(steps));
  const cpu = process.cpuUsage(cpuBefore);
  Object.assign(result, {
    steps,
    ms_per_step: (1000 * timed.trainSeconds) / steps,
    // CPU time of all the process's threads: the work a step costs, which other load on the machine inflates less.
    cpu_ms_per_step: (cpu.user + cpu.system) / 1000 / steps,
    examples_per_s: (steps * batch) / timed.trainSeconds,
    tensors_leaked: tf.memory().numTensors - tensorsBefore,
  });
}
if (args.epoch) {
  const full = splitDataset(dataset.train, dataset.test, { seed: spec.seed, train: 1, val: 0, limit: 0 });
  const epoch = await trainOnce(vae, spec, full);
  // As src/eval/test-metrics.ts scores a run: the plain ELBO (beta = 1), one reparameterised sample per test image.
  const test = await evaluateElbo(vae, full.test, { batchSize: batch, binarize: spec.data.binarize, seed: `${spec.seed}:test` });
  Object.assign(result, { train_loss: epoch.last['train/loss'], test_loss: test.loss, epoch_seconds: epoch.trainSeconds });
}
const epochs = Number(args.epochs);
if (epochs > 0) {
  // The spec as written (its own train/val split), for `epochs` epochs, then the test loss as a run reports it.
  const own = loadSpec(args.spec!, [`train.epochs=${epochs}`]).spec;
  const model = buildVae(own, imageShape(dataset.train));
  const split = splitDataset(dataset.train, dataset.test, { seed: own.seed, ...own.data.split, limit: own.data.limit });
  const trained = await trainOnce(model, own, split, epochs);
  const test = await evaluateElbo(model, split.test, { batchSize: batch, binarize: own.data.binarize, seed: `${own.seed}:test` });
  Object.assign(result, {
    epochs,
    train_images: split.train.count,
    train_loss: trained.last['train/loss'],
    test_loss: test.loss,
    train_seconds: trained.trainSeconds,
  });
  model.dispose();
}
const memory = tf.memory();
Object.assign(result, {
  peak_rss_mb: peakRss / 2 ** 20,
  tf_memory_mb: memory.numBytes / 2 ** 20,
  tf_tensors: memory.numTensors,
  load_avg: loadavg()[0],
});
process.stdout.write(JSON.stringify(result) + '\n');
vae.dispose();

function trainOnce(model: Vae, s: ResolvedSpec, data: Split, epochs = 1) {
  return train(
    model,
    data,
    { ...s, train: { ...s.train, epochs } },
    { tracker: silentTracker, progress: silentProgress, shouldStop: () => false },
  );
}
