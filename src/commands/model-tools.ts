import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { negElboHistogram } from '../artifacts/latent-pictures.ts';
import { priorSamplesPng, reconstructionsPng } from '../artifacts/pictures.ts';
import type { BackendName } from '../backend-names.ts';
import { selectBackend } from '../backend.ts';
import { loadDataset } from '../data/datasets.ts';
import { readImageInput } from '../data/image-files.ts';
import { pixelsPerImage, subset, type ImageSet } from '../data/images.ts';
import { loadTrainedRun, type TrainedRun } from '../model/trained-run.ts';
import { npyFloat32 } from '../artifacts/npy.ts';
import { distribution } from '../eval/distribution.ts';
import { RunRecord } from '../record/run-record.ts';
import { MlflowSetupError, resolveTrackingUri, SETUP_HINT } from '../tracking/mlflow-server.ts';
import { perExampleNegElbo } from '../eval/evaluate.ts';
import { testMetrics } from '../eval/test-metrics.ts';
import { say } from './say.ts';

// Commands that use a finished run: each loads the model and the resolved spec saved with it.

export interface ModelToolOptions {
  runsDir: string;
  backend: BackendName | 'auto';
}

async function open(ref: string, options: ModelToolOptions): Promise<TrainedRun> {
  await selectBackend(options.backend);
  const trackingUri = async () => {
    const uri = await resolveTrackingUri({ runsDir: options.runsDir, log: say });
    if (!uri)
      throw new MlflowSetupError(
        `MLflow is not set up, so an MLflow run id cannot be looked up: run ${SETUP_HINT}, or set MLFLOW_TRACKING_URI`,
      );
    return uri;
  };
  return loadTrainedRun(ref, { runsDir: options.runsDir, trackingUri });
}

/** `--input` if given, else the run's own held-out test set. */
function inputImages(run: TrainedRun, input: string | undefined): ImageSet {
  return input ? readImageInput(input, run.image) : loadDataset(run.spec.data, '.').test;
}

function write(out: string, content: string | Uint8Array): void {
  mkdirSync(dirname(out) || '.', { recursive: true });
  writeFileSync(out, content);
  say(`wrote ${out}`);
}

export async function sampleCommand(ref: string, options: ModelToolOptions & { n: number; seed: number; out: string }): Promise<void> {
  const run = await open(ref, options);
  write(options.out, await priorSamplesPng(run.vae, run.image, options.seed, options.n));
}

export async function reconstructCommand(
  ref: string,
  options: ModelToolOptions & { input?: string; n: number; out: string },
): Promise<void> {
  const run = await open(ref, options);
  write(options.out, await reconstructionsPng(run.vae, inputImages(run, options.input), options.n));
}

/** Posterior means and log-variances: CSV with a row per image, or NPY of shape [N, 2, latent] (mu, then logvar). */
export async function encodeCommand(ref: string, options: ModelToolOptions & { input?: string; out: string }): Promise<void> {
  const run = await open(ref, options);
  const images = inputImages(run, options.input);
  const size = pixelsPerImage(images);
  const latent = run.vae.latentDim;
  const [mu, logvar] = tf.tidy(() => {
    const x = tf.tensor2d(
      Float32Array.from(images.pixels, (p) => p / 255),
      [images.count, size],
    );
    const q = run.vae.encode(x);
    return [q.mu.dataSync() as Float32Array, q.logvar.dataSync() as Float32Array];
  });
  if (extname(options.out) === '.npy') {
    const data = new Float32Array(images.count * 2 * latent);
    for (let i = 0; i < images.count; i++) {
      data.set(mu.subarray(i * latent, (i + 1) * latent), i * 2 * latent);
      data.set(logvar.subarray(i * latent, (i + 1) * latent), (i * 2 + 1) * latent);
    }
    write(options.out, npyFloat32(data, [images.count, 2, latent]));
    return;
  }
  const header = [
    'index',
    ...(images.labels ? ['label'] : []),
    ...range(latent).map((u) => `mu_${u}`),
    ...range(latent).map((u) => `logvar_${u}`),
  ];
  const rows = range(images.count).map((i) =>
    [
      i,
      ...(images.labels ? [images.labels[i]] : []),
      ...mu.subarray(i * latent, (i + 1) * latent),
      ...logvar.subarray(i * latent, (i + 1) * latent),
    ].join(','),
  );
  write(options.out, [header.join(','), ...rows].join('\n') + '\n');
}

/** Per-example negative ELBO as an anomaly score, to CSV, with a summary of its distribution. */
export async function scoreCommand(
  ref: string,
  options: ModelToolOptions & { input?: string; samples: number; seed: number; out: string },
): Promise<void> {
  const run = await open(ref, options);
  const images = inputImages(run, options.input);
  const scores = await perExampleNegElbo(run.vae, images, { samples: options.samples, batchSize: 256, seed: String(options.seed) });
  const rows = range(images.count).map((i) => [i, ...(images.labels ? [images.labels[i]] : []), scores[i].toFixed(4)].join(','));
  write(options.out, [['index', ...(images.labels ? ['label'] : []), 'neg_elbo'].join(','), ...rows].join('\n') + '\n');
  const summary = distribution(scores);
  const stem = options.out.replace(/\.csv$/, '');
  write(`${stem}.summary.json`, JSON.stringify({ samples_per_example: options.samples, ...summary }, null, 2) + '\n');
  write(`${stem}.histogram.png`, (await negElboHistogram(scores, `Negative ELBO of ${scores.length} images`)).png);
  console.log(
    `neg ELBO per example (nats): n ${summary.count}, mean ${summary.mean.toFixed(2)}, std ${summary.std.toFixed(2)}, median ${summary.p50.toFixed(2)}, p95 ${summary.p95.toFixed(2)}, p99 ${summary.p99.toFixed(2)}, max ${summary.max.toFixed(2)}`,
  );
}

/** Recomputes the test metrics of a finished run, e.g. with Burda et al.'s k = 5000; records them beside it (see RunRecord.writeEvaluation). */
export async function evalCommand(ref: string, options: ModelToolOptions & { k?: number }): Promise<void> {
  const run = await open(ref, options);
  const { spec, vae } = run;
  const limit = spec.data.limit;
  const full = loadDataset(spec.data, '.').test;
  const test =
    limit > 0
      ? subset(
          full,
          Uint32Array.from({ length: Math.min(limit, full.count) }, (_, i) => i),
        )
      : full;
  const k = options.k ?? spec.eval.iwae_samples;
  const { metrics, usage } = await testMetrics(vae, test, spec, k);
  for (const [key, value] of Object.entries(metrics))
    console.log(`${key.padEnd(18)} ${value.toFixed(key === 'test/active_units' ? 0 : 3)}`);
  new RunRecord(run.runDir).writeEvaluation(k, {
    k,
    test_images: test.count,
    metrics,
    latent: { kl_per_dimension: usage.klPerDimension, activity: usage.activity },
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
