import type { LabelledCodes, Matrix } from './factor-sampler.ts';
import { fitLogisticRegression, predictProbabilities } from './logistic-regression.ts';
import { rocAuc } from './roc-auc.ts';
import { column, mean } from './statistics.ts';

export interface Explicitness {
  train: number;
  /** The explicitness score: on held-out codes. */
  test: number;
}

/**
 * Explicitness (Ridgeway & Zemel 2018) as disentanglement_lib's compute_modularity_explicitness: codes are
 * standardized with the training set's mean and standard deviation (ddof = 0), a logistic regression
 * (logistic-regression.ts) predicts each factor from the whole code, and its score is the ROC AUC of each class
 * against the rest, averaged over classes (sklearn's macro average) and then over factors.
 *
 * Two cases where the library would raise instead: a latent that is constant on the training set is centred but
 * not scaled (numpy divides by 0 and sklearn rejects the NaN), and a class with no positive or no negative sample
 * in a set is left out of that set's average (sklearn's label binarizer would make the two sides' columns disagree).
 */
export function explicitness(train: LabelledCodes, test: LabelledCodes): Explicitness {
  const d = train.codes[0].length;
  const means = Array.from({ length: d }, (_, j) => mean(column(train.codes, j)));
  const scales = Array.from({ length: d }, (_, j) => populationStd(column(train.codes, j), means[j]) || 1);
  const standardize = (codes: Matrix) => codes.map((row) => Float64Array.from(means, (m, j) => (row[j] - m) / scales[j]));
  const [trainCodes, testCodes] = [standardize(train.codes), standardize(test.codes)];
  const numFactors = train.factors[0].length;
  let trainSum = 0;
  let testSum = 0;
  for (let f = 0; f < numFactors; f++) {
    const model = fitLogisticRegression(trainCodes, column(train.factors, f));
    const macroAuc = (codes: Float64Array[], labels: Float64Array) => {
      const probabilities = codes.map((x) => predictProbabilities(model, x));
      const aucs = model.classes.flatMap((label, k) => {
        const positive = Array.from(labels, (l) => l === label);
        const numPositive = positive.filter(Boolean).length;
        if (numPositive === 0 || numPositive === labels.length) return [];
        return [
          rocAuc(
            probabilities.map((p) => p[k]),
            positive,
          ),
        ];
      });
      return mean(aucs);
    };
    trainSum += macroAuc(trainCodes, column(train.factors, f));
    testSum += macroAuc(testCodes, column(test.factors, f));
  }
  return { train: trainSum / numFactors, test: testSum / numFactors };
}

function populationStd(values: Float64Array, m: number): number {
  let sum = 0;
  for (const v of values) sum += (v - m) ** 2;
  return Math.sqrt(sum / values.length);
}
