import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { stringify } from 'yaml';
import { finalPictures } from './artifacts/final-pictures.ts';
import { priorSamplesPng, reconstructionsPng } from './artifacts/pictures.ts';
import type { BackendChoice } from './backend.ts';
import { loadDataset } from './data/datasets.ts';
import { splitDataset } from './data/split.ts';
import { saveLayersModel } from './model/persist.ts';
import { buildVae } from './model/vae.ts';
import type { LoadedSpec } from './experiment-spec/load.ts';
import { withAbsoluteDataPaths } from './experiment-spec/paths.ts';
import { writeJsonAtomic } from './tracking/local.ts';
import { steppedImage as makeSteppedImage, steppedImagePaths } from './tracking/images.ts';
import { flattenParams } from './tracking/params.ts';
import type { MetricPoint, Tracker } from './tracking/tracker.ts';
import type { LatentUsage } from './train/iwae.ts';
import { testMetrics } from './train/test-metrics.ts';
import type { ProgressReporter } from './train/progress.ts';
import { saveCheckpoint, type Checkpoint } from './train/checkpoint.ts';
import { train } from './train/trainer.ts';
import { RuntimeFailure, UserError } from './errors.ts';

export const VAE_LAB_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface RunContext {
  runDir: string;
  runId: string;
  backend: BackendChoice;
  tracker: Tracker;
  /** Tags beyond the ones every run gets, e.g. mlflow.parentRunId. */
  extraTags?: Record<string, string>;
  progress: ProgressReporter;
  /** Prints one line for the user. */
  say: (line: string) => void;
  shouldStop: () => boolean;
  /** Go on with an interrupted run in runDir from its checkpoint (the record is there already). */
  resume?: Checkpoint;
}

export interface RunOutcome {
  status: 'FINISHED' | 'KILLED';
  summary: Record<string, unknown>;
}

/** What a file-system error code means, in words. */
function fileSystemReason(cause: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    EROFS: 'read-only file system', EACCES: 'permission denied', EPERM: 'operation not permitted', ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded', ENOTDIR: 'a part of the path is a file, not a folder', EEXIST: 'a file of that name is in the way',
    EIO: 'input/output error',
  };
  const code = cause.code ?? 'unknown error';
  return `${why[code] ?? cause.message.split('\n')[0]} (${code})`;
}

/** The runs folder cannot hold a new run record (read-only, full, not a folder); the CLI prints it and exits 2. */
export class RunRecordError extends UserError {
  constructor(dir: string, cause: NodeJS.ErrnoException) {
    super(`cannot create the run record in ${dir}: ${fileSystemReason(cause)}; choose another place with --runs-dir`);
  }
}

/** The disk under a run's record failed while it trained (filled up, went read-only): the CLI prints this line, exit 1. */
export class RunWriteError extends RuntimeFailure {
  constructor(runDir: string, cause: NodeJS.ErrnoException, checkpointEpoch: number | undefined) {
    const kept = checkpointEpoch === undefined
      ? 'no epoch had completed, so there is no checkpoint: free some space and start it again'
      : `the checkpoint of epoch ${checkpointEpoch} is kept: free some space and go on with: npx vae run --resume ${runDir}`;
    super(`cannot write to the run record ${runDir}: ${fileSystemReason(cause)}. The run is FAILED; ${kept}`);
  }

  /** File-system errors that are the disk's doing rather than a bug. */
  static isDiskError(e: unknown): e is NodeJS.ErrnoException {
    return ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException)?.code ?? '');
  }
}

/** A new, never-shared folder runs/<experiment>/<time>-<random>: two runs started together get different ones. */
export function createRunDir(root: string, experiment: string): { runId: string; runDir: string } {
  const parent = join(root, experiment);
  const make = (dir: string, recursive: boolean) => {
    try {
      mkdirSync(dir, { recursive });
      return true;
    } catch (e) {
      const error = e as NodeJS.ErrnoException;
      if (!recursive && error.code === 'EEXIST' && statSync(parent).isDirectory()) return false;
      // A recursive mkdir on a read-only file system says ENOENT; asking for the last folder alone gives the real reason.
      if (recursive && error.code === 'ENOENT') make(dir, false);
      throw new RunRecordError(parent, error);
    }
  };
  make(parent, true);
  for (;;) {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const runId = `${stamp}-${randomBytes(3).toString('hex')}`;
    if (make(join(parent, runId), false)) return { runId, runDir: join(parent, runId) };
  }
}

