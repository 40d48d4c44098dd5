import type { Matrix, Rng } from './factor-sampler.ts';
import { growRegressionTree, leafOfSample, type RegressionTree } from './regression-tree.ts';

/**
 * sklearn's GradientBoostingClassifier() with its defaults, which disentanglement_lib's DCI fits per factor:
 * 100 stages, learning rate 0.1, trees of depth 3 on the negative gradient of the log loss, all samples
 * (subsample 1.0), the log of the class priors as the starting point. Two classes: one tree per stage on the
 * logistic loss. More: one tree per class and stage on the softmax loss. Each leaf predicts sklearn's single
 * Newton step, sum(residual) / sum(p (1 - p)), times (K - 1) / K for K > 2 classes, as sklearn keeps it.
 */
const STAGES = 100;
const LEARNING_RATE = 0.1;
const MAX_DEPTH = 3;

export interface BoostedClassifier {
  classes: number[];
  /** Starting raw score per tree column (one column for two classes, one per class otherwise). */
  initial: Float64Array;
  /** stages[s][column]: the tree of stage s for that column, its leaf values already scaled by the learning rate. */
  stages: RegressionTree[][];
}

export interface FittedBoostedClassifier {
  model: BoostedClassifier;
  /**
   * Per feature: sklearn's feature_importances_, each tree's impurity decrease per feature averaged over the trees
   * that split at all, normalized to sum 1 (all zeros when no tree splits).
   */
  importance: Float64Array;
  /** Accuracy on the training samples. */
  trainAccuracy: number;
}

export function fitBoostedClassifier(features: Matrix, labels: ArrayLike<number>, rng: Rng): FittedBoostedClassifier {
  const n = features.length;
  const numFeatures = features[0].length;
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  if (classes.length < 2) throw new Error(`gradient boosting needs two classes or more, got ${classes.length}`);
  const classIndex = Int32Array.from(labels, (label) => classes.indexOf(label));
  // sklearn fits its trees on float32 features.
  const columns = Array.from({ length: numFeatures }, (_, j) => Float32Array.from(features, (row) => row[j]));
  const sortedSamples = columns.map((values) => Int32Array.from(values.keys()).sort((a, b) => values[a] - values[b]));

  const binary = classes.length === 2;
  const numColumns = binary ? 1 : classes.length;
  const priors = classes.map((_, k) => clip(classIndex.filter((c) => c === k).length / n));
  const initial = Float64Array.from({ length: numColumns }, (_, k) =>
    binary ? Math.log(priors[1] / (1 - priors[1])) : Math.log(priors[k]),
  );
  const raw = Array.from({ length: numColumns }, (_, k) => new Float64Array(n).fill(initial[k]));
  const importance = new Float64Array(numFeatures);
  const stages: RegressionTree[][] = [];
  const probability = Array.from({ length: numColumns }, () => new Float64Array(n));
  for (let stage = 0; stage < STAGES; stage++) {
    for (let i = 0; i < n; i++) columnProbabilities(raw, i, probability);
    const trees = probability.map((p, k) => {
      const positive = binary ? 1 : k;
      const residual = new Float64Array(n);
      for (let i = 0; i < n; i++) residual[i] = (classIndex[i] === positive ? 1 : 0) - p[i];
      const { tree, leafOf, importance: treeImportance } = growRegressionTree(columns, sortedSamples, residual, MAX_DEPTH, rng);
      if (tree.feature.length > 1) for (let f = 0; f < numFeatures; f++) importance[f] += treeImportance[f];
      setLeafValues(tree, leafOf, residual, p, binary ? 1 : (classes.length - 1) / classes.length);
      for (let i = 0; i < n; i++) raw[k][i] += tree.value[leafOf[i]];
      return tree;
    });
    stages.push(trees);
  }
  const total = importance.reduce((a, b) => a + b, 0);
  if (total > 0) importance.forEach((v, f) => (importance[f] = v / total));
  let right = 0;
  for (let i = 0; i < n; i++)
    if (
      bestColumnClass(
        Array.from(raw, (r) => r[i]),
        binary,
      ) === classIndex[i]
    )
      right++;
  return { model: { classes, initial, stages }, importance, trainAccuracy: right / n };
}

export function predictBoostedClassifier(model: BoostedClassifier, x: ArrayLike<number>): number {
  const scores = Array.from(model.initial);
  for (const trees of model.stages) trees.forEach((tree, k) => (scores[k] += tree.value[leafOfSample(tree, x)]));
  return model.classes[bestColumnClass(scores, model.classes.length === 2)];
}

/** Leaf value: the learning rate times sklearn's Newton step, 0 where the Hessian vanishes (sklearn's _safe_divide). */
function setLeafValues(tree: RegressionTree, leafOf: Int32Array, residual: Float64Array, p: Float64Array, factor: number): void {
  const numerator = new Float64Array(tree.feature.length);
  const denominator = new Float64Array(tree.feature.length);
  for (let i = 0; i < leafOf.length; i++) {
    numerator[leafOf[i]] += residual[i];
    denominator[leafOf[i]] += p[i] * (1 - p[i]);
  }
  tree.value = Array.from(numerator, (num, node) =>
    Math.abs(denominator[node]) < 1e-150 ? 0 : (LEARNING_RATE * factor * num) / denominator[node],
  );
}

/** Probability of each tree column's class for sample i: the sigmoid for two classes, the softmax otherwise. */
function columnProbabilities(raw: Float64Array[], i: number, out: Float64Array[]): void {
  if (raw.length === 1) {
    out[0][i] = 1 / (1 + Math.exp(-raw[0][i]));
    return;
  }
  let max = -Infinity;
  for (const r of raw) max = Math.max(max, r[i]);
  let total = 0;
  for (let k = 0; k < raw.length; k++) total += out[k][i] = Math.exp(raw[k][i] - max);
  for (let k = 0; k < raw.length; k++) out[k][i] /= total;
}

/** The predicted class index from raw scores: positive score for two classes, else the first largest. */
function bestColumnClass(scores: readonly number[], binary: boolean): number {
  if (binary) return scores[0] > 0 ? 1 : 0;
  return scores.reduce((best, s, k) => (s > scores[best] ? k : best), 0);
}

/** sklearn clips the prior probabilities to [eps, 1 - eps] before taking logs. */
function clip(p: number): number {
  return Math.min(Math.max(p, Number.EPSILON), 1 - Number.EPSILON);
}
