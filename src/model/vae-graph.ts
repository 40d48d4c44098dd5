// The VAE as TensorFlow graph ops, translated layer by layer from its tfjs model definition, with the loss terms of
// loss.ts written as the same formulas. The native training step and evaluation build their graphs from here, and
// TensorFlow differentiates them, so the model definition stays the one source of truth for the maths.
import type * as tf from '@tensorflow/tfjs';
import type { GraphBuilder, Ref } from '../tfjs-bridge/graph-builder.ts';
import type { Likelihood, Vae } from './vae.ts';
import { priorParameters } from './prior.ts';
import { pairwiseLogNormal } from './pairwise-graph.ts';

const LOG_2PI = Math.log(2 * Math.PI);

/** A model has a layer or setting the graph translation does not cover: the caller falls back to tfjs autodiff. */
export class GraphUnsupportedError extends Error {}

/** Where a layer's weights come from in the graph: variables being trained, or tensors fed in. */
export type WeightRefs = (variable: tf.Variable) => Ref;

/** The graph tensor of each of `params` (a VAE's trainable variables), `refs` in the same order. */
export function weightRefs(params: tf.Variable[], refs: Ref[]): WeightRefs {
  const index = new Map(params.map((p, i) => [p, i]));
  return (variable) => {
    const i = index.get(variable);
    if (i === undefined) throw new Error(`vae graph: ${variable.name} is not a trainable variable of the VAE`);
    return refs[i];
  };
}

const ACTIVATION_OPS: Record<string, string | undefined> = {
  linear: undefined,
  relu: 'Relu',
  tanh: 'Tanh',
  elu: 'Elu',
  softplus: 'Softplus',
  sigmoid: 'Sigmoid',
};

interface LayerConfig {
  activation?: string;
  useBias?: boolean;
  strides?: number[];
  padding?: 'same' | 'valid';
  dataFormat?: string;
  dilationRate?: number | number[];
}

/**
 * The outputs of `model` (in the order of model.outputs) for `input`, a batch whose size is `batch` (int32 [1]).
 * Covers what networks.ts builds: Dense, Conv2D, Conv2DTranspose, Reshape and Flatten, channels-last.
 */
export function modelGraph(g: GraphBuilder, model: tf.LayersModel, input: Ref, batch: Ref, weight: WeightRefs): Ref[] {
  const outputOf = new Map<string, Ref>();
  const translate = (layer: tf.layers.Layer): Ref => {
    const known = outputOf.get(layer.name);
    if (known) return known;
    const inbound = (layer.inboundNodes[0] as unknown as { inboundLayers: tf.layers.Layer[] }).inboundLayers;
    if (inbound.length > 1) throw new GraphUnsupportedError(`layer ${layer.name} has ${inbound.length} inputs`);
    const x = inbound.length === 0 ? input : translate(inbound[0]);
    const out = layerGraph(g, layer, x, batch, weight);
    outputOf.set(layer.name, out);
    return out;
  };
  return model.outputs.map((output) => translate(output.sourceLayer as tf.layers.Layer));
}

function layerGraph(g: GraphBuilder, layer: tf.layers.Layer, x: Ref, batch: Ref, weight: WeightRefs): Ref {
  const kind = layer.getClassName();
  const config = layer.getConfig() as LayerConfig;
  const outputShape = (layer.outputShape as (number | null)[]).slice(1) as number[];
  const [kernel, bias] = layer.trainableWeights.map((w) => weight(w.read() as tf.Variable));
  switch (kind) {
    case 'InputLayer':
      return x;
    case 'Reshape':
    case 'Flatten':
      return g.reshape(x, [-1, ...outputShape]);
    case 'Dense':
      return activate(g, layer.name, config, withBias(g, g.matMul(x, kernel), bias, config));
    case 'Conv2D':
    case 'Conv2DTranspose': {
      if (config.dataFormat !== 'channelsLast') throw new GraphUnsupportedError(`layer ${layer.name} is not channels-last`);
      if ([config.dilationRate ?? 1].flat().some((d) => d !== 1)) throw new GraphUnsupportedError(`layer ${layer.name} is dilated`);
      const padding = config.padding === 'same' ? 'SAME' : 'VALID';
      const conv =
        kind === 'Conv2D'
          ? g.conv2d(x, kernel, config.strides!, padding)
          : g.conv2dTranspose(x, kernel, g.concat([batch, g.constant(outputShape, [3], 'int32')], 0, 'int32'), config.strides!, padding);
      return activate(g, layer.name, config, withBias(g, conv, bias, config));
    }
    default:
      throw new GraphUnsupportedError(`layer ${layer.name} (${kind}) has no graph translation`);
  }
}

