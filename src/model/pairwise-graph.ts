// Gaussian log-densities as graph ops: of each element (logNormal), and of every sample against every component,
// for β-TCVAE's minibatch-weighted estimate of q(z) (loss.ts's betaTcTerms) and a mixture prior's log p(z)
// (prior.ts's pairwiseLogNormal).
import type { GraphBuilder, Ref } from '../tfjs-bridge/graph-builder.ts';

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * loss.ts's logNormal: log N(z | mean, exp(logvar)) of each element, broadcasting. The precision exp(-logvar) is
 * taken on logvar's own shape and multiplied, not divided, into the (often far larger) broadcast square.
 */
export function logNormal(g: GraphBuilder, z: Ref, mean: Ref, logvar: Ref): Ref {
  const square = g.op('Mul', g.op('Square', g.op('Sub', z, mean)), g.op('Exp', g.op('Neg', logvar)));
  return g.op('Mul', g.scalar(-0.5), g.op('AddV2', g.op('AddV2', g.scalar(LOG_2PI), logvar), square));
}

/**
 * β-TCVAE's three parts of the KL of each example, [batch] each, as loss.ts's betaTcTerms computes their batch
 * means, for a training set and batch whose log(N M) is `logNM` (a scalar).
 */
export function betaTcPerExample(g: GraphBuilder, z: Ref, mu: Ref, logvar: Ref, logNM: Ref): { mi: Ref; tc: Ref; dimKl: Ref } {
  // [i, m, j]: log q(z_ij | x_m), each sample against each example's posterior.
  const pairs = logNormal(g, g.expandDims(z, 1), g.expandDims(mu, 0), g.expandDims(logvar, 0));
  const logQz = g.op('Sub', g.logSumExp(g.sum(pairs, [2]), 1), logNM);
  const logQzProduct = g.sum(g.op('Sub', g.logSumExp(pairs, 1), logNM), [1]);
  const logQzx = g.sum(logNormal(g, z, mu, logvar), [1]);
  const logPz = g.sum(g.op('Mul', g.scalar(-0.5), g.op('AddV2', g.scalar(LOG_2PI), g.op('Square', z))), [1]);
  return { mi: g.op('Sub', logQzx, logQz), tc: g.op('Sub', logQz, logQzProduct), dimKl: g.op('Sub', logQzProduct, logPz) };
}

/** prior.ts's pairwiseLogNormal: [n, K], the square expanded into two matrix products. */
export function pairwiseLogNormal(g: GraphBuilder, z: Ref, means: Ref, logvars: Ref, latent: number): Ref {
  const precision = g.op('Exp', g.op('Neg', logvars));
  const scaledMeans = g.op('Mul', means, precision);
  const perComponent = g.op('AddV2', g.sum(g.op('AddV2', logvars, g.op('Mul', means, scaledMeans)), [1]), g.scalar(latent * LOG_2PI));
  const quadratic = g.op('Sub', g.matMul(g.op('Square', z), precision, true), g.op('Mul', g.matMul(z, scaledMeans, true), g.scalar(2)));
  return g.op('Mul', g.op('AddV2', quadratic, perComponent), g.scalar(-0.5));
}
