import { randomInt, type Rng } from './factor-sampler.ts';

/**
 * A least-squares regression tree grown as sklearn's DecisionTreeRegressor(max_depth) grows the trees of its
 * gradient boosting: every node is split at the threshold (midway between two neighbouring distinct values) that
 * most reduces the squared error, until the depth limit, a node of one sample, or a node whose targets are all
 * equal. Features are scanned in a fresh random order at every node and a later feature must be strictly better
 * to win, so equally good features (a duplicated latent) win equally often, as in sklearn, whose order is random.
 *
 * The tree is grown a level at a time: one pass over each feature's presorted samples finds the best split of every
 * node of the level, where splitting node by node would sort every node's samples again.
 */
export interface RegressionTree {
  /** Per node: the feature it splits on, or -1 for a leaf. */
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  /** Per node: the prediction of a leaf (filled in by the caller, who knows the loss). */
  value: number[];
}

export interface GrownTree {
  tree: RegressionTree;
  /** The leaf each training sample ends in. */
  leafOf: Int32Array;
  /**
   * Per feature: the total decrease of squared error (samples x impurity) at its splits, over the number of
   * samples: sklearn's tree_.compute_feature_importances(normalize=False).
   */
  importance: Float64Array;
}

/** sklearn's FEATURE_THRESHOLD: values closer than this are not split apart. */
const FEATURE_THRESHOLD = 1e-7;
/** sklearn's EPSILON: a node whose impurity is no more than this is a leaf. */
const EPSILON = 2.220446049250313e-16;

/** features[j][i] is feature j of sample i; sortedSamples[j] lists the samples by increasing feature j. */
export function growRegressionTree(
  features: readonly Float32Array[],
  sortedSamples: readonly Int32Array[],
  target: Float64Array,
  maxDepth: number,
  rng: Rng,
): GrownTree {
  const numFeatures = features.length;
  const n = target.length;
  const tree: RegressionTree = { feature: [], threshold: [], left: [], right: [], value: [] };
  const stats = new NodeStatistics();
  const root = addNode(tree, stats);
  const leafOf = new Int32Array(n);
  for (let i = 0; i < n; i++) stats.add(root, target[i]);
  const importance = new Float64Array(numFeatures);
  let level = [root];
  for (let depth = 0; depth < maxDepth; depth++) {
    const splittable = level.filter((node) => stats.count[node] >= 2 && stats.impurity(node) > EPSILON);
    if (splittable.length === 0) break;
    const slotOfNode = new Int32Array(tree.feature.length).fill(-1);
    splittable.forEach((node, slot) => (slotOfNode[node] = slot));
    const slotOfSample = new Int32Array(n);
    for (let i = 0; i < n; i++) slotOfSample[i] = slotOfNode[leafOf[i]];
    const best = bestSplitsPerFeature(features, sortedSamples, target, slotOfSample, splittable, stats);
    const split = splittable.filter((node, slot) => {
      const feature = featureOfBestSplit(best.proxy.subarray(slot * numFeatures, (slot + 1) * numFeatures), rng);
      if (feature < 0) return false;
      tree.feature[node] = feature;
      tree.threshold[node] = best.threshold[slot * numFeatures + feature];
      tree.left[node] = addNode(tree, stats);
      tree.right[node] = addNode(tree, stats);
      return true;
    });
    for (let i = 0; i < n; i++) {
      const node = leafOf[i];
      const f = tree.feature[node];
      if (f < 0) continue;
      leafOf[i] = features[f][i] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
      stats.add(leafOf[i], target[i]);
    }
    for (const node of split) importance[tree.feature[node]] += stats.impurityDecrease(node, tree.left[node], tree.right[node]);
    level = split.flatMap((node) => [tree.left[node], tree.right[node]]);
  }
  for (let f = 0; f < numFeatures; f++) importance[f] /= n;
  return { tree, leafOf, importance };
}

/** Count, sum and sum of squares of the targets in each node: what impurities and split scores are made of. */
class NodeStatistics {
  count: number[] = [];
  sum: number[] = [];
  sumOfSquares: number[] = [];

