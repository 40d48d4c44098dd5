// The model's forward pass as TensorFlow graph ops, with one stochastic layer or two: the one place that picks
// vae-graph.ts's formulas or two-layer-graph.ts's (as Vae does for its tfjs ops), for the training step and evaluation.
import type { GraphBuilder, Ref } from '../tfjs-bridge/graph-builder.ts';
import { twoLayerImportanceWeightsGraph, twoLayerVaeGraph } from './two-layer-graph.ts';
import type { Vae } from './vae.ts';
import {
  oneLayerImportanceWeightsGraph,
  oneLayerVaeGraph,
  summedReconstructionNll,
  type ImportanceWeightsGraph,
  type ReconstructionSum,
  type VaeGraph,
  type WeightRefs,
} from './vae-graph.ts';

/** One reparameterised draw per example (`eps` [batch, vae.noiseDim]): the terms the ELBO and its relatives use. */
export function vaeGraph(g: GraphBuilder, vae: Vae, x: Ref, eps: Ref, pixels: number, weight: WeightRefs): VaeGraph {
  return (vae.top ? twoLayerVaeGraph : oneLayerVaeGraph)(g, vae, x, eps, pixels, weight);
}

/**
 * k draws per example (`eps` [batch * k, vae.noiseDim]): the importance weights and terms. `reconstruction` sums the
 * likelihood's terms: evaluation passes reconstructionNllSum, and training keeps the default, so IWAE runs train as
 * they did before evaluation's faster sum.
 */
export function importanceWeightsGraph(
  g: GraphBuilder,
  vae: Vae,
  x: Ref,
  eps: Ref,
  pixels: number,
  weight: WeightRefs,
  reconstruction: ReconstructionSum = summedReconstructionNll,
): ImportanceWeightsGraph {
  return (vae.top ? twoLayerImportanceWeightsGraph : oneLayerImportanceWeightsGraph)(g, vae, x, eps, pixels, weight, reconstruction);
}
