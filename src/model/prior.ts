// p(z), the VAE's prior: N(0, I), or a mixture of K diagonal Gaussians whose parameters are learned.
//   vamp: the VampPrior (Tomczak & Welling 2018), p(z) = (1/K) sum_k q(z | u_k), the encoder's posteriors at K
//         pseudo-inputs u_k, images the prior learns;
//   mog:  a mixture of K Gaussians with learned means, log-variances and weights.
// A learned prior is a third network beside the encoder and decoder: bias-free dense layers on a K x K identity,
// each of which is its weight matrix. So its parameters are saved, loaded, checkpointed and trained exactly as the
// other two networks' are; the maths reads the matrices directly (priorParameters).
import * as tf from '@tensorflow/tfjs';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import type { SeedSource } from './networks.ts';

/** A prior with parameters, and the network that holds them (buildPrior). */
export interface LearnedPrior {
  kind: Exclude<ResolvedSpec['model']['prior'], 'standard'>;
  network: tf.LayersModel;
}

/** The mixture's components, for z of `latent` dimensions: means and log-variances [K, latent], log-weights [K]. */
export interface MixtureComponents {
  means: tf.Tensor2D;
  logvars: tf.Tensor2D;
  logWeights: tf.Tensor1D;
}

/** The prior a spec asks for, or undefined for N(0, I), which has no parameters. */
export function buildPrior(model: ResolvedSpec['model'], pixels: number, nextSeed: SeedSource): LearnedPrior | undefined {
  if (model.prior === 'standard') return undefined;
  return { kind: model.prior, network: priorNetwork(model, pixels, nextSeed) };
}

function priorNetwork(model: ResolvedSpec['model'], pixels: number, nextSeed: SeedSource): tf.LayersModel {
  const k = model.prior === 'vamp' ? model.vamp.components : model.mog.components;
  const identity = tf.input({ shape: [k], name: 'components' });
  const weights = (units: number, name: string, kernelInitializer: ReturnType<typeof tf.initializers.zeros>) =>
    tf.layers.dense({ units, useBias: false, name, kernelInitializer }).apply(identity) as tf.SymbolicTensor;
  const outputs =
    model.prior === 'vamp'
      ? [weights(pixels, 'pseudo_inputs', tf.initializers.randomNormal({ mean: 0.05, stddev: 0.01, seed: nextSeed() }))]
      : [
          weights(model.latent_dim, 'prior_means', tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: nextSeed() })),
          weights(model.latent_dim, 'prior_logvars', tf.initializers.zeros()),
          weights(1, 'prior_logits', tf.initializers.zeros()),
        ];
  return tf.model({ inputs: identity, outputs, name: 'prior' });
}

/** The prior as the run's log names it, e.g. `VampPrior, K = 500 (KL estimated from the sample)`; empty for N(0, I). */
export function describePrior(model: ResolvedSpec['model']): string {
  if (model.prior === 'standard') return '';
  const named =
    model.prior === 'vamp' ? `VampPrior, K = ${model.vamp.components}` : `mixture-of-Gaussians prior, K = ${model.mog.components}`;
  return `${named} (KL estimated from the sample)`;
}

/**
 * The prior's parameters, read straight from its layers (running the network would multiply by a K x K identity):
 * vamp [pseudo-inputs, K x pixels, before their clip to [0, 1]]; mog [means, log-variances (K x latent), logits (K x 1)].
 */
export function priorParameters(prior: LearnedPrior): tf.Variable[] {
  const names = prior.kind === 'vamp' ? ['pseudo_inputs'] : ['prior_means', 'prior_logvars', 'prior_logits'];
  return names.map((name) => prior.network.getLayer(name).trainableWeights[0].read() as tf.Variable);
}

/**
 * log N(z_n | mean_k, exp(logvar_k)) summed over dimensions, for every row n of z [n, d] against every component k:
 * [n, K]. Term by term, (z_n - m_k)^2 / v_k as an [n, K, d] tensor, so nothing cancels; in chunks of rows that keep
 * that tensor near 100 MB (an evaluation chunk's 25,000 samples against 500 components of 50 dimensions would be
 * 2.5 GB at once). The graph step's form (pairwise-graph.ts) expands the square into matrix products instead, in
 * float64, which tfjs lacks; this is the definition it is tested against.
 */
export function pairwiseLogNormal(z: tf.Tensor2D, means: tf.Tensor2D, logvars: tf.Tensor2D): tf.Tensor2D {
  const [n, d] = z.shape;
  const rows = Math.max(1, Math.floor(25_000_000 / (means.shape[0] * d)));
  return tf.tidy(() => {
    const precision = tf.exp(tf.neg(logvars)).expandDims(0);
    const perComponent = tf.sum(logvars, 1).add(d * Math.log(2 * Math.PI));
    const chunks = [];
    for (let start = 0; start < n; start += rows) {
      const zs = z.slice([start, 0], [Math.min(rows, n - start), d]).expandDims(1);
      chunks.push(tf.sum(tf.square(tf.sub(zs, means.expandDims(0))).mul(precision), 2));
    }
    return (chunks.length === 1 ? chunks[0] : tf.concat(chunks, 0)).add(perComponent).mul(-0.5) as tf.Tensor2D;
  });
}

/** log p(z) of each row of z [n, d] under the mixture: [n]. */
export function mixtureLogDensity(z: tf.Tensor2D, components: MixtureComponents): tf.Tensor1D {
  return tf.tidy(() => tf.logSumExp(pairwiseLogNormal(z, components.means, components.logvars).add(components.logWeights), 1));
}

/** log N(z | 0, I) of each row: [n]. */
export function standardLogDensity(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.square(z).add(Math.log(2 * Math.PI)), 1).mul(-0.5));
}

/**
 * `count` draws from the mixture: a component for each from `uniforms` (one U(0, 1) number per draw, read against
 * the mixture's weights), then mean + std * eps.
 */
export async function sampleMixture(components: MixtureComponents, eps: tf.Tensor2D, uniforms: number[]): Promise<tf.Tensor2D> {
  const probabilities = tf.exp(components.logWeights);
  const weights = Array.from(await probabilities.data());
  probabilities.dispose();
  const total = weights.reduce((a, b) => a + b, 0);
  const picks = uniforms.map((u) => {
    let left = u * total;
    for (let k = 0; k < weights.length; k++) if ((left -= weights[k]) < 0) return k;
    return weights.length - 1;
  });
  return tf.tidy(() => {
    const index = tf.tensor1d(picks, 'int32');
    const [means, logvars] = [tf.gather(components.means, index), tf.gather(components.logvars, index)];
    return means.add(tf.exp(logvars.mul(0.5)).mul(eps)) as tf.Tensor2D;
  });
}