function withBias(g: GraphBuilder, x: Ref, bias: Ref | undefined, config: LayerConfig): Ref {
  return config.useBias === false || bias === undefined ? x : g.biasAdd(x, bias);
}

function activate(g: GraphBuilder, layerName: string, config: LayerConfig, x: Ref): Ref {
  const activation = config.activation ?? 'linear';
  if (!(activation in ACTIVATION_OPS))
    throw new GraphUnsupportedError(`layer ${layerName}: activation ${activation} has no graph translation`);
  const op = ACTIVATION_OPS[activation];
  return op ? g.op(op, x) : x;
}

// The loss terms as in loss.ts. Each is, per example, scale * (sum of its elements over pixels or latent
// dimensions) + offset: evaluation reduces it (perExample), and the training step hands TensorFlow the elements
// with their weight in the batch's loss, so the gradient machinery of the sums, the mean over the batch and the
// scalar factors (about 90 small kernels a step for the MLP) never runs.

/** A loss term of each example: scale * sum(elements over the last axis) + offset. */
export interface SummedTerm {
  elements: Ref;
  scale: number;
  offset: number;
}

/** -log Bernoulli(x | sigmoid(logits)) = softplus(logits) - x * logits, from the logits. */
export function bernoulliNll(g: GraphBuilder, logits: Ref, x: Ref): SummedTerm {
  return { elements: g.op('Sub', g.op('Softplus', logits), g.op('Mul', x, logits)), scale: 1, offset: 0 };
}

/**
 * perExample(g, bernoulliNll(g, logits, x)) in value, the same maths arranged for importance sampling: the Bernoulli
 * NLL summed over pixels, [b, k], for the logits of k samples per example, [b, k, pixels], against x, [b, 1, pixels].
 * On the 10,000 x 50 x 784 logits of the k = 50 bound on the test set, TensorFlow's Softplus kernel took nearly as
 * long as the decoder's product, and x broadcast over the samples two more passes. With
 * softplus(l) = relu(l) + log1p(exp(-|l|)),
 *   sum_j softplus(l_j) - x_j l_j = sum_j relu(l_j) + sum_j log1p(exp(-|l_j|)) - x . l,
 * where Grappler runs abs, neg, exp and log1p as one composed kernel, and x . l is a matrix product with each
 * example's pixels. The two sums cancel where bernoulliNll's elements do not, so float32 rounding is larger: the
 * two differed by up to 2.4e-4 nats per sample on the reference model (the bound on the test set by 1e-6). Training
 * keeps bernoulliNll, since another rounding changes a run's path (IWAE k = 5, one epoch on 4,000 images: train
 * loss 226.18 against 226.69).
 */
export function bernoulliNllSum(g: GraphBuilder, logits: Ref, x: Ref): Ref {
  const tail = g.sum(g.op('Log1p', g.op('Exp', g.op('Neg', g.op('Abs', logits)))), [-1]);
  const dot = g.sum(g.batchMatMul(logits, x, true), [-1]);
  return g.op('AddV2', g.op('Sub', g.sum(g.op('Relu', logits), [-1]), dot), tail);
}

/** -log N(x | means, std^2 I) for images of `pixels` values: squared error scaled by the variance, plus the normaliser. */
export function gaussianNll(g: GraphBuilder, means: Ref, x: Ref, std: number, pixels: number): SummedTerm {
  return {
    elements: g.op('SquaredDifference', x, means),
    scale: 1 / (2 * std * std),
    offset: pixels * (Math.log(std) + 0.5 * Math.log(2 * Math.PI)),
  };
}

export function reconstructionNll(g: GraphBuilder, likelihood: Likelihood, params: Ref, x: Ref, pixels: number): SummedTerm {
  return likelihood.kind === 'bernoulli' ? bernoulliNll(g, params, x) : gaussianNll(g, params, x, likelihood.std, pixels);
}

/** The reconstruction NLL of each of k samples per example, [b, k], for params [b, k, pixels] and x [b, 1, pixels]. */
export type ReconstructionSum = (g: GraphBuilder, likelihood: Likelihood, params: Ref, x: Ref, pixels: number) => Ref;

