import { klPartValue, objectiveAt, objectiveMetrics, objectiveTerms, samplesPerExample, type Objective } from '../model/objective.ts';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { batchRanges, batchTensor } from '../data/batches.ts';
import { pixelsPerImage } from '../data/images.ts';
import { seededPermutation, type Split } from '../data/split.ts';
import type { Vae } from '../model/vae.ts';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import type { MetricPoint } from '../record/entries.ts';
import type { Tracker } from '../tracking/tracker.ts';
import { evaluateElbo } from '../eval/evaluate.ts';
import { importanceWeightedNll } from '../eval/iwae.ts';
import { AutodiffStep } from './autodiff-step.ts';
import { GraphStep } from './graph-step.ts';
import type { ProgressReporter } from './progress.ts';
import type { TrainingStep } from './training-step.ts';
import { RuntimeFailure } from '../errors.ts';
import { seededNormal } from '../model/noise.ts';

/**
 * What training reads from the spec: the schema's own sections, as the spec holds them (the project's one convention
 * for configuration: a function takes the spec sections it reads, and run-time context separately, as hooks).
 */
export type TrainSpec = Pick<ResolvedSpec, 'seed' | 'train' | 'loss' | 'tracking' | 'eval'> & {
  data: Pick<ResolvedSpec['data'], 'binarize'>;
};

/** What the run around training provides: where metrics go, and what to do at an epoch's end or on a signal. */
export interface TrainHooks {
  tracker: Tracker;
  progress: ProgressReporter;
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
  /** Running sums of loss, recon, KL and the objective's own terms, each times the batch size. */
  sums: number[];
  seen: number;
  binarizeRng: seedrandom.State.Arc4;
  noiseRng: seedrandom.State.Arc4;
  seconds: number;
}

/** The training loss became NaN or infinite: training stops, the last good checkpoint stays. */
export class TrainingDivergedError extends RuntimeFailure {}

export interface TrainResult {
  epochsCompleted: number;
  stopped: boolean;
  trainSeconds: number;
  /** Metrics of the last completed epoch. */
  last: Record<string, number>;
}

/** When the loss is NaN or infinite, the error that stops training with a message that says how to fix it. */
function divergence(loss: number, vae: Vae, spec: TrainSpec, epoch: number, step: number): TrainingDivergedError | undefined {
  if (Number.isFinite(loss)) return undefined;
  const lr = spec.train.optimizer.learning_rate;
  let cause = `the learning rate is probably too high: train.optimizer.learning_rate is ${lr}; try ${Number((lr / 10).toPrecision(6))}`;
  if (vae.likelihood.kind === 'gaussian') {
    cause += `; with loss.reconstruction: mse also check that the data is in [0, 1] and that loss.gaussian_std (${vae.likelihood.std}) is not too small`;
  }
  const kept =
    epoch > 1
      ? `its record and the checkpoint of epoch ${epoch - 1} are kept`
      : 'its record is kept (no epoch completed, so no checkpoint)';
  return new TrainingDivergedError(
    `training diverged: the training loss is ${loss} at epoch ${epoch}, step ${step}; ${cause}. The run is FAILED; ${kept}.`,
  );
}

/** One training run's fixed parts, shared by its epochs. */
interface Training {
  vae: Vae;
  data: Split;
  spec: TrainSpec;
  hooks: TrainHooks;
  step: TrainingStep;
  stepsPerEpoch: number;
  /** Reused for every batch. */
  buffer: Float32Array;
}

/** An epoch either ends with its metrics or is stopped by a signal between two steps. */
type EpochOutcome = { metrics: Record<string, number>; seconds: number } | { stoppedAt: PartialEpoch };

/**
 * Adam on the negative ELBO; every epoch logs train/, val/ and perf/ metrics with step = epoch.
 *
 * Resuming at an epoch boundary needs only the epoch number besides the weights and Adam's state, because every
 * random stream is derived afresh from the seed (a stop inside an epoch also saves its two per-epoch streams' states):
 * the split (`split`, in splitDataset), the shuffling (`epoch-<epoch>`), dynamic binarisation
 * (`<seed>:binarize:<epoch>`), the reparameterisation noise (`<seed>:noise:<epoch>`), and validation (`<seed>:val`,
 * the same stream at every epoch); the pictures drawn at an epoch's end use their own seeds too. Nothing draws from
 * TensorFlow.js's global random state.
 */
