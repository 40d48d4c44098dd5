import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import { klPart, type Objective } from './objective.ts';
import { bernoulliNll, gaussianNll, klToStandardNormal, logNormal, reparameterize } from './loss.ts';
import { pixelsPerImage, type ImageShape } from '../data/images.ts';
import { buildDecoder, buildEncoder, convShapeProblem } from './networks.ts';
import { UserError } from '../errors.ts';
import {
  buildPrior,
  priorParameters,
  mixtureLogDensity,
  sampleMixture,
  standardLogDensity,
  type LearnedPrior,
  type MixtureComponents,
} from './prior.ts';
import { seededNormal } from './noise.ts';
import { buildTopLayer, type TopLayer } from './top-layer.ts';
import type { NetworkName } from '../record/run-record.ts';

const LOG_2PI = Math.log(2 * Math.PI);

/** How the decoder's outputs are read: Bernoulli logits (bce) or Gaussian means with a fixed std (mse). */
export type Likelihood = { kind: 'bernoulli' } | { kind: 'gaussian'; std: number };

/** Per-example means over a batch, as scalars. */
export type ElboTerms = {
  /** recon + the objective's KL part, or the negative importance-weighted bound: what the optimiser minimises. */
  loss: tf.Scalar;
  recon: tf.Scalar;
  kl: tf.Scalar;
  /** The objective's own terms (objectiveTerms), e.g. β-TCVAE's MI, TC and dimension-wise KL. */
  terms: tf.Scalar[];
};

export class Vae {
  constructor(
    readonly encoder: tf.LayersModel,
    readonly decoder: tf.LayersModel,
    readonly likelihood: Likelihood,
    readonly latentDim: number,
    /** A learned p(z); N(0, I) without one. */
    readonly prior?: LearnedPrior,
    /** A second stochastic layer z2 above z (model.stochastic_layers 2); z, its encoder and decoder are then z1's. */
    readonly top?: TopLayer,
  ) {}

  /** The noise of one draw: a row of z1's columns, then z2's when there are two stochastic layers. */
  get noiseDim(): number {
    return this.latentDim + (this.top?.latentDim ?? 0);
  }

  /** Whether the KL has no closed form and is estimated from the sample: a learned prior, or two stochastic layers. */
  get klIsSampled(): boolean {
    return this.prior !== undefined || this.top !== undefined;
  }

  get networks(): [NetworkName, tf.LayersModel][] {
    return [
      ['encoder', this.encoder],
      ['decoder', this.decoder],
      ...(this.prior ? [['prior', this.prior.network] as [NetworkName, tf.LayersModel]] : []),
      ...(this.top
        ? ([
            ['top_encoder', this.top.encoder],
            ['top_decoder', this.top.decoder],
          ] as [NetworkName, tf.LayersModel][])
        : []),
    ];
  }

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

  /** The learned prior's mixture: for vamp the encoder's posteriors at the pseudo-inputs, with equal weights. */
  priorComponents(): MixtureComponents {
    const prior = this.prior;
    if (!prior) throw new Error('N(0, I) is not a mixture');
    return tf.tidy(() => {
      if (prior.kind === 'vamp') {
        const [pseudoInputs] = priorParameters(prior);
        // Tomczak & Welling's hardtanh to [0, 1]: the pseudo-inputs stay images the encoder can read.
        const { mu, logvar } = this.encode(tf.clipByValue(pseudoInputs, 0, 1) as tf.Tensor2D);
        const k = mu.shape[0];
        return { means: mu, logvars: logvar, logWeights: tf.fill([k], -Math.log(k)) as tf.Tensor1D };
      }
      const [means, logvars, logits] = priorParameters(prior) as tf.Tensor2D[];
      const flat = tf.reshape(logits, [-1]) as tf.Tensor1D;
      return { means: tf.clone(means), logvars: tf.clone(logvars), logWeights: flat.sub(tf.logSumExp(flat)) as tf.Tensor1D };
    });
  }

  /** log p(z) of each row of z: [n]. */
  logPrior(z: tf.Tensor2D): tf.Tensor1D {
    if (!this.prior) return standardLogDensity(z);
    return tf.tidy(() => mixtureLogDensity(z, this.priorComponents()));
  }

  /** `count` codes drawn from the prior with a fixed seed. */
  async samplePrior(count: number, seed: number): Promise<tf.Tensor2D> {
    if (this.top) return this.sampleTwoLayerPrior(this.top, count, seed);
    const eps = seededNormal(count, this.latentDim, seed);
    if (!this.prior) return eps;
    const rng = seedrandom(`${seed}:component`);
    const components = this.priorComponents();
    const z = await sampleMixture(
      components,
      eps,
      Array.from({ length: count }, () => rng()),
    );
    tf.dispose([eps, components.means, components.logvars, components.logWeights]);
    return z;
  }

