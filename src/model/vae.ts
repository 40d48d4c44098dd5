import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import { klPart, type KlObjective } from './objective.ts';
import { bernoulliNll, gaussianNll, klToStandardNormal, reparameterize } from './loss.ts';
import type { ImageShape } from '../data/images.ts';
import { buildDecoder, buildEncoder, convShapeProblem } from './networks.ts';
import { UserError } from '../errors.ts';

/** How the decoder's outputs are read: Bernoulli logits (bce) or Gaussian means with a fixed std (mse). */
export type Likelihood = { kind: 'bernoulli' } | { kind: 'gaussian'; std: number };

/** Per-example means over a batch, as scalars. */
export type ElboTerms = {
  /** recon + the objective's KL part: what the optimiser minimises. */
  loss: tf.Scalar;
  recon: tf.Scalar;
  kl: tf.Scalar;
};

export class Vae {
  constructor(
    readonly encoder: tf.LayersModel,
    readonly decoder: tf.LayersModel,
    readonly likelihood: Likelihood,
    readonly latentDim: number,
  ) {}

  encode(x: tf.Tensor2D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    const [mu, logvar] = this.encoder.apply(x) as tf.Tensor2D[];
    return { mu, logvar };
  }

  /** Logits (Bernoulli) or means (Gaussian), one per pixel and channel. */
  decode(z: tf.Tensor2D): tf.Tensor2D {
    return this.decoder.apply(z) as tf.Tensor2D;
  }

  /** Pixel intensities to look at: sigmoid of the logits, or the Gaussian means clipped to [0, 1]. */
  decodeToImages(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => (this.likelihood.kind === 'bernoulli' ? tf.sigmoid(this.decode(z)) : tf.clipByValue(this.decode(z), 0, 1)));
  }

  /** Per-example reconstruction NLL and KL for one reparameterised sample per example (noise `eps`). */
  perExampleTerms(x: tf.Tensor2D, eps: tf.Tensor2D): { recon: tf.Tensor1D; kl: tf.Tensor1D } {
    return tf.tidy(() => {
      const { recon, kl } = this.forward(x, eps);
      return { recon, kl };
    });
  }

  /** The posterior, its sample and the per-example terms. */
  private forward(x: tf.Tensor2D, eps: tf.Tensor2D) {
    const { mu, logvar } = this.encode(x);
    const z = reparameterize(mu, logvar, eps);
    const params = this.decode(z);
    const recon = this.likelihood.kind === 'bernoulli' ? bernoulliNll(params, x) : gaussianNll(params, x, this.likelihood.std);
    return { mu, logvar, z, recon, kl: klToStandardNormal(mu, logvar) };
  }

  /** The batch's loss terms, per example: every term is a mean over the batch of per-example sums. */
  batchLoss(x: tf.Tensor2D, eps: tf.Tensor2D, objective: KlObjective): ElboTerms {
    return tf.tidy(() => {
      const { mu, logvar, z, recon, kl } = this.forward(x, eps);
      const [meanRecon, meanKl] = [tf.mean(recon) as tf.Scalar, tf.mean(kl) as tf.Scalar];
      return { loss: meanRecon.add(klPart(objective, { z, mu, logvar, meanKl })) as tf.Scalar, recon: meanRecon, kl: meanKl };
    });
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.encoder.trainableWeights, ...this.decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  }

  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
  }
}

export function likelihoodOf(loss: ResolvedSpec['loss']): Likelihood {
  return loss.reconstruction === 'bce' ? { kind: 'bernoulli' } : { kind: 'gaussian', std: loss.gaussian_std };
}

export class ModelConfigError extends UserError {}

/** Builds the VAE a spec describes, with weights drawn from the spec's seed. */
export function buildVae(spec: ResolvedSpec, image: ImageShape): Vae {
  const { model } = spec;
  if (model.architecture === 'conv') {
    for (const side of ['encoder', 'decoder'] as const) {
      const problem = convShapeProblem(model[side], image);
      if (problem) throw new ModelConfigError(`model.${side}.hidden: ${problem}`);
    }
  }
  const rng = seedrandom(`${spec.seed}:init`);
  const nextSeed = () => rng.int32() >>> 0;
  const encoder = buildEncoder(model.architecture, model.encoder, image, model.latent_dim, nextSeed);
  const decoder = buildDecoder(model.architecture, model.decoder, image, model.latent_dim, nextSeed);
  return new Vae(encoder, decoder, likelihoodOf(spec.loss), model.latent_dim);
}
