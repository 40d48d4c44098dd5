import * as tf from '@tensorflow/tfjs';
import type { ImageSet, ImageShape } from '../data/images.ts';
import type { Vae } from '../model/vae.ts';
import type { ExplainedFactor } from '../eval/latent-factors.ts';
import { posteriorMeans } from '../eval/posterior-means.ts';
import { encodeImageGrid } from './image-grid.ts';
import { labelledRowsPng, type LabelledRow } from './labelled-rows.ts';
import { renderVegaLite, type VegaLiteSpec } from './plot.ts';

/** `count` evenly spaced values from `from` to `to`, both included. */
function linspace(from: number, to: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + ((to - from) * i) / (count - 1));
}

async function decodeGrid(vae: Vae, z: number[][], rows: number, columns: number, image: ImageShape): Promise<Buffer> {
  const pixels = await tf.tidy(() => vae.decodeToImages(tf.tensor2d(z))).data();
  return encodeImageGrid(pixels as Float32Array, { rows, columns, ...image });
}

/**
 * One row per latent dimension, the largest KL first: z = 0 except that dimension, which sweeps -3..3 prior standard
 * deviations. Shows what each dimension has learnt to control; beside it its KL and, where the data has known
 * factors, the factor it explains best (its mutual information with the factor over the factor's entropy).
 */
export async function latentTraversalsPng(
  vae: Vae,
  klPerDimension: readonly number[],
  image: ImageShape,
  explained?: readonly ExplainedFactor[],
  steps = 9,
): Promise<Buffer> {
  const dims = klPerDimension.map((kl, u) => ({ kl, u })).sort((p, q) => q.kl - p.kl);
  const rows: LabelledRow[] = [];
  for (const { kl, u } of dims) {
    const z = linspace(-3, 3, steps).map((v) => Array.from({ length: vae.latentDim }, (_, d) => (d === u ? v : 0)));
    const png = await decodeGrid(vae, z, 1, steps, image);
    const factor = explained ? `, ${explained[u].factor} ${explained[u].share.toFixed(2)}` : '';
    rows.push({ png, width: png.readUInt32BE(16), height: png.readUInt32BE(20), label: `z${u}: KL ${kl.toFixed(2)}${factor}` });
  }
  const title = `Traversals -3..3 sd, by KL (nats)${explained ? '; factor explained best (MI / entropy)' : ''}`;
  return labelledRowsPng(rows, title);
}

/** For a 2-D latent space: the decoder's output over a grid of z from -3 to 3 in both dimensions (z2 grows downwards). */
export async function manifoldPng(vae: Vae, image: ImageShape, side = 15): Promise<Buffer> {
  const values = linspace(-3, 3, side);
  const z = values.flatMap((z2) => values.map((z1) => [z1, z2]));
  return decodeGrid(vae, z, side, side, image);
}

/** For a 2-D latent space: the posterior means of a set's images, coloured by label, with a legend. */
export async function latentScatter(vae: Vae, set: ImageSet, maxPoints = 5000): Promise<{ spec: VegaLiteSpec; png: Buffer }> {
  const n = Math.min(set.count, maxPoints);
  const mu = await posteriorMeans(vae, set, n);
  const values = mu.map(([z1, z2], i) => ({ z1, z2, label: set.labels ? String(set.labels[i]) : 'unlabelled' }));
  const spec: VegaLiteSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Posterior means of ${n} test images`,
    width: 420,
    height: 420,
    data: { values },
    mark: { type: 'circle', size: 12, opacity: 0.6 },
    encoding: {
      x: { field: 'z1', type: 'quantitative', title: 'z1 (mean)' },
      y: { field: 'z2', type: 'quantitative', title: 'z2 (mean)' },
      color: { field: 'label', type: 'nominal', title: 'label', scale: { scheme: 'category10' } },
    },
  };
  return { spec, png: (await renderVegaLite(spec)).png };
}

/** How the per-example negative ELBO is spread over a set: the shape of the anomaly scores. */
export async function negElboHistogram(scores: Float32Array, title: string): Promise<{ spec: VegaLiteSpec; png: Buffer }> {
  const spec: VegaLiteSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 480,
    height: 260,
    data: { values: Array.from(scores, (s) => ({ neg_elbo: s })) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'neg_elbo', type: 'quantitative', bin: { maxbins: 60 }, title: 'negative ELBO per example (nats)' },
      y: { aggregate: 'count', type: 'quantitative', title: 'images' },
    },
  };
  return { spec, png: (await renderVegaLite(spec)).png };
}
