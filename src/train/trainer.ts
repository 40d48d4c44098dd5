import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { batchRanges, fillBatch, type Binarization } from '../data/batches.ts';
import { pixelsPerImage } from '../data/images.ts';
import { seededPermutation, type Split } from '../data/split.ts';
import type { Vae } from '../model/vae.ts';
import type { MetricPoint, Tracker } from '../tracking/tracker.ts';
import { evaluateElbo } from './evaluate.ts';
import type { ProgressReporter } from './progress.ts';

export interface TrainOptions {
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  klWeight: number;
  klWarmupEpochs: number;
  binarize: Binarization;
  /** Read the loss back and log the per-step curve this often; reading forces the device to synchronise. */
  logEverySteps: number;
  /** Polled between steps: a signal asks the run to stop cleanly. */
  shouldStop: () => boolean;
  /** Called after each epoch's metrics are logged, e.g. to draw pictures of the model so far. */
  onEpochEnd?: (epoch: number, lastEpoch: boolean) => Promise<void>;
}

export interface TrainResult {
  epochsCompleted: number;
  stopped: boolean;
  trainSeconds: number;
  /** Metrics of the last completed epoch. */
  last: Record<string, number>;
}

/** beta for the current point of training: ramps linearly from 0 to klWeight over the warm-up epochs. */
export function klWeightAt(progressEpochs: number, options: Pick<TrainOptions, 'klWeight' | 'klWarmupEpochs'>): number {
  if (options.klWarmupEpochs <= 0) return options.klWeight;
  return options.klWeight * Math.min(1, progressEpochs / options.klWarmupEpochs);
}

/** Adam on the negative ELBO; every epoch logs train/, val/ and perf/ metrics with step = epoch. */
export async function train(vae: Vae, data: Split, options: TrainOptions, tracker: Tracker, progress: ProgressReporter): Promise<TrainResult> {
  const optimizer = tf.train.adam(options.learningRate);
  const size = pixelsPerImage(data.train);
  const buffer = new Float32Array(options.batchSize * size);
  const stepsPerEpoch = Math.ceil(data.train.count / options.batchSize);
  let last: Record<string, number> = {};
  let trainSeconds = 0;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const order = seededPermutation(data.train.count, options.seed, `epoch-${epoch}`);
      const binarizeRng = seedrandom(`${options.seed}:binarize:${epoch}`);
      const noiseRng = seedrandom(`${options.seed}:noise:${epoch}`);
      let sums = tf.zeros([3]);
      let seen = 0;
      const started = performance.now();
      progress.startEpoch(epoch, options.epochs, stepsPerEpoch);
      for (const [i, indices] of [...batchRanges(order, options.batchSize)].entries()) {
        // Let signal handlers and I/O run: awaiting tensor data alone resolves as a microtask and never yields.
        await new Promise((resolve) => setImmediate(resolve));
        if (options.shouldStop()) {
          sums.dispose();
          return { epochsCompleted: epoch - 1, stopped: true, trainSeconds, last };
        }
        const beta = klWeightAt(epoch - 1 + i / stepsPerEpoch, options);
        const n = indices.length;
        const x = tf.tensor2d(fillBatch(data.train, indices, buffer, options.binarize, binarizeRng), [n, size]);
        const eps = tf.randomNormal([n, vae.latentDim], 0, 1, 'float32', noiseRng.int32()) as tf.Tensor2D;
        let batchTerms: tf.Tensor1D | undefined;
        const cost = optimizer.minimize(() => {
          const terms = vae.negativeElbo(x, eps, beta);
          batchTerms = tf.keep(tf.stack([terms.loss, terms.recon, terms.kl]) as tf.Tensor1D);
          return terms.loss;
        }, true)!;
        const next = tf.tidy(() => sums.add(batchTerms!.mul(n)));
        tf.dispose([sums, x, eps, cost, batchTerms!]);
        sums = next;
        seen += n;
        const step = (epoch - 1) * stepsPerEpoch + i + 1;
        if ((i + 1) % options.logEverySteps === 0 || i + 1 === stepsPerEpoch) {
          const [loss] = (await sums.data()).map((v) => v / seen);
          const examplesPerSecond = seen / ((performance.now() - started) / 1000);
          progress.update(i + 1, { loss, examplesPerSecond });
          await tracker.logMetrics([{ key: 'train/running_loss', value: loss, step, timestamp: Date.now() }]);
        }
      }
      const [loss, recon, kl] = (await sums.data()).map((v) => v / seen);
      sums.dispose();
      const epochSeconds = (performance.now() - started) / 1000;
      trainSeconds += epochSeconds;
      const beta = klWeightAt(epoch, options);
      last = {
        'train/loss': loss,
        'train/recon': recon,
        'train/kl': kl,
        'train/kl_weight': beta,
        'perf/examples_per_s': seen / epochSeconds,
        'perf/epoch_seconds': epochSeconds,
      };
      if (data.val.count > 0) {
        const val = await evaluateElbo(vae, data.val, { batchSize: options.batchSize, binarize: options.binarize, beta, seed: `${options.seed}:val` });
        Object.assign(last, { 'val/loss': val.loss, 'val/recon': val.recon, 'val/kl': val.kl });
      }
      const timestamp = Date.now();
      await tracker.logMetrics(Object.entries(last).map(([key, value]): MetricPoint => ({ key, value, step: epoch, timestamp })));
      progress.endEpoch(epoch, last);
      await options.onEpochEnd?.(epoch, epoch === options.epochs);
    }
    return { epochsCompleted: options.epochs, stopped: false, trainSeconds, last };
  } finally {
    optimizer.dispose();
  }
}