  /** z1 ~ p(z1|z2) for z2 ~ N(0, I), each from noise of its own seed. */
  private sampleTwoLayerPrior(top: TopLayer, count: number, seed: number): tf.Tensor2D {
    return tf.tidy(() => {
      const [mean, logvar] = top.decoder.apply(seededNormal(count, top.latentDim, seed)) as tf.Tensor2D[];
      return reparameterize(mean, logvar, seededNormal(count, this.latentDim, seedrandom(`${seed}:z1`).int32()));
    });
  }

  /**
   * KL(q(z|x) || p(z)) of each example: in closed form for N(0, I), otherwise estimated from the sample z = mu +
   * sigma * eps as log q(z|x) - log p(z).
   */
  private klOf(z: tf.Tensor2D, mu: tf.Tensor2D, logvar: tf.Tensor2D, eps: tf.Tensor2D): tf.Tensor1D {
    if (!this.prior) return klToStandardNormal(mu, logvar);
    return tf.tidy(() => logPosterior(eps, logvar).sub(this.logPrior(z)));
  }

  /** Per-example reconstruction NLL and KL for one reparameterised sample per example (noise `eps`). */
  perExampleTerms(x: tf.Tensor2D, eps: tf.Tensor2D): { recon: tf.Tensor1D; kl: tf.Tensor1D } {
    return tf.tidy(() => {
      const { recon, kl } = this.forward(x, eps);
      return { recon, kl };
    });
  }

  /**
   * k samples of z per example: log p(x|z_i) + log p(z_i) - log q(z_i|x) as a [batch, k] tensor, and the
   * per-example reconstruction NLL (its mean over the k samples) and KL. `eps` is [batch * k, noiseDim], the draws of
   * example i in rows i * k to i * k + k - 1. With two stochastic layers z is (z1, z2): see twoLayerDraws.
   */
  importanceWeights(x: tf.Tensor2D, eps: tf.Tensor2D, k: number): { logW: tf.Tensor2D; recon: tf.Tensor1D; kl: tf.Tensor1D } {
    if (this.top) return this.twoLayerImportanceWeights(this.top, x, eps, k);
    return tf.tidy(() => {
      const { mu, logvar } = this.encode(x);
      const b = mu.shape[0];
      const repeat = (t: tf.Tensor2D) => repeatRows(t, k);
      const [muR, logvarR] = [repeat(mu), repeat(logvar)];
      const z = reparameterize(muR, logvarR, eps);
      const params = this.decode(z);
      const reconR = this.reconstructionNll(params, repeat(x));
      const logPz = this.logPrior(z);
      const logQz = logPosterior(eps, logvarR);
      const byExample = (t: tf.Tensor1D) => tf.reshape(t, [b, k]) as tf.Tensor2D;
      return {
        logW: byExample(tf.neg(reconR).add(logPz).sub(logQz)),
        recon: tf.mean(byExample(reconR), 1) as tf.Tensor1D,
        // A learned prior's KL is estimated from the same draws.
        kl: this.prior ? (tf.mean(byExample(logQz.sub(logPz)), 1) as tf.Tensor1D) : klToStandardNormal(mu, logvar),
      };
    });
  }

  /** importanceWeights for two layers: log w of a draw is -(its reconstruction NLL + its sampled KL). */
  private twoLayerImportanceWeights(top: TopLayer, x: tf.Tensor2D, eps: tf.Tensor2D, k: number) {
    return tf.tidy(() => {
      const { recon, kl } = this.twoLayerDraws(top, x, eps, k);
      const byExample = (t: tf.Tensor1D) => tf.reshape(t, [x.shape[0], k]) as tf.Tensor2D;
      const [reconK, klK] = [byExample(recon), byExample(kl)];
      return { logW: tf.neg(reconK).sub(klK) as tf.Tensor2D, recon: tf.mean(reconK, 1) as tf.Tensor1D, kl: tf.mean(klK, 1) as tf.Tensor1D };
    });
  }