export async function train(vae: Vae, data: Split, spec: TrainSpec, hooks: TrainHooks): Promise<TrainResult> {
  const batchSize = spec.train.batch_size;
  const step = createTrainingStep(vae, spec.train.optimizer.learning_rate, hooks.trainingStep ?? 'auto', spec.loss.objective);
  const training: Training = {
    vae,
    data,
    spec,
    hooks,
    step,
    stepsPerEpoch: Math.ceil(data.train.count / batchSize),
    buffer: new Float32Array(batchSize * pixelsPerImage(data.train)),
  };
  let last: Record<string, number> = hooks.resume?.state.last ?? {};
  let trainSeconds = hooks.resume?.state.trainSeconds ?? 0;
  const firstEpoch = (hooks.resume?.state.epoch ?? 0) + 1;
  try {
    await hooks.onStepChosen?.(step.description);
    if (hooks.resume) await hooks.resume.restoreOptimizer(step);
    for (let epoch = firstEpoch; epoch <= spec.train.epochs; epoch++) {
      const outcome = await runEpoch(training, epoch, epoch === firstEpoch ? hooks.resume?.state.partial : undefined);
      if ('stoppedAt' in outcome) {
        await hooks.onCheckpoint?.({ epoch: epoch - 1, last, trainSeconds, partial: outcome.stoppedAt }, step);
        return { epochsCompleted: epoch - 1, stopped: true, trainSeconds, last };
      }
      last = outcome.metrics;
      trainSeconds += outcome.seconds;
      const timestamp = Date.now();
      await hooks.tracker.logMetrics(Object.entries(last).map(([key, value]): MetricPoint => ({ key, value, step: epoch, timestamp })));
      hooks.progress.endEpoch(epoch, last);
      await hooks.onEpochEnd?.(epoch, epoch === spec.train.epochs);
      await hooks.onCheckpoint?.({ epoch, last, trainSeconds }, step);
    }
    return { epochsCompleted: spec.train.epochs, stopped: false, trainSeconds, last };
  } finally {
    step.dispose();
  }
}

/** Epoch `epoch`, from its start or from where `partial` stopped it. */
async function runEpoch(training: Training, epoch: number, partial: PartialEpoch | undefined): Promise<EpochOutcome> {
  const { vae, data, spec, hooks, step: trainingStep, stepsPerEpoch } = training;
  const batchSize = spec.train.batch_size;
  const order = seededPermutation(data.train.count, spec.seed, `epoch-${epoch}`);
  // With `state: true` a stream can report its state, so a stop inside the epoch can be resumed exactly.
  const stream = (name: string, saved?: seedrandom.State.Arc4) =>
    seedrandom(saved ? '' : `${spec.seed}:${name}:${epoch}`, { state: saved ?? true });
  const binarizeRng = stream('binarize', partial?.binarizeRng);
  const noiseRng = stream('noise', partial?.noiseRng);
  // In float64, in JavaScript: the step has finished when it returns (every backend here computes synchronously), so
  // reading its few totals is a copy, where adding them up as tensors cost an op dispatch a step.
  const sums = partial ? Float64Array.from(partial.sums) : new Float64Array(3 + objectiveTerms(spec.loss.objective).length);
  let seen = partial?.seen ?? 0;
  const started = performance.now() - (partial?.seconds ?? 0) * 1000;
  let lastReadLoss = Number.NaN;
  hooks.progress.startEpoch(epoch, spec.train.epochs, stepsPerEpoch);
  for (const [i, indices] of [...batchRanges(order, batchSize)].entries()) {
    if (i < (partial?.steps ?? 0)) continue;
    // Let signal handlers and I/O run: awaiting tensor data alone resolves as a microtask and never yields.
    await new Promise((resolve) => setImmediate(resolve));
    if (hooks.shouldStop()) {
      return { stoppedAt: stopInsideEpoch(trainingStep, { steps: i, sums, seen, binarizeRng, noiseRng, started }) };
    }
    const objective = objectiveAt(spec.loss, epoch - 1 + i / stepsPerEpoch, (epoch - 1) * stepsPerEpoch + i, data.train.count);
    const x = batchTensor(data.train, indices, training.buffer, spec.data.binarize, binarizeRng);
    const draws = indices.length * samplesPerExample(objective);
    const eps = seededNormal(draws, vae.noiseDim, noiseRng.int32());
    const batchTotals = trainingStep.run(x, eps, objective);
    batchTotals.dataSync().forEach((total, term) => (sums[term] += total));
    tf.dispose([x, eps, batchTotals]);
    seen += indices.length;
    const step = (epoch - 1) * stepsPerEpoch + i + 1;
    if ((i + 1) % spec.tracking.log_every_steps === 0 || i + 1 === stepsPerEpoch) {
      lastReadLoss = sums[0] / seen;
      const diverged = divergence(lastReadLoss, vae, spec, epoch, step);
      if (diverged) throw diverged;
      await hooks.tracker.logMetrics([{ key: 'train/running_loss', value: lastReadLoss, step, timestamp: Date.now() }]);
    }
    hooks.progress.update(i + 1, { loss: lastReadLoss, examplesPerSecond: seen / ((performance.now() - started) / 1000) });
  }
  trainingStep.syncModel();
  const [loss, recon, kl, ...terms] = Array.from(sums, (v) => v / seen);
  const diverged = divergence(loss, vae, spec, epoch, epoch * stepsPerEpoch);
  if (diverged) throw diverged;
  const seconds = (performance.now() - started) / 1000;
  return { metrics: await epochMetrics(training, epoch, { loss, recon, kl, terms, seen, seconds }), seconds };
}