  add(node: number, y: number): void {
    this.count[node]++;
    this.sum[node] += y;
    this.sumOfSquares[node] += y * y;
  }

  /** Mean squared deviation from the node's mean (sklearn's node impurity). */
  impurity(node: number): number {
    return this.sumOfSquares[node] / this.count[node] - (this.sum[node] / this.count[node]) ** 2;
  }

  /** Samples x impurity removed by a split, as sklearn's compute_feature_importances adds it up. */
  impurityDecrease(node: number, left: number, right: number): number {
    const weighted = (k: number) => this.count[k] * this.impurity(k);
    return weighted(node) - weighted(left) - weighted(right);
  }
}

function addNode(tree: RegressionTree, stats: NodeStatistics): number {
  const node = tree.feature.length;
  tree.feature.push(-1);
  tree.threshold.push(NaN);
  tree.left.push(-1);
  tree.right.push(-1);
  tree.value.push(0);
  stats.count[node] = stats.sum[node] = stats.sumOfSquares[node] = 0;
  return node;
}

/** The feature whose best split wins, visiting features in random order (-1 when every feature is constant). */
function featureOfBestSplit(proxyPerFeature: Float64Array, rng: Rng): number {
  let bestFeature = -1;
  let bestProxy = -Infinity;
  for (const f of permutation(proxyPerFeature.length, rng)) {
    if (proxyPerFeature[f] > bestProxy) [bestFeature, bestProxy] = [f, proxyPerFeature[f]];
  }
  return bestFeature;
}

/** The leaf a sample ends in. */
export function leafOfSample(tree: RegressionTree, x: ArrayLike<number>): number {
  let node = 0;
  while (tree.feature[node] >= 0) node = x[tree.feature[node]] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
  return node;
}

/**
 * For every (splittable node, feature): the best split's proxy improvement (sklearn's sum_left^2 / n_left +
 * sum_right^2 / n_right, which orders splits as the decrease of squared error does) and its threshold; -Infinity
 * where the feature is constant in the node. The first of equally good thresholds wins, as in sklearn's scan.
 */
function bestSplitsPerFeature(
  features: readonly Float32Array[],
  sortedSamples: readonly Int32Array[],
  target: Float64Array,
  slotOfSample: Int32Array,
  nodes: readonly number[],
  stats: NodeStatistics,
): { proxy: Float64Array; threshold: Float64Array } {
  const numFeatures = features.length;
  const proxy = new Float64Array(nodes.length * numFeatures).fill(-Infinity);
  const threshold = new Float64Array(nodes.length * numFeatures);
  const nodeCount = Float64Array.from(nodes, (node) => stats.count[node]);
  const nodeSum = Float64Array.from(nodes, (node) => stats.sum[node]);
  const leftCount = new Float64Array(nodes.length);
  const leftSum = new Float64Array(nodes.length);
  const last = new Float64Array(nodes.length);
  for (let f = 0; f < numFeatures; f++) {
    leftCount.fill(0);
    leftSum.fill(0);
    const values = features[f];
    const order = sortedSamples[f];
    for (let position = 0; position < order.length; position++) {
      const i = order[position];
      const slot = slotOfSample[i];
      if (slot < 0) continue;
      const x = values[i];
      const nLeft = leftCount[slot];
      if (nLeft > 0 && x > last[slot] + FEATURE_THRESHOLD) {
        const sumLeft = leftSum[slot];
        const sumRight = nodeSum[slot] - sumLeft;
        const improvement = (sumLeft * sumLeft) / nLeft + (sumRight * sumRight) / (nodeCount[slot] - nLeft);
        const k = slot * numFeatures + f;
        if (improvement > proxy[k]) {
          proxy[k] = improvement;
          const midway = last[slot] / 2 + x / 2;
          threshold[k] = midway === x ? last[slot] : midway;
        }
      }
      leftCount[slot] = nLeft + 1;
      leftSum[slot] += target[i];
      last[slot] = x;
    }
  }
  return { proxy, threshold };
}

function permutation(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
