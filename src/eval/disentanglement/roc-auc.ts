/**
 * Area under the ROC curve of scores for a binary labelling: the probability that a random positive scores above
 * a random negative, ties counting one half (the Mann-Whitney statistic from mid-ranks), which equals sklearn's
 * trapezoidal roc_auc_score.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positiveRankSum = 0;
  let numPositive = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end < order.length && scores[order[end]] === scores[order[start]]) end++;
    const midRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (positive[order[k]]) {
        positiveRankSum += midRank;
        numPositive++;
      }
    }
    start = end;
  }
  const numNegative = scores.length - numPositive;
  return (positiveRankSum - (numPositive * (numPositive + 1)) / 2) / (numPositive * numNegative);
}
