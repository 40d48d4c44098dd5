import { randomInt, type FactorSampler, type Rng } from './factor-sampler.ts';
import type { InterventionOptions, TrainAndEvalAccuracy } from './intervention-options.ts';
import { encodeGroups, INTERVENTIONS_PER_CALL, sampleCodesAndFactors } from './sampling.ts';
import { column, sampleVariance } from './statistics.ts';

/**
 * disentanglement_lib's prune_dims.threshold of the published protocol. The library compares it with the standard
 * deviation of a latent over the data (sqrt of the global variance), so a latent is kept when its variance is at
 * least 0.05^2 = 0.0025.
 */
const PRUNE_STD_THRESHOLD = 0.05;

export interface FactorVaeOptions extends InterventionOptions {
  /** Observations from which each latent's global variance is estimated (10,000 in the published protocol). */
  numVarianceEstimate: number;
}

/**
 * The FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising"), as disentanglement_lib's
 * compute_factor_vae: fix one factor across a batch, divide each active latent's variance in the batch by its
 * variance over the data, and vote for the latent with the smallest ratio; the classifier maps each latent to the
 * factor that won it most often in training (majority vote). A representation with no active latent scores 0.
 */
export async function factorVaeScore(sampler: FactorSampler, rng: Rng, options: FactorVaeOptions): Promise<TrainAndEvalAccuracy> {
  const { codes } = await sampleCodesAndFactors(sampler, options.numVarianceEstimate, rng);
  const globalVariances = Array.from({ length: codes[0].length }, (_, j) => sampleVariance(column(codes, j)));
  const active = globalVariances.flatMap((v, j) => (Math.sqrt(v) >= PRUNE_STD_THRESHOLD ? [j] : []));
  if (active.length === 0) return { trainAccuracy: 0, evalAccuracy: 0 };
  const activeVariances = active.map((j) => globalVariances[j]);
  const vote = (numPoints: number) => votes(sampler, rng, options.batchSize, numPoints, active, activeVariances);
  const trainVotes = await vote(options.numTrain);
  const classifier = active.map((_, latent) => argmax(trainVotes.map((row) => row[latent])));
  const evalVotes = await vote(options.numEval);
  return { trainAccuracy: accuracy(trainVotes, classifier), evalAccuracy: accuracy(evalVotes, classifier) };
}

/** votes[factor][latent]: how often the latent (an index into active) varied least while the factor was fixed. */
async function votes(
  sampler: FactorSampler,
  rng: Rng,
  batchSize: number,
  numPoints: number,
  active: readonly number[],
  activeVariances: readonly number[],
): Promise<number[][]> {
  const counts = Array.from({ length: sampler.numFactors }, () => new Array<number>(active.length).fill(0));
  for (let start = 0; start < numPoints; start += INTERVENTIONS_PER_CALL) {
    const batches: number[][][] = [];
    const fixedFactors: number[] = [];
    for (let k = 0; k < Math.min(INTERVENTIONS_PER_CALL, numPoints - start); k++) {
      const fixed = randomInt(rng, sampler.numFactors);
      const factors = sampler.sampleFactors(batchSize, rng);
      for (const row of factors) row[fixed] = factors[0][fixed];
      batches.push(factors);
      fixedFactors.push(fixed);
    }
    const codes = await encodeGroups(sampler, batches, rng);
    codes.forEach((batch, k) => {
      const ratios = active.map((j, a) => sampleVariance(column(batch, j)) / activeVariances[a]);
      counts[fixedFactors[k]][argmin(ratios)]++;
    });
  }
  return counts;
}

/** The share of votes that the classifier gets right. */
function accuracy(counts: number[][], classifier: readonly number[]): number {
  const total = counts.flat().reduce((a, b) => a + b, 0);
  const right = classifier.reduce((sum, factor, latent) => sum + counts[factor][latent], 0);
  return right / total;
}

/** Index of the largest entry, the first on a tie (numpy's argmax). */
function argmax(values: readonly number[]): number {
  return values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
}

function argmin(values: readonly number[]): number {
  return values.reduce((best, v, i) => (v < values[best] ? i : best), 0);
}