/** As the training steps sum it: reconstructionNll's elements, then their sum. */
export const summedReconstructionNll: ReconstructionSum = (g, likelihood, params, x, pixels) =>
  perExample(g, reconstructionNll(g, likelihood, params, x, pixels));

/** As evaluation sums it: the same value, with bernoulliNllSum's fewer passes over the logits. */
export function reconstructionNllSum(g: GraphBuilder, likelihood: Likelihood, params: Ref, x: Ref, pixels: number): Ref {
  return likelihood.kind === 'bernoulli' ? bernoulliNllSum(g, params, x) : perExample(g, gaussianNll(g, params, x, likelihood.std, pixels));
}

/** KL(N(mu, exp(logvar)) || N(0, I)), in closed form. */
export function klToStandardNormal(g: GraphBuilder, mu: Ref, logvar: Ref): SummedTerm {
  return {
    elements: g.op('Sub', g.op('Sub', g.op('AddV2', g.op('Square', mu), g.op('Exp', logvar)), g.scalar(1)), logvar),
    scale: 0.5,
    offset: 0,
  };
}

/** The term of each example, [batch] (or [batch, samples] for elements of [batch, samples, ...]). */
export function perExample(g: GraphBuilder, term: SummedTerm): Ref {
  const sum = g.sum(term.elements, [-1]);
  const scaled = term.scale === 1 ? sum : g.op('Mul', sum, g.scalar(term.scale));
  return term.offset === 0 ? scaled : g.op('AddV2', scaled, g.scalar(term.offset));
}

/** z = mu + sigma * eps. */
export function reparameterize(g: GraphBuilder, mu: Ref, logvar: Ref, eps: Ref): Ref {
  return g.op('AddV2', mu, g.op('Mul', g.op('Exp', g.op('Mul', logvar, g.scalar(0.5))), eps));
}

export interface VaeGraph {
  mu: Ref;
  logvar: Ref;
  /** The reparameterised sample. */
  z: Ref;
  /** The reconstruction NLL and the KL of each example. */
  recon: SummedTerm;
  kl: SummedTerm;
}

/** The encoder on `x` [batch, pixels]: its two heads. */
export function encoderGraph(g: GraphBuilder, vae: Vae, x: Ref, weight: WeightRefs): { mu: Ref; logvar: Ref } {
  const [mu, logvar] = modelGraph(g, vae.encoder, x, g.leadingDim(x), weight);
  return { mu, logvar };
}

/** The decoder on `z`, a batch of `batch` (int32 [1]) codes: logits or means, one per pixel. */
export function decoderGraph(g: GraphBuilder, vae: Vae, z: Ref, batch: Ref, weight: WeightRefs): Ref {
  return modelGraph(g, vae.decoder, z, batch, weight)[0];
}

/** One reparameterised sample per example (noise `eps`, [batch, latent]): the per-example terms of the ELBO. */
export function oneLayerVaeGraph(g: GraphBuilder, vae: Vae, x: Ref, eps: Ref, pixels: number, weight: WeightRefs): VaeGraph {
  const { mu, logvar } = encoderGraph(g, vae, x, weight);
  // The batch size from eps, a fed tensor, so no gradient path runs through a shape.
  const z = reparameterize(g, mu, logvar, eps);
  const params = decoderGraph(g, vae, z, g.leadingDim(eps), weight);
  return { mu, logvar, z, recon: reconstructionNll(g, vae.likelihood, params, x, pixels), kl: klGraph(g, vae, z, mu, logvar, eps, weight) };
}

/**
 * KL(q(z|x) || p(z)) of each example as Vae computes it: in closed form for N(0, I); for a learned prior estimated
 * from the sample, log q(z|x) - log p(z), one element per example.
 */
function klGraph(g: GraphBuilder, vae: Vae, z: Ref, mu: Ref, logvar: Ref, eps: Ref, weight: WeightRefs): SummedTerm {
  if (!vae.prior) return klToStandardNormal(g, mu, logvar);
  const estimate = g.op('Sub', logPosterior(g, eps, logvar), logPrior(g, vae, z, weight));
  return { elements: g.expandDims(estimate, 1), scale: 1, offset: 0 };
}

