import type { Matrix } from './factor-sampler.ts';
import { logAbsDeterminant } from './log-determinant.ts';
import { covarianceMatrix } from './statistics.ts';

/**
 * Total correlation of a Gaussian with covariance cov (disentanglement_lib's gaussian_total_correlation): the KL
 * divergence from the Gaussian to the product of its marginals, 0.5 * (sum log diag(cov) - log det cov). Zero for
 * independent dimensions; -0.5 log(1 - rho^2) for a pair with correlation rho.
 */
export function gaussianTotalCorrelation(cov: readonly (readonly number[])[]): number {
  const logDiagonal = cov.reduce((sum, row, i) => sum + Math.log(row[i]), 0);
  return 0.5 * (logDiagonal - logAbsDeterminant(cov));
}

/** The total correlation of a Gaussian fitted to the codes (sample covariance, ddof = 1, as np.cov). */
export function gaussianTotalCorrelationOfCodes(codes: Matrix): number {
  return gaussianTotalCorrelation(covarianceMatrix(codes));
}
