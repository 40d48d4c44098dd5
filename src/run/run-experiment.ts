// spec -> data + model -> trainer -> tracker, as named stages: record start, model, training, evaluation, pictures
// and model, summary. The data stage (run-data.ts) comes first, before this, so bad data records nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { stringify } from 'yaml';
import { finalPictures } from '../artifacts/final-pictures.ts';
import { priorSamplesPng, reconstructionsPng } from '../artifacts/pictures.ts';
import type { BackendChoice } from '../backend.ts';
import type { LatentUsage } from '../eval/iwae.ts';
import { pixelsPerImage } from '../data/images.ts';
import { testMetrics } from '../eval/test-metrics.ts';
import { describeDisentanglement, vaeDisentanglement } from '../eval/vae-disentanglement.ts';
import type { LoadedSpec } from '../experiment-spec/load.ts';
import { withAbsoluteDataPaths } from '../experiment-spec/paths.ts';
import { describeObjective } from '../model/objective.ts';
import { describePrior } from '../model/prior.ts';
import { describeTopLayer } from '../model/top-layer.ts';
import { saveLayersModel } from '../model/persist.ts';
import { buildVae, type Vae } from '../model/vae.ts';
import type { MetricPoint } from '../record/entries.ts';
import { RUN_ARTIFACTS, type RunRecord, type RunSummary } from '../record/run-record.ts';
import { steppedImage, steppedImagePaths } from '../tracking/images.ts';
import { flattenParams } from '../tracking/params.ts';
import { LOCAL_RUN_TAG } from '../tracking/sync.ts';
import type { Tracker } from '../tracking/tracker.ts';
import { saveCheckpoint, type Checkpoint } from '../train/checkpoint.ts';
import type { ProgressReporter } from '../train/progress.ts';
import { train, type TrainResult } from '../train/trainer.ts';
import { checkReference, describeCheck, type Reference, type ReferenceCheck } from '../reference/reference-check.ts';
import { describeData, type RunData } from './run-data.ts';
import { runTags, versions } from './run-tags.ts';

export interface RunContext {
  record: RunRecord;
  backend: BackendChoice;
  tracker: Tracker;
  /** Tags beyond the ones every run gets, e.g. mlflow.parentRunId. */
  extraTags?: Record<string, string>;
  progress: ProgressReporter;
  /** Prints one line for the user. */
  say: (line: string) => void;
  shouldStop: () => boolean;
  /** Go on with an interrupted run from its checkpoint (the record is there already). */
  resume?: Checkpoint;
}

export interface RunOutcome {
  status: RunSummary['status'];
  summary: RunSummary;
}

/** The test-set numbers of a run that trained to its end. */
interface Evaluation {
  metrics: Record<string, number>;
  points: MetricPoint[];
  usage: LatentUsage;
  seconds: number;
}

/** Trains, evaluates on the test set, and records everything. */
export async function runExperiment(loaded: LoadedSpec, data: RunData, ctx: RunContext): Promise<RunOutcome> {
  const started = Date.now();
  await startRecord(loaded, data, ctx, started);
  const vae = buildModel(loaded, data, ctx);
  try {
    const result = await trainModel(vae, loaded, data, ctx);
    const evaluation = result.stopped ? undefined : await evaluateModel(vae, loaded, data, ctx, result);
    await savePicturesAndModel(vae, loaded, data, ctx, result, evaluation);
    const summary = await writeSummary(loaded, data, ctx, result, evaluation, started);
    return { status: summary.status, summary };
  } finally {
    vae.dispose();
  }
}

