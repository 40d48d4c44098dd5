import type { LabelledCodes } from './factor-sampler.ts';
import { fitLinearSvc1d, predictLinearSvc1d } from './linear-svc-1d.ts';
import { column } from './statistics.ts';

/** disentanglement_lib's SVM regularization for discrete factors. */
const SVC_C = 0.01;

/**
 * The SAP score (Kumar et al. 2018, "Variational Inference of Disentangled Latent Concepts from Unlabeled
 * Observations", Section 3), as disentanglement_lib's _compute_sap: score every (latent, factor) pair by how well
 * that latent alone predicts the factor; for each factor take the gap between its two best latents; average.
 *
 * Discrete factors (continuousFactors false, the published protocol): the score of a pair is the test accuracy of
 * a LinearSVC on the single latent (linear-svc-1d.ts). One-vs-rest lines on one feature can single out the lowest
 * and highest classes of an ordered factor but hardly the middle ones, so even a perfect code of a factor with many
 * values scores well below 1 here, as in the library. Continuous factors: the squared correlation of latent and
 * factor on the training set (0 for a latent with variance <= 1e-12); the test set is not used.
 */
export function sap(train: LabelledCodes, test: LabelledCodes, continuousFactors: boolean): number {
  const numLatents = train.codes[0].length;
  if (numLatents < 2) throw new Error('SAP needs at least two latent dimensions');
  const numFactors = train.factors[0].length;
  let sum = 0;
  for (let j = 0; j < numFactors; j++) {
    const y = column(train.factors, j);
    const yTest = column(test.factors, j);
    const scores = Array.from({ length: numLatents }, (_, i) => {
      const mu = column(train.codes, i);
      return continuousFactors ? squaredCorrelation(mu, y) : svcAccuracy(mu, y, column(test.codes, i), yTest);
    }).sort((a, b) => b - a);
    sum += scores[0] - scores[1];
  }
  return sum / numFactors;
}

function svcAccuracy(mu: Float64Array, y: Float64Array, muTest: Float64Array, yTest: Float64Array): number {
  const model = fitLinearSvc1d(mu, y, SVC_C);
  let right = 0;
  for (let i = 0; i < muTest.length; i++) if (predictLinearSvc1d(model, muTest[i]) === yTest[i]) right++;
  return right / muTest.length;
}

function squaredCorrelation(mu: Float64Array, y: Float64Array): number {
  const n = mu.length;
  const muMean = mu.reduce((a, b) => a + b, 0) / n;
  const yMean = y.reduce((a, b) => a + b, 0) / n;
  let cov = 0;
  let muVar = 0;
  let yVar = 0;
  for (let i = 0; i < n; i++) {
    cov += (mu[i] - muMean) * (y[i] - yMean);
    muVar += (mu[i] - muMean) ** 2;
    yVar += (y[i] - yMean) ** 2;
  }
  // The library's threshold is on the variance with ddof = 1.
  return muVar / (n - 1) > 1e-12 ? (cov * cov) / (muVar * yVar) : 0;
}
