import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { batchRanges, batchTensor, type Binarization } from '../data/batches.ts';
import { pixelsPerImage } from '../data/images.ts';
import { seededPermutation, type Split } from '../data/split.ts';
import type { Vae } from '../model/vae.ts';
import type { MetricPoint, Tracker } from '../tracking/tracker.ts';
import { evaluateElbo } from './evaluate.ts';
import { AutodiffStep } from './autodiff-step.ts';
import { GraphStep } from './graph-step.ts';
import type { ProgressReporter } from './progress.ts';
import type { TrainingStep } from './training-step.ts';
import { RuntimeFailure } from '../errors.ts';

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
  /** Called last at every epoch's end with the training step (which holds Adam's state), to save a checkpoint. */
  onCheckpoint?: (state: TrainingState, step: TrainingStep) => Promise<void>;
  /** Go on from a checkpoint: training starts with epoch `state.epoch + 1`. */
  resume?: { state: TrainingState; restoreOptimizer: (step: TrainingStep) => Promise<void> };
  /** 'autodiff' forces tfjs's autodiff step, e.g. to compare it with the graph step; default 'auto'. */
  trainingStep?: TrainingStepChoice;
  /** Told which step implementation trains (see createTrainingStep). */
  onStepChosen?: (description: string) => Promise<void>;
}

export type TrainingStepChoice = 'auto' | 'autodiff';

/** Where training stands; with the weights and Adam's state, all a resume needs. */
export interface TrainingState {
  /** The last completed epoch. */
  epoch: number;
  /** That epoch's metrics. */
  last: Record<string, number>;
  trainSeconds: number;
  /** Set when a signal stopped training inside epoch `epoch + 1`: how far it got, so a resume goes on from there. */
  partial?: PartialEpoch;
}

/** An epoch stopped between two steps: its finished steps, running sums and the states of its random streams. */
export interface PartialEpoch {
  steps: number;
  /** Running sums of loss, recon and KL, each times the batch size, as the device held them. */
  sums: number[];
  seen: number;
  binarizeRng: seedrandom.State.Arc4;
  noiseRng: seedrandom.State.Arc4;
  seconds: number;
}

