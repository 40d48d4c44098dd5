// Burda et al.'s two stochastic layers (top-layer.ts) as TensorFlow graph ops, the formulas of Vae's twoLayerDraws,
// for the training step and evaluation; TensorFlow differentiates them like the rest of vae-graph.ts.
import type { GraphBuilder, Ref } from '../tfjs-bridge/graph-builder.ts';
import { logNormal } from './pairwise-graph.ts';
import type { TopLayer } from './top-layer.ts';
import type { Vae } from './vae.ts';
import {
  decoderGraph,
  encoderGraph,
  logPosterior,
  logPrior,
  modelGraph,
  reconstructionNll,
  reparameterize,
  type ImportanceWeightsGraph,
  type ReconstructionSum,
  type VaeGraph,
  type WeightRefs,
} from './vae-graph.ts';

/** One draw of both layers per example (`eps` [batch, noiseDim]): oneLayerVaeGraph's terms, the KL estimated from the sample. */
export function twoLayerVaeGraph(g: GraphBuilder, vae: Vae, x: Ref, eps: Ref, pixels: number, weight: WeightRefs): VaeGraph {
  const top = vae.top!;
  const { mu, logvar } = encoderGraph(g, vae, x, weight);
  const [eps1, eps2] = g.splitColumns(eps, [vae.latentDim, top.latentDim]);
  const z = reparameterize(g, mu, logvar, eps1);
  const params = decoderGraph(g, vae, z, g.leadingDim(eps), weight);
  const { logQ2, logP } = upperLayer(g, vae, top, z, eps2, weight);
  const kl = g.op('Sub', g.op('AddV2', logPosterior(g, eps1, logvar), logQ2), logP);
  return {
    mu,
    logvar,
    z,
    recon: reconstructionNll(g, vae.likelihood, params, x, pixels),
    kl: { elements: g.expandDims(kl, 1), scale: 1, offset: 0 },
  };
}

/**
 * k draws of both layers per example (`eps` [batch * k, noiseDim]): oneLayerImportanceWeightsGraph's weights and
 * terms, with its `reconstruction`.
 */
export function twoLayerImportanceWeightsGraph(
  g: GraphBuilder,
  vae: Vae,
  x: Ref,
  eps: Ref,
  pixels: number,
  weight: WeightRefs,
  reconstruction: ReconstructionSum,
): ImportanceWeightsGraph {
  const top = vae.top!;
  const latent = vae.latentDim;
  const { mu, logvar } = encoderGraph(g, vae, x, weight);
  const b = g.leadingDim(x);
  const byExample = (t: Ref, width: number) => g.reshape(t, g.concat([b, g.constant([-1, width], [2], 'int32')], 0, 'int32'));
  const perDraw = (t: Ref) => g.reshape(t, g.concat([b, g.constant([-1], [1], 'int32')], 0, 'int32'));
  const [eps1, eps2] = g.splitColumns(eps, [latent, top.latentDim]);
  const [logvar3, eps3] = [byExample(logvar, latent), byExample(eps1, latent)];
  // z1 as rows again for the networks above and below it.
  const z1 = g.reshape(reparameterize(g, byExample(mu, latent), logvar3, eps3), [-1, latent]);
  const params = decoderGraph(g, vae, z1, g.leadingDim(eps), weight);
  const recon = reconstruction(g, vae.likelihood, byExample(params, pixels), byExample(x, pixels), pixels);
  const { logQ2, logP } = upperLayer(g, vae, top, z1, eps2, weight);
  const kl = g.op('Sub', g.op('AddV2', logPosterior(g, eps3, logvar3), perDraw(logQ2)), perDraw(logP));
  return { logW: g.op('Sub', g.op('Neg', recon), kl), recon: g.mean(recon, 1), kl: g.mean(kl, 1) };
}

/** For rows of z1 [n, latent] and z2's noise: log q(z2|z1) and log p(z1|z2) + log p(z2), [n] each. */
function upperLayer(g: GraphBuilder, vae: Vae, top: TopLayer, z1: Ref, eps2: Ref, weight: WeightRefs): { logQ2: Ref; logP: Ref } {
  const n = g.leadingDim(eps2);
  const [mu2, logvar2] = modelGraph(g, top.encoder, z1, n, weight);
  const z2 = reparameterize(g, mu2, logvar2, eps2);
  const [priorMu1, priorLogvar1] = modelGraph(g, top.decoder, z2, n, weight);
  const logP = g.op('AddV2', g.sum(logNormal(g, z1, priorMu1, priorLogvar1), [-1]), logPrior(g, vae, z2, weight));
  return { logQ2: logPosterior(g, eps2, logvar2), logP };
}