async function startRecord(loaded: LoadedSpec, data: RunData, ctx: RunContext, started: number): Promise<void> {
  const { spec } = loaded;
  await ctx.tracker.start({
    experiment: spec.tracking.experiment,
    runName: spec.name,
    // The description is the run's note (mlflow.note.content); as a param it would only repeat it.
    params: flattenParams(Object.fromEntries(Object.entries(spec).filter(([key]) => key !== 'description'))),
    tags: { ...runTags(loaded, ctx.backend), [LOCAL_RUN_TAG]: ctx.record.runId, ...ctx.extraTags },
    startTime: started,
    resume: ctx.resume !== undefined,
  });
  if (!ctx.resume) {
    const overrides = loaded.overrides.length ? ' with ' + loaded.overrides.join(' ') : '';
    await logArtifact(ctx, RUN_ARTIFACTS.writtenSpec, loaded.text);
    await logArtifact(
      ctx,
      RUN_ARTIFACTS.resolvedSpec,
      `# ${loaded.file}${overrides}\n${stringify(withAbsoluteDataPaths(spec, dirname(loaded.file)))}`,
    );
    const { dataset, split } = data;
    await ctx.tracker.logDataset({
      name: dataset.name,
      digest: dataset.digest,
      source: dataset.source,
      context: 'training',
      profile: JSON.stringify({ train: split.train.count, val: split.val.count, test: split.test.count }),
    });
  }
  ctx.say(describeData(data));
}

function buildModel(loaded: LoadedSpec, data: RunData, ctx: RunContext): Vae {
  const { model, loss } = loaded.spec;
  const vae = buildVae(loaded.spec, data.image);
  const layers =
    model.architecture === 'mlp'
      ? [pixelsPerImage(data.image), ...model.encoder.hidden, model.latent_dim].join('-') + describeTopLayer(model)
      : `conv ${model.encoder.hidden.join('-')} -> ${model.latent_dim}`;
  const prior = describePrior(model);
  ctx.say(`model ${layers}${prior ? `, ${prior}` : ''} | ${describeObjective(loss)} | ${ctx.backend.reason}`);
  return vae;
}

async function trainModel(vae: Vae, loaded: LoadedSpec, data: RunData, ctx: RunContext): Promise<TrainResult> {
  const { spec } = loaded;
  if (ctx.resume) {
    await ctx.resume.restoreModel(vae);
    const { state } = ctx.resume;
    ctx.say(
      `resuming ${state.partial ? `epoch ${state.epoch + 1} after step ${state.partial.steps}` : `after epoch ${state.epoch}`} of ${spec.train.epochs} from ${ctx.resume.dir}`,
    );
  }
  return train(vae, data.split, spec, {
    tracker: ctx.tracker,
    progress: ctx.progress,
    shouldStop: ctx.shouldStop,
    onEpochEnd: async (epoch, lastEpoch) => {
      if (epoch % spec.tracking.image_every_epochs !== 0 && !lastEpoch) return;
      await logSteppedImage(ctx, 'samples', epoch, await priorSamplesPng(vae, data.image, spec.seed));
      await logSteppedImage(ctx, 'reconstructions', epoch, await reconstructionsPng(vae, data.split.test));
    },
    onCheckpoint: (state, step) => saveCheckpoint(ctx.record.dir, vae, step, state),
    onStepChosen: async (description) => {
      ctx.say(`training step: ${description}`);
      await ctx.tracker.setTags({ 'vae.training_step': description });
    },
    resume: ctx.resume,
  });
}

async function evaluateModel(vae: Vae, loaded: LoadedSpec, data: RunData, ctx: RunContext, result: TrainResult): Promise<Evaluation> {
  const { spec } = loaded;
  const started = performance.now();
  const { metrics, usage } = await testMetrics(vae, data.split.test, spec);
  ctx.say(
    `test: -ELBO ${metrics['test/neg_elbo'].toFixed(2)} nats per example (recon ${metrics['test/recon'].toFixed(2)}, KL ${metrics['test/kl'].toFixed(2)}${vae.klIsSampled ? ', estimated from one sample' : ''})`,
  );
  if (metrics['test/iwae_nll'] !== undefined) {
    ctx.say(
      `test: -log p(x) <= ${metrics['test/iwae_nll'].toFixed(2)} nats (importance-weighted bound, k = ${spec.eval.iwae_samples}); ${usage.activeUnits} of ${spec.model.latent_dim} latent units active`,
    );
  }
  const scores = await vaeDisentanglement(vae, data.dataset.world, spec);
  const scoresLine = describeDisentanglement(scores);
  if (scoresLine) ctx.say(scoresLine);
  Object.assign(metrics, scores);
  const seconds = (performance.now() - started) / 1000;
  const timestamp = Date.now();
  const points = Object.entries(metrics).map(([key, value]) => ({ key, value, step: result.epochsCompleted, timestamp }));
  await ctx.tracker.logMetrics(points);
  return { metrics, points, usage, seconds };
}

