import { randomInt, type FactorSampler, type Matrix, type Rng } from './factor-sampler.ts';
import type { InterventionOptions, TrainAndEvalAccuracy } from './intervention-options.ts';
import { fitLogisticRegression, predictClasses } from './logistic-regression.ts';
import { encodeGroups, INTERVENTIONS_PER_CALL } from './sampling.ts';

/**
 * The BetaVAE score (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a Constrained Variational
 * Framework"), as disentanglement_lib's compute_beta_vae_sklearn: pick a factor, draw two batches whose
 * observations agree on that factor only, and take the mean absolute difference of their codes; a linear
 * classifier (logistic regression, see logistic-regression.ts) learns which factor was fixed from that difference.
 */
export async function betaVaeScore(sampler: FactorSampler, rng: Rng, options: InterventionOptions): Promise<TrainAndEvalAccuracy> {
  const train = await fixedFactorDifferences(sampler, rng, options.batchSize, options.numTrain);
  const model = fitLogisticRegression(train.features, train.labels);
  const evaluation = await fixedFactorDifferences(sampler, rng, options.batchSize, options.numEval);
  return {
    trainAccuracy: accuracy(predictClasses(model, train.features), train.labels),
    evalAccuracy: accuracy(predictClasses(model, evaluation.features), evaluation.labels),
  };
}

interface LabelledDifferences {
  features: Float64Array[];
  /** The factor held fixed for each feature vector. */
  labels: number[];
}

async function fixedFactorDifferences(
  sampler: FactorSampler,
  rng: Rng,
  batchSize: number,
  numPoints: number,
): Promise<LabelledDifferences> {
  const features: Float64Array[] = [];
  const labels: number[] = [];
  for (let start = 0; start < numPoints; start += INTERVENTIONS_PER_CALL) {
    const pairs: number[][][] = [];
    for (let k = 0; k < Math.min(INTERVENTIONS_PER_CALL, numPoints - start); k++) {
      const fixed = randomInt(rng, sampler.numFactors);
      const first = sampler.sampleFactors(batchSize, rng);
      const second = sampler.sampleFactors(batchSize, rng);
      second.forEach((factors, i) => (factors[fixed] = first[i][fixed]));
      pairs.push(first, second);
      labels.push(fixed);
    }
    const codes = await encodeGroups(sampler, pairs, rng);
    for (let k = 0; k < codes.length; k += 2) features.push(meanAbsoluteDifference(codes[k], codes[k + 1]));
  }
  return { features, labels };
}

function meanAbsoluteDifference(a: Matrix, b: Matrix): Float64Array {
  const difference = new Float64Array(a[0].length);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < difference.length; j++) difference[j] += Math.abs(a[i][j] - b[i][j]) / a.length;
  }
  return difference;
}

function accuracy(predicted: readonly number[], actual: readonly number[]): number {
  return predicted.filter((p, i) => p === actual[i]).length / actual.length;
}