/** log q(z|x) summed over the last axis for z = mu + sigma * eps: (z - mu) / sigma is eps itself. */
export function logPosterior(g: GraphBuilder, eps: Ref, logvar: Ref): Ref {
  return g.op('Mul', g.sum(g.op('AddV2', g.op('AddV2', g.op('Square', eps), logvar), g.scalar(LOG_2PI)), [-1]), g.scalar(-0.5));
}

/** log p(z) of each row of z [n, latent]: [n]. */
export function logPrior(g: GraphBuilder, vae: Vae, z: Ref, weight: WeightRefs): Ref {
  if (!vae.prior) return g.op('Mul', g.sum(g.op('AddV2', g.op('Square', z), g.scalar(LOG_2PI)), [-1]), g.scalar(-0.5));
  const { means, logvars, logWeights } = priorComponents(g, vae, weight);
  return g.logSumExp(g.op('AddV2', pairwiseLogNormal(g, z, means, logvars, vae.latentDim), logWeights), 1);
}

/** The learned prior's mixture, as Vae.priorComponents computes it. */
function priorComponents(g: GraphBuilder, vae: Vae, weight: WeightRefs): { means: Ref; logvars: Ref; logWeights: Ref } {
  const prior = vae.prior!;
  const variables = priorParameters(prior);
  const parameters = variables.map(weight);
  if (prior.kind === 'vamp') {
    const k = variables[0].shape[0];
    const pseudoInputs = g.op('Minimum', g.op('Relu', parameters[0]), g.scalar(1));
    const { mu, logvar } = encoderGraph(g, vae, pseudoInputs, weight);
    return { means: mu, logvars: logvar, logWeights: g.constant(new Array<number>(k).fill(-Math.log(k)), [k]) };
  }
  const [means, logvars, logits] = parameters;
  const flat = g.reshape(logits, [-1]);
  return { means, logvars, logWeights: g.op('Sub', flat, g.logSumExp(flat, 0)) };
}

/** k samples of z per example, as Vae.importanceWeights computes them, for `eps` of [batch * k, latent]. */
export interface ImportanceWeightsGraph {
  /** log p(x|z_i) + log p(z_i) - log q(z_i|x), [batch, k]. */
  logW: Ref;
  /** The reconstruction NLL of each example, the mean over its k samples, [batch]. */
  recon: Ref;
  /** KL(q(z|x) || N(0, I)) of each example, [batch]. */
  kl: Ref;
}

/**
 * The importance weights of k samples per example: every example's samples side by side, [b, k, ...], without
 * copying x or q's moments; k is known only when the graph runs. `reconstruction` sums the likelihood's terms
 * (forward-graph.ts's importanceWeightsGraph says which).
 */
export function oneLayerImportanceWeightsGraph(
  g: GraphBuilder,
  vae: Vae,
  x: Ref,
  eps: Ref,
  pixels: number,
  weight: WeightRefs,
  reconstruction: ReconstructionSum,
): ImportanceWeightsGraph {
  const latent = vae.latentDim;
  const { mu, logvar } = encoderGraph(g, vae, x, weight);
  const b = g.leadingDim(x);
  const byExample = (t: Ref, width: number) => g.reshape(t, g.concat([b, g.constant([-1, width], [2], 'int32')], 0, 'int32'));
  const [mu3, logvar3, eps3] = [byExample(mu, latent), byExample(logvar, latent), byExample(eps, latent)];
  const z3 = reparameterize(g, mu3, logvar3, eps3);
  const params = decoderGraph(g, vae, g.reshape(z3, [-1, latent]), g.leadingDim(eps), weight);
  const recon = reconstruction(g, vae.likelihood, byExample(params, pixels), byExample(x, pixels), pixels);
  const perDraw = (t: Ref) => g.reshape(t, g.concat([b, g.constant([-1], [1], 'int32')], 0, 'int32'));
  // The standard prior's log p(z) on [b, k, latent] directly; a mixture's takes rows of z.
  const logPz = vae.prior ? perDraw(logPrior(g, vae, g.reshape(z3, [-1, latent]), weight)) : logPrior(g, vae, z3, weight);
  const logQz = logPosterior(g, eps3, logvar3);
  return {
    logW: g.op('Sub', g.op('AddV2', g.op('Neg', recon), logPz), logQz),
    recon: g.mean(recon, 1),
    // A learned prior's KL is estimated from the same draws.
    kl: vae.prior ? g.mean(g.op('Sub', logQz, logPz), 1) : perExample(g, klToStandardNormal(g, mu, logvar)),
  };
}
