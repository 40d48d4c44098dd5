// Burda et al. (2015)'s second stochastic layer (Appendix C), for model.stochastic_layers 2: z2 above z1, with
// q(z2|z1) and p(z1|z2) diagonal Gaussians from dense networks, and p(z2) = N(0, I). Like a learned prior, the two
// are networks beside the encoder and decoder, saved, loaded, checkpointed and trained as theirs are.
import * as tf from '@tensorflow/tfjs';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import { buildGaussianMlp, type SeedSource } from './networks.ts';

export interface TopLayer {
  /** q(z2|z1): [mean, log-variance] of z2 from the sampled z1. */
  encoder: tf.LayersModel;
  /** p(z1|z2): [mean, log-variance] of z1 from z2. */
  decoder: tf.LayersModel;
  /** The size of z2. */
  latentDim: number;
}

/** The second layer a spec asks for, or undefined for a single stochastic layer. */
export function buildTopLayer(model: ResolvedSpec['model'], nextSeed: SeedSource): TopLayer | undefined {
  if (model.stochastic_layers === 1) return undefined;
  const { latent_dim: top, hidden } = model.top_layer;
  const encoder = buildGaussianMlp('top_encoder', model.latent_dim, { hidden, activation: model.encoder.activation }, top, nextSeed);
  const decoder = buildGaussianMlp('top_decoder', top, { hidden, activation: model.decoder.activation }, model.latent_dim, nextSeed);
  return { encoder, decoder, latentDim: top };
}

/** The two-layer model's part of the run's "model ..." line, e.g. `-100-100-50 (2 stochastic layers: 100, 50)`. */
export function describeTopLayer(model: ResolvedSpec['model']): string {
  if (model.stochastic_layers === 1) return '';
  const { latent_dim: top, hidden } = model.top_layer;
  return `-${[...hidden, top].join('-')} (2 stochastic layers: ${model.latent_dim}, ${top})`;
}