  /**
   * k draws of (z1, z2) per example from q(z1|x) q(z2|z1), `eps` [batch * k, noiseDim] as in importanceWeights: q(z1|x)'s
   * moments, the z1 of each draw, its reconstruction NLL -log p(x|z1) and its KL estimated from the sample,
   * log q(z1|x) + log q(z2|z1) - log p(z1|z2) - log p(z2).
   */
  private twoLayerDraws(top: TopLayer, x: tf.Tensor2D, eps: tf.Tensor2D, k: number) {
    const { mu, logvar } = this.encode(x);
    const [eps1, eps2] = tf.split(eps, [this.latentDim, top.latentDim], 1) as tf.Tensor2D[];
    const logvarR = repeatRows(logvar, k);
    const z1 = reparameterize(repeatRows(mu, k), logvarR, eps1);
    const [mu2, logvar2] = top.encoder.apply(z1) as tf.Tensor2D[];
    const z2 = reparameterize(mu2, logvar2, eps2);
    const [priorMu1, priorLogvar1] = top.decoder.apply(z2) as tf.Tensor2D[];
    const recon = this.reconstructionNll(this.decode(z1), repeatRows(x, k));
    const logQ = logPosterior(eps1, logvarR).add(logPosterior(eps2, logvar2));
    const logP = tf.sum(logNormal(z1, priorMu1, priorLogvar1), 1).add(standardLogDensity(z2));
    return { mu, logvar, z1, recon, kl: logQ.sub(logP) as tf.Tensor1D };
  }

  /** The posterior, its sample and the per-example terms. */
  private forward(x: tf.Tensor2D, eps: tf.Tensor2D) {
    if (this.top) {
      const { mu, logvar, z1, recon, kl } = this.twoLayerDraws(this.top, x, eps, 1);
      return { mu, logvar, z: z1, recon, kl };
    }
    const { mu, logvar } = this.encode(x);
    const z = reparameterize(mu, logvar, eps);
    const params = this.decode(z);
    const recon = this.reconstructionNll(params, x);
    return { mu, logvar, z, recon, kl: this.klOf(z, mu, logvar, eps) };
  }

  /** -log p(x|z) of each row, from the decoder's outputs. */
  private reconstructionNll(params: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor1D {
    return this.likelihood.kind === 'bernoulli' ? bernoulliNll(params, x) : gaussianNll(params, x, this.likelihood.std);
  }

  /**
   * The batch's loss terms, per example: every term is a mean over the batch of per-example sums. For IWAE, `eps`
   * holds k draws per example and recon is the mean over them.
   */
  batchLoss(x: tf.Tensor2D, eps: tf.Tensor2D, objective: Objective): ElboTerms {
    return tf.tidy(() => {
      if (objective.kind === 'iwae') {
        const k = objective.samples;
        const { logW, recon, kl } = this.importanceWeights(x, eps, k);
        const bound = tf.mean(tf.logSumExp(logW, 1).sub(Math.log(k))) as tf.Scalar;
        return { loss: tf.neg(bound), recon: tf.mean(recon) as tf.Scalar, kl: tf.mean(kl) as tf.Scalar, terms: [] };
      }
      const { mu, logvar, z, recon, kl } = this.forward(x, eps);
      const [meanRecon, meanKl] = [tf.mean(recon) as tf.Scalar, tf.mean(kl) as tf.Scalar];
      const { part, terms } = klPart(objective, { z, mu, logvar, meanKl });
      return { loss: meanRecon.add(part) as tf.Scalar, recon: meanRecon, kl: meanKl, terms };
    });
  }

  get trainableVariables(): tf.Variable[] {
    return this.networks.flatMap(([, net]) => net.trainableWeights).map((w) => w.read() as tf.Variable);
  }

  dispose(): void {
    for (const [, net] of this.networks) net.dispose();
  }
}

/** Each row of t k times in a row: [rows * k, columns], the draws of one example side by side. */
function repeatRows(t: tf.Tensor2D, k: number): tf.Tensor2D {
  return tf.reshape(tf.tile(tf.expandDims(t, 1), [1, k, 1]), [t.shape[0] * k, t.shape[1]]) as tf.Tensor2D;
}

/** log q(z|x) of each row for z = mu + sigma * eps: (z - mu) / sigma is eps itself, so it needs no division. */
function logPosterior(eps: tf.Tensor2D, logvar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.square(eps).add(logvar).add(LOG_2PI), 1).mul(-0.5));
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
  // Drawn after the other two, so a model with the standard prior starts from the same weights as before priors.
  const prior = buildPrior(model, pixelsPerImage(image), nextSeed);
  // Drawn last, for the same reason.
  const top = buildTopLayer(model, nextSeed);
  return new Vae(encoder, decoder, likelihoodOf(spec.loss), model.latent_dim, prior, top);
}
