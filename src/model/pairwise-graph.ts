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

/**
 * prior.ts's pairwiseLogNormal: [n, K]. The square is expanded, sum_d (z_d - m_kd)^2 / v_kd = (z^2) . (1/v_k) -
 * 2 z . (m_k / v_k) + sum_d m_kd^2 / v_kd, so that two matrix products do the work and nothing [n, K, d] is made
 * (500 components against an evaluation chunk's 25,000 samples would be 2.5 GB). The three terms grow as 1/variance
 * and cancel where z sits near a narrow component, so they are summed in float64: in float32 a component of
 * log-variance -12 with means of size 1 is off by nats, and training learns to exploit it (a VampPrior run in PyTorch
 * reached a test KL of -65 nats so). float64's rounding is a billion times smaller.
 */
export function pairwiseLogNormal(g: GraphBuilder, z: Ref, means: Ref, logvars: Ref, latent: number): Ref {
  const precision = g.op('Exp', g.op('Neg', logvars));
  const [z64, means64, precision64] = [z, means, precision].map((t) => g.cast(t, 'float32', 'float64'));
  const scaledMeans = g.op64('Mul', means64, precision64);
  const crossTerm = g.matMul(z64, scaledMeans, true, 'float64');
  const quadratic = g.op64(
    'AddV2',
    g.op64('Sub', g.matMul(g.op64('Square', z64), precision64, true, 'float64'), g.op64('AddV2', crossTerm, crossTerm)),
    g.sum(g.op64('Mul', means64, scaledMeans), [1], 'float64'),
  );
  const perComponent = g.op('AddV2', g.sum(logvars, [1]), g.scalar(latent * LOG_2PI));
  return g.op('Mul', g.op('AddV2', g.cast(quadratic, 'float64', 'float32'), perComponent), g.scalar(-0.5));
}
