import { imageShape, type ImageSet } from '../data/images.ts';
import type { Vae } from '../model/vae.ts';
import type { LatentUsage } from '../eval/iwae.ts';
import { perExampleNegElbo } from '../eval/evaluate.ts';
import { explainedFactors } from '../eval/latent-factors.ts';
import { latentScatter, latentTraversalsPng, manifoldPng, negElboHistogram } from './latent-pictures.ts';
import { priorSamplesPng, reconstructionsPng } from './pictures.ts';

/**
 * The pictures of a trained model, as run-relative paths and contents. They live under images/final/: MLflow's UI
 * reads every file directly under images/ as a stepped image and drops the whole grid when one is not.
 */
export async function finalPictures(
  vae: Vae,
  test: ImageSet,
  options: { seed: number; usage?: LatentUsage; batchSize: number },
): Promise<[string, string | Buffer][]> {
  const image = imageShape(test);
  const files: [string, string | Buffer][] = [
    ['images/final/samples.png', await priorSamplesPng(vae, image, options.seed)],
    ['images/final/reconstructions.png', await reconstructionsPng(vae, test)],
  ];
  if (!options.usage) return files;
  const explained = await explainedFactors(vae, test);
  files.push(['images/final/traversals.png', await latentTraversalsPng(vae, options.usage.klPerDimension, image, explained)]);
  const scores = await perExampleNegElbo(vae, test, { samples: 1, batchSize: options.batchSize, seed: `${options.seed}:scores` });
  const histogram = await negElboHistogram(scores, `Negative ELBO of ${test.count} test images`);
  files.push(
    ['images/final/neg-elbo-histogram.png', histogram.png],
    ['images/final/neg-elbo-histogram.vl.json', JSON.stringify(histogram.spec)],
  );
  if (vae.latentDim === 2) {
    const scatter = await latentScatter(vae, test);
    files.push(['images/final/manifold.png', await manifoldPng(vae, image)]);
    files.push(['images/final/latent-scatter.png', scatter.png], ['images/final/latent-scatter.vl.json', JSON.stringify(scatter.spec)]);
  }
  return files;
}