async function savePicturesAndModel(
  vae: Vae,
  loaded: LoadedSpec,
  data: RunData,
  ctx: RunContext,
  result: TrainResult,
  evaluation: Evaluation | undefined,
): Promise<void> {
  const { spec } = loaded;
  for (const [path, content] of await finalPictures(vae, data.split.test, {
    seed: spec.seed,
    usage: evaluation?.usage,
    batchSize: spec.train.batch_size,
  })) {
    await logArtifact(ctx, path, content);
  }
  const modelFiles: { localPath: string; path: string }[] = [];
  for (const [part, net] of vae.networks) {
    for (const file of await saveLayersModel(net, ctx.record.modelDir(part))) {
      await ctx.tracker.logArtifact(file, relative(ctx.record.dir, file));
      modelFiles.push({ localPath: file, path: relative(ctx.record.path(RUN_ARTIFACTS.model), file) });
    }
  }
  // Only a run that trained to the end has "the trained model"; a stopped one keeps its checkpoint to resume from.
  if (evaluation)
    await ctx.tracker.logModel({ name: spec.name, files: modelFiles, metrics: evaluation.points, step: result.epochsCompleted });
}

async function writeSummary(
  loaded: LoadedSpec,
  data: RunData,
  ctx: RunContext,
  result: TrainResult,
  evaluation: Evaluation | undefined,
  started: number,
): Promise<RunSummary> {
  const { spec } = loaded;
  const { dataset, split, image } = data;
  const usage = evaluation?.usage;
  const summary: RunSummary = {
    run_id: ctx.record.runId,
    experiment: spec.tracking.experiment,
    name: spec.name,
    status: result.stopped ? 'KILLED' : 'FINISHED',
    epochs_completed: result.epochsCompleted,
    metrics: { ...result.last, ...evaluation?.metrics },
    latent: usage && { kl_per_dimension: usage.klPerDimension, activity: usage.activity, active_units: usage.activeUnits },
    data: {
      dataset: dataset.name,
      source: dataset.source,
      digest: dataset.digest,
      image,
      train: split.train.count,
      val: split.val.count,
      test: split.test.count,
    },
    backend: ctx.backend.name,
    durations_s: {
      load: data.loadSeconds,
      train: result.trainSeconds,
      evaluate: evaluation?.seconds ?? 0,
      total: (Date.now() - started) / 1000,
    },
    versions: versions(ctx.backend),
  };
  if (spec.reference && evaluation) summary.reference = await judgeAgainstReference(spec.reference, summary, ctx);
  await ctx.tracker.logArtifact(ctx.record.writeSummary(summary), RUN_ARTIFACTS.summary);
  return summary;
}

/** The run on its own against the spec's reference: said, kept in the summary, and a tag and metric in MLflow. */
async function judgeAgainstReference(reference: Reference, summary: RunSummary, ctx: RunContext): Promise<ReferenceCheck> {
  const obtained = summary.metrics[reference.metric];
  const check = checkReference(reference, obtained === undefined ? [] : [obtained], true);
  ctx.say(`reference: ${describeCheck(check)}`);
  await ctx.tracker.setTags({ 'vae.reference': check.verdict });
  if (Number.isFinite(check.difference)) {
    await ctx.tracker.logMetrics([
      { key: 'reference/difference', value: check.difference, step: summary.epochs_completed, timestamp: Date.now() },
    ]);
  }
  return check;
}

async function logArtifact(ctx: RunContext, relativePath: string, content: string | Buffer): Promise<void> {
  const path = ctx.record.path(relativePath);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  await ctx.tracker.logArtifact(path, relativePath);
}

// The same picture at every step, so MLflow's slider shows the model improving.
async function logSteppedImage(ctx: RunContext, key: string, step: number, png: Buffer): Promise<void> {
  const image = steppedImage(key, step);
  const path = ctx.record.path(steppedImagePaths(image).image);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, png);
  await ctx.tracker.logImage(path, image);
}