/** spec -> data + model -> trainer -> tracker: trains, evaluates on the test set, and records everything. */
export async function runExperiment(loaded: LoadedSpec, ctx: RunContext): Promise<RunOutcome> {
  const { spec } = loaded;
  const started = Date.now();
  const artifact = async (relPath: string, content: string | Buffer) => {
    const path = join(ctx.runDir, relPath);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    await ctx.tracker.logArtifact(path, relPath);
  };

  // The same picture at every step, so MLflow's slider shows the model improving.
  const steppedImage = async (key: string, step: number, png: Buffer) => {
    const image = makeSteppedImage(key, step);
    const path = join(ctx.runDir, steppedImagePaths(image).image);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, png);
    await ctx.tracker.logImage(path, image);
  };

  await ctx.tracker.start({
    experiment: spec.tracking.experiment,
    runName: spec.name,
    // The description is the run's note (mlflow.note.content); as a param it would only repeat it.
    params: flattenParams(Object.fromEntries(Object.entries(spec).filter(([key]) => key !== 'description'))),
    tags: { ...runTags(loaded, ctx.backend), ...ctx.extraTags },
    startTime: started,
    resume: ctx.resume !== undefined,
  });
  if (!ctx.resume) {
    await artifact('spec/experiment.yaml', loaded.text);
    await artifact('spec/resolved.yaml', `# ${loaded.file}${loaded.overrides.length ? ' with ' + loaded.overrides.join(' ') : ''}\n${stringify(withAbsoluteDataPaths(spec, dirname(loaded.file)))}`);
  }

  const loadStarted = performance.now();
  const dataset = loadDataset(spec.data, dirname(loaded.file));
  const split = splitDataset(dataset.train, dataset.test, { seed: spec.seed, ...spec.data.split, limit: spec.data.limit });
  const image = { height: dataset.train.height, width: dataset.train.width };
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  if (!ctx.resume) {
    await ctx.tracker.logDataset({
      name: dataset.name, digest: dataset.digest, source: dataset.source, context: 'training',
      profile: JSON.stringify({ train: split.train.count, val: split.val.count, test: split.test.count }),
    });
  }
  ctx.say(`${dataset.name}: ${split.train.count} train / ${split.val.count} val / ${split.test.count} test images of ${image.height}x${image.width} (loaded in ${loadSeconds.toFixed(1)} s)`);

  const vae = buildVae(spec, image);
  try {
    const { model, loss } = spec;
    const layers = model.architecture === 'mlp' ? [image.height * image.width, ...model.encoder.hidden, model.latent_dim].join('-') : `conv ${model.encoder.hidden.join('-')} -> ${model.latent_dim}`;
    ctx.say(`model ${layers} | ${loss.reconstruction} + ${loss.kl_weight} x KL | ${ctx.backend.reason}`);
    if (ctx.resume) {
      await ctx.resume.restoreModel(vae);
      ctx.say(`resuming ${ctx.resume.state.partial ? `epoch ${ctx.resume.state.epoch + 1} after step ${ctx.resume.state.partial.steps}` : `after epoch ${ctx.resume.state.epoch}`} of ${spec.train.epochs} from ${ctx.resume.dir}`);
    }

    const result = await train(
      vae,
      split,
      {
        seed: spec.seed,
        epochs: spec.train.epochs,
        batchSize: spec.train.batch_size,
        learningRate: spec.train.optimizer.learning_rate,
        klWeight: loss.kl_weight,
        klWarmupEpochs: loss.kl_warmup_epochs,
        binarize: spec.data.binarize,
        logEverySteps: spec.tracking.log_every_steps,
        shouldStop: ctx.shouldStop,
        onEpochEnd: async (epoch, lastEpoch) => {
          if (epoch % spec.tracking.image_every_epochs !== 0 && !lastEpoch) return;
          await steppedImage('samples', epoch, await priorSamplesPng(vae, image, spec.seed));
          await steppedImage('reconstructions', epoch, await reconstructionsPng(vae, split.test));
        },
        onCheckpoint: (state, step) => saveCheckpoint(ctx.runDir, vae, step, state),
        onStepChosen: async (description) => {
          ctx.say(`training step: ${description}`);
          await ctx.tracker.setTags({ 'vae.training_step': description });
        },
        resume: ctx.resume,
      },
      ctx.tracker,
      ctx.progress,
    );

    const metrics: Record<string, number> = { ...result.last };
    let usage: LatentUsage | undefined;
    let evaluateSeconds = 0;
    let testPoints: MetricPoint[] = [];
    if (!result.stopped) {
      const evaluating = performance.now();
      const evaluated = await testMetrics(vae, split.test, spec);
      evaluateSeconds = (performance.now() - evaluating) / 1000;
      usage = evaluated.usage;
      Object.assign(metrics, evaluated.metrics);
      ctx.say(`test: -ELBO ${metrics['test/neg_elbo'].toFixed(2)} nats per example (recon ${metrics['test/recon'].toFixed(2)}, KL ${metrics['test/kl'].toFixed(2)})`);
      if (metrics['test/iwae_nll'] !== undefined) {
        ctx.say(`test: -log p(x) <= ${metrics['test/iwae_nll'].toFixed(2)} nats (importance-weighted bound, k = ${spec.eval.iwae_samples}); ${usage.activeUnits} of ${spec.model.latent_dim} latent units active`);
      }
      const timestamp = Date.now();
      const testKeys = Object.keys(metrics).filter((key) => key.startsWith('test/'));
      testPoints = testKeys.map((key) => ({ key, value: metrics[key], step: result.epochsCompleted, timestamp }));
      await ctx.tracker.logMetrics(testPoints);
    }

    for (const [path, content] of await finalPictures(vae, split.test, { seed: spec.seed, usage, batchSize: spec.train.batch_size })) {
      await artifact(path, content);
    }
    const modelFiles: { localPath: string; path: string }[] = [];
    for (const [part, net] of [['encoder', vae.encoder], ['decoder', vae.decoder]] as const) {
      for (const file of await saveLayersModel(net, join(ctx.runDir, 'model', part))) {
        await ctx.tracker.logArtifact(file, relative(ctx.runDir, file));
        modelFiles.push({ localPath: file, path: relative(join(ctx.runDir, 'model'), file) });
      }
    }
    // Only a run that trained to the end has "the trained model"; a stopped one keeps its checkpoint to resume from.
    if (!result.stopped) await ctx.tracker.logModel({ name: spec.name, files: modelFiles, metrics: testPoints, step: result.epochsCompleted });

    const status = result.stopped ? 'KILLED' : 'FINISHED';
    const summary = {
      run_id: ctx.runId,
      experiment: spec.tracking.experiment,
      name: spec.name,
      status,
      epochs_completed: result.epochsCompleted,
      metrics,
      latent: usage && { kl_per_dimension: usage.klPerDimension, activity: usage.activity, active_units: usage.activeUnits },
      data: { dataset: dataset.name, source: dataset.source, digest: dataset.digest, image, train: split.train.count, val: split.val.count, test: split.test.count },
      backend: ctx.backend.name,
      durations_s: { load: loadSeconds, train: result.trainSeconds, evaluate: evaluateSeconds, total: (Date.now() - started) / 1000 },
      versions: versions(ctx.backend),
    };
    writeJsonAtomic(join(ctx.runDir, 'summary.json'), summary);
    await ctx.tracker.logArtifact(join(ctx.runDir, 'summary.json'), 'summary.json');
    return { status, summary };
  } finally {
    vae.dispose();
  }
}

function runTags(loaded: LoadedSpec, backend: BackendChoice): Record<string, string> {
  const tags: Record<string, string> = {
    'mlflow.runName': loaded.spec.name,
    'mlflow.source.name': loaded.file,
    'mlflow.source.type': 'LOCAL',
    'vae.backend': backend.name,
    'vae.version': VAE_LAB_VERSION,
    'vae.tfjs_version': tf.version_core,
  };
  if (backend.tensorflowVersion) tags['vae.tensorflow_version'] = backend.tensorflowVersion;
  if (loaded.spec.description) tags['mlflow.note.content'] = loaded.spec.description;
  const commit = gitCommit(dirname(loaded.file));
  if (commit) tags['mlflow.source.git.commit'] = commit;
  return tags;
}

function gitCommit(dir: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

function versions(backend: BackendChoice): Record<string, string> {
  const found: Record<string, string> = { 'vae-lab': VAE_LAB_VERSION, node: process.versions.node, 'tfjs-core': tf.version_core };
  if (backend.tensorflowVersion) found.tensorflow = backend.tensorflowVersion;
  return found;
}
