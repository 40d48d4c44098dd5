import type { Matrix } from './factor-sampler.ts';
import { minimizeLbfgs } from './lbfgs.ts';

/**
 * L2-regularized logistic regression with sklearn's LogisticRegression() defaults, which disentanglement_lib uses
 * for the BetaVAE score and for explicitness: C = 1, intercepts unpenalized, multinomial (softmax) over K > 2
 * classes and the binary logistic model for K = 2. It minimizes the same objective sklearn's lbfgs solver does,
 * mean cross-entropy + ||W||^2 / (2 C n), with L-BFGS from zero weights to sklearn's stopping rule (largest gradient
 * entry <= 1e-4, at most 100 iterations). The objective is convex, strictly in the weights, and the intercepts
 * are free only up to a common shift that leaves the probabilities alone, so both solvers land on the same
 * probabilities up to that tolerance (seen agreeing with sklearn 1.9.1 to 3e-4); no randomness is involved.
 */
export interface LogisticRegressionModel {
  /** The class labels, sorted; probabilities come in this order. */
  classes: number[];
  /**
   * Row after row, d weights then the intercept: one row per class, or for two classes one row for classes[1]
   * (classes[0] scores 0).
   */
  parameters: Float64Array;
}

const C = 1;
const TOLERANCE = 1e-4;
const MAX_ITERATIONS = 100;

export function fitLogisticRegression(features: Matrix, labels: ArrayLike<number>): LogisticRegressionModel {
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  if (classes.length < 2) throw new Error(`logistic regression needs two classes or more, got ${classes.length}`);
  const classIndex = Int32Array.from(labels, (label) => classes.indexOf(label));
  const n = features.length;
  const d = features[0].length;
  const rows = parameterRows(classes.length);
  const width = d + 1;
  const l2 = 1 / (C * n);
  const objective = (params: Float64Array, gradient: Float64Array): number => {
    gradient.fill(0);
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) {
        const w = params[r * width + j];
        loss += 0.5 * l2 * w * w;
        gradient[r * width + j] = l2 * w;
      }
    }
    const probabilities = new Float64Array(classes.length);
    for (let i = 0; i < n; i++) {
      softmax(params, rows, features[i], probabilities);
      loss -= Math.log(Math.max(probabilities[classIndex[i]], Number.MIN_VALUE)) / n;
      for (let r = 0; r < rows; r++) {
        const k = rows === 1 ? 1 : r;
        const residual = (probabilities[k] - (classIndex[i] === k ? 1 : 0)) / n;
        for (let j = 0; j < d; j++) gradient[r * width + j] += residual * features[i][j];
        gradient[r * width + d] += residual;
      }
    }
    return loss;
  };
  const params = minimizeLbfgs(objective, new Float64Array(rows * width), {
    gradientTolerance: TOLERANCE,
    maxIterations: MAX_ITERATIONS,
  });
  return { classes, parameters: params };
}

/** Class probabilities of one observation, in the order of model.classes. */
export function predictProbabilities(model: LogisticRegressionModel, x: ArrayLike<number>): Float64Array {
  const probabilities = new Float64Array(model.classes.length);
  softmax(model.parameters, parameterRows(model.classes.length), x, probabilities);
  return probabilities;
}

/** The most probable class of each observation (the first on a tie, as numpy's argmax). */
export function predictClasses(model: LogisticRegressionModel, features: Matrix): number[] {
  return features.map((x) => {
    const probabilities = predictProbabilities(model, x);
    let best = 0;
    for (let k = 1; k < probabilities.length; k++) if (probabilities[k] > probabilities[best]) best = k;
    return model.classes[best];
  });
}

function parameterRows(numClasses: number): number {
  return numClasses === 2 ? 1 : numClasses;
}

/** Softmax of the class scores into scores; with one row of parameters the first class's score is fixed at 0. */
function softmax(params: Float64Array, rows: number, x: ArrayLike<number>, scores: Float64Array): void {
  const d = x.length;
  const width = d + 1;
  if (rows === 1) scores[0] = 0;
  for (let r = 0; r < rows; r++) {
    let score = params[r * width + d];
    for (let j = 0; j < d; j++) score += params[r * width + j] * x[j];
    scores[rows === 1 ? 1 : r] = score;
  }
  const max = Math.max(...scores);
  let total = 0;
  for (let k = 0; k < scores.length; k++) total += scores[k] = Math.exp(scores[k] - max);
  for (let k = 0; k < scores.length; k++) scores[k] /= total;
}