/** The training loss became NaN or infinite: training stops, the last good checkpoint stays. */
export class TrainingDivergedError extends RuntimeFailure {
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

function divergenceMessage(vae: Vae, options: TrainOptions, epoch: number, step: number, loss: number): string {
  const lr = options.learningRate;
  let cause = `the learning rate is probably too high: train.optimizer.learning_rate is ${lr}; try ${Number((lr / 10).toPrecision(6))}`;
  if (vae.likelihood.kind === 'gaussian') {
    cause += `; with loss.reconstruction: mse also check that the data is in [0, 1] and that loss.gaussian_std (${vae.likelihood.std}) is not too small`;
  }
  const kept = epoch > 1 ? `its record and the checkpoint of epoch ${epoch - 1} are kept` : 'its record is kept (no epoch completed, so no checkpoint)';
  return `training diverged: the training loss is ${loss} at epoch ${epoch}, step ${step}; ${cause}. The run is FAILED; ${kept}.`;
}

/**
 * Adam on the negative ELBO; every epoch logs train/, val/ and perf/ metrics with step = epoch.
 *
 * Resuming at an epoch boundary needs only the epoch number besides the weights and Adam's state, because every
 * random stream is derived afresh from the seed (a stop inside an epoch also saves its two per-epoch streams' states): the split (`split`, in splitDataset), the shuffling
 * (`epoch-<epoch>`), dynamic binarisation (`<seed>:binarize:<epoch>`), the reparameterisation noise
 * (`<seed>:noise:<epoch>`), and validation (`<seed>:val`, the same stream at every epoch); the pictures drawn at an
 * epoch's end use their own seeds too. Nothing draws from TensorFlow.js's global random state.
 */
export async function train(vae: Vae, data: Split, options: TrainOptions, tracker: Tracker, progress: ProgressReporter): Promise<TrainResult> {
  const trainingStep = createTrainingStep(vae, options.learningRate, options.trainingStep ?? 'auto');
  const size = pixelsPerImage(data.train);
  const buffer = new Float32Array(options.batchSize * size);
  const stepsPerEpoch = Math.ceil(data.train.count / options.batchSize);
  let last: Record<string, number> = options.resume?.state.last ?? {};
  let trainSeconds = options.resume?.state.trainSeconds ?? 0;
  const firstEpoch = (options.resume?.state.epoch ?? 0) + 1;
  try {
    await options.onStepChosen?.(trainingStep.description);
    if (options.resume) await options.resume.restoreOptimizer(trainingStep);
    for (let epoch = firstEpoch; epoch <= options.epochs; epoch++) {
      const order = seededPermutation(data.train.count, options.seed, `epoch-${epoch}`);
      const partial = epoch === firstEpoch ? options.resume?.state.partial : undefined;
      // With `state: true` a stream can report its state, so a stop inside the epoch can be resumed exactly.
      const stream = (name: string, saved?: seedrandom.State.Arc4) => seedrandom(saved ? '' : `${options.seed}:${name}:${epoch}`, { state: saved ?? true });
      const binarizeRng = stream('binarize', partial?.binarizeRng);
      const noiseRng = stream('noise', partial?.noiseRng);
      let sums = partial ? tf.tensor1d(partial.sums) : tf.zeros([3]);
      let seen = partial?.seen ?? 0;
      const started = performance.now() - (partial?.seconds ?? 0) * 1000;
      let lastReadLoss = Number.NaN;
      progress.startEpoch(epoch, options.epochs, stepsPerEpoch);
      for (const [i, indices] of [...batchRanges(order, options.batchSize)].entries()) {
        if (i < (partial?.steps ?? 0)) continue;
        // Let signal handlers and I/O run: awaiting tensor data alone resolves as a microtask and never yields.
        await new Promise((resolve) => setImmediate(resolve));
        if (options.shouldStop()) {
          trainingStep.syncModel();
          const stoppedAt: PartialEpoch = {
            steps: i, sums: Array.from(await sums.data()), seen, binarizeRng: binarizeRng.state(), noiseRng: noiseRng.state(),
            seconds: (performance.now() - started) / 1000,
          };
          sums.dispose();
          await options.onCheckpoint?.({ epoch: epoch - 1, last, trainSeconds, partial: stoppedAt }, trainingStep);
          return { epochsCompleted: epoch - 1, stopped: true, trainSeconds, last };
        }
        const beta = klWeightAt(epoch - 1 + i / stepsPerEpoch, options);
        const n = indices.length;
        const x = batchTensor(data.train, indices, buffer, options.binarize, binarizeRng);
        const eps = tf.randomNormal([n, vae.latentDim], 0, 1, 'float32', noiseRng.int32()) as tf.Tensor2D;
        const batchTotals = trainingStep.run(x, eps, beta);
        const next = sums.add(batchTotals);
        tf.dispose([sums, x, eps, batchTotals]);
        sums = next;
        seen += n;
        const step = (epoch - 1) * stepsPerEpoch + i + 1;
        const examplesPerSecond = seen / ((performance.now() - started) / 1000);
        if ((i + 1) % options.logEverySteps === 0 || i + 1 === stepsPerEpoch) {
          // Reading the loss forces the device to synchronise, so only here; the bar moves at every step.
          [lastReadLoss] = (await sums.data()).map((v) => v / seen);
          if (!Number.isFinite(lastReadLoss)) {
            sums.dispose();
            throw new TrainingDivergedError(divergenceMessage(vae, options, epoch, step, lastReadLoss));
          }
          await tracker.logMetrics([{ key: 'train/running_loss', value: lastReadLoss, step, timestamp: Date.now() }]);
        }
        progress.update(i + 1, { loss: lastReadLoss, examplesPerSecond });
      }
      trainingStep.syncModel();
      const [loss, recon, kl] = (await sums.data()).map((v) => v / seen);
      sums.dispose();
      if (!Number.isFinite(loss)) throw new TrainingDivergedError(divergenceMessage(vae, options, epoch, epoch * stepsPerEpoch, loss));
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
      await options.onCheckpoint?.({ epoch, last, trainSeconds }, trainingStep);
    }
    return { epochsCompleted: options.epochs, stopped: false, trainSeconds, last };
  } finally {
    trainingStep.dispose();
  }
}

/**
 * The fastest step this model and backend allow: on tfjs-node one TensorFlow graph per step (graph-step.ts);
 * elsewhere, or when that graph cannot be built, tfjs's autodiff and tf.train.adam, with the reason in its description.
 */
export function createTrainingStep(vae: Vae, learningRate: number, choice: TrainingStepChoice): TrainingStep {
  if (choice === 'autodiff' || tf.getBackend() !== 'tensorflow') return new AutodiffStep(vae, learningRate);
  try {
    return new GraphStep(vae, learningRate);
  } catch (e) {
    return new AutodiffStep(vae, learningRate, `the native graph step is unavailable: ${(e as Error).message.split('\n')[0]}`);
  }
}
