/** How many interventions the BetaVAE and FactorVAE scores draw, and how large each batch is. */
export interface InterventionOptions {
  /** Observations per batch that share the fixed factor (64 in the published protocol). */
  batchSize: number;
  /** Training points, one per intervention (10,000 in the published protocol). */
  numTrain: number;
  /** Evaluation points (5,000 in the published protocol). */
  numEval: number;
}

export interface TrainAndEvalAccuracy {
  trainAccuracy: number;
  /** The score: accuracy of the classifier on fresh interventions. */
  evalAccuracy: number;
}
