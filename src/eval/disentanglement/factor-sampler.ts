/**
 * Observations as rows: row i holds the numbers of observation i (its code, or its factors). Float32Array rows,
 * as an encoder returns them, and number[] rows both fit, so callers never copy to satisfy a type.
 */
export type Matrix = readonly ArrayLike<number>[];

/** A uniform draw in [0, 1), such as a seedrandom generator: every random choice of a metric goes through one. */
export type Rng = () => number;

/**
 * A world with known factors of variation, as the metrics need to see it. Ground-truth factors are integer classes
 * (a dSprites shape, an orientation bin); a metric asks for factor vectors, changes some of them (to hold one factor
 * fixed across a batch) and asks for the code of an observation made from each. That keeps the metrics ignorant of
 * images and models: a dataset plus an encoder implement this, and so does a synthetic world in a test.
 */
export interface FactorSampler {
  /** Number of ground-truth factors; every factor vector has this length. Leave out factors that never vary. */
  readonly numFactors: number;
  /** n fresh factor vectors drawn from the world's distribution of factors (the metrics overwrite entries). */
  sampleFactors(n: number, rng: Rng): number[][];
  /**
   * The representation (for a VAE, the posterior mean) of one observation drawn for each factor vector, in order.
   * rng is for worlds with several observations per factor vector (noise, unlabelled nuisance factors).
   */
  representations(factors: readonly (readonly number[])[], rng: Rng): Promise<Matrix>;
}

/** A uniform integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** Observations drawn from a world: the code of each and its ground-truth factors, row for row. */
export interface LabelledCodes {
  codes: Matrix;
  factors: Matrix;
}