/** Where a signal stopped an epoch, between two steps: all a resume needs to go on from the next step exactly. */
function stopInsideEpoch(
  trainingStep: TrainingStep,
  at: {
    steps: number;
    sums: Float64Array;
    seen: number;
    binarizeRng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>;
    noiseRng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>;
    started: number;
  },
): PartialEpoch {
  trainingStep.syncModel();
  return {
    steps: at.steps,
    sums: Array.from(at.sums),
    seen: at.seen,
    binarizeRng: at.binarizeRng.state(),
    noiseRng: at.noiseRng.state(),
    seconds: (performance.now() - at.started) / 1000,
  };
}

async function epochMetrics(
  training: Training,
  epoch: number,
  ran: { loss: number; recon: number; kl: number; terms: number[]; seen: number; seconds: number },
): Promise<Record<string, number>> {
  const { vae, data, spec } = training;
  // The objective as the epoch's last step had it.
  const objective = objectiveAt(spec.loss, epoch, epoch * training.stepsPerEpoch - 1, data.train.count);
  const metrics: Record<string, number> = {
    'train/loss': ran.loss,
    'train/recon': ran.recon,
    'train/kl': ran.kl,
    ...Object.fromEntries(objectiveTerms(objective.kind).map((name, i) => [`train/${name}`, ran.terms[i]])),
    ...objectiveMetrics(objective),
    'perf/examples_per_s': ran.seen / ran.seconds,
    'perf/epoch_seconds': ran.seconds,
  };
  if (data.val.count > 0) {
    const val = await evaluateElbo(vae, data.val, {
      batchSize: spec.train.batch_size,
      binarize: spec.data.binarize,
      seed: `${spec.seed}:val`,
    });
    // IWAE's val/loss is its own bound at the training k, as train/loss is.
    const valLoss =
      objective.kind === 'iwae'
        ? await importanceWeightedNll(vae, data.val, {
            samples: objective.samples,
            binarize: spec.data.binarize,
            seed: `${spec.seed}:val`,
            memoryBytes: spec.eval.iwae_memory_mb * 2 ** 20,
          })
        : val.recon + klPartValue(objective, val.kl);
    Object.assign(metrics, { 'val/loss': valLoss, 'val/recon': val.recon, 'val/kl': val.kl });
  }
  return metrics;
}

/**
 * The fastest step this model and backend allow: on tfjs-node one TensorFlow graph per step (graph-step.ts);
 * elsewhere, or when that graph cannot be built, tfjs's autodiff and tf.train.adam, with the reason in its description.
 */
export function createTrainingStep(
  vae: Vae,
  learningRate: number,
  choice: TrainingStepChoice,
  objective: Objective['kind'] = 'elbo',
): TrainingStep {
  if (choice === 'autodiff' || tf.getBackend() !== 'tensorflow') return new AutodiffStep(vae, learningRate);
  try {
    return new GraphStep(vae, learningRate, objective);
  } catch (e) {
    return new AutodiffStep(vae, learningRate, `the native graph step is unavailable: ${(e as Error).message.split('\n')[0]}`);
  }
}
