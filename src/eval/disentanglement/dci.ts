import { dciCompleteness, dciDisentanglement } from './dci-scores.ts';
import type { LabelledCodes, Rng } from './factor-sampler.ts';
import { fitBoostedClassifier, predictBoostedClassifier } from './gradient-boosting.ts';
import { column } from './statistics.ts';

export interface DciScores {
  disentanglement: number;
  completeness: number;
  /** Mean accuracy over factors of the per-factor classifiers on the training codes. */
  informativenessTrain: number;
  /** The same on held-out codes: the informativeness score. */
  informativenessTest: number;
}

/**
 * DCI (Eastwood & Williams 2018) as disentanglement_lib's _compute_dci: for each factor, a gradient-boosted
 * classifier (gradient-boosting.ts, sklearn's GradientBoostingClassifier defaults) predicts the factor from the
 * whole code; its impurity-based feature importances are that factor's column of the importance matrix, and its
 * accuracy is the factor's informativeness. rng breaks ties between equally good tree splits.
 */
export function dci(train: LabelledCodes, test: LabelledCodes, rng: Rng): DciScores {
  const numFactors = train.factors[0].length;
  const importance = Array.from({ length: train.codes[0].length }, () => new Array<number>(numFactors).fill(0));
  let trainAccuracy = 0;
  let testAccuracy = 0;
  for (let j = 0; j < numFactors; j++) {
    const fitted = fitBoostedClassifier(train.codes, column(train.factors, j), rng);
    fitted.importance.forEach((v, i) => (importance[i][j] = v));
    trainAccuracy += fitted.trainAccuracy / numFactors;
    const right = test.codes.filter((x, i) => predictBoostedClassifier(fitted.model, x) === test.factors[i][j]).length;
    testAccuracy += right / test.codes.length / numFactors;
  }
  return {
    disentanglement: dciDisentanglement(importance),
    completeness: dciCompleteness(importance),
    informativenessTrain: trainAccuracy,
    informativenessTest: testAccuracy,
  };
}
