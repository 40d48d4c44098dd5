import type { FactorSampler, LabelledCodes, Matrix, Rng } from './factor-sampler.ts';

/** Observations per call to the sampler, as in disentanglement_lib's generate_batch_factor_code; it bounds memory only. */
const SAMPLING_BATCH = 16;

/** n observations drawn from the world: their factors and their codes, row for row. */
export async function sampleCodesAndFactors(sampler: FactorSampler, n: number, rng: Rng): Promise<LabelledCodes> {
  const codes: ArrayLike<number>[] = [];
  const factors: number[][] = [];
  for (let start = 0; start < n; start += SAMPLING_BATCH) {
    const batch = sampler.sampleFactors(Math.min(SAMPLING_BATCH, n - start), rng);
    codes.push(...(await encode(sampler, batch, rng)));
    factors.push(...batch);
  }
  return { codes, factors };
}

/**
 * The codes of several groups of factor vectors from one call to the sampler, split back into groups. The
 * intervention scores need thousands of small batches; one call for many of them keeps a real encoder busy.
 */
export async function encodeGroups(sampler: FactorSampler, groups: readonly number[][][], rng: Rng): Promise<Matrix[]> {
  const codes = await encode(sampler, groups.flat(), rng);
  const split: Matrix[] = [];
  let offset = 0;
  for (const group of groups) {
    split.push(codes.slice(offset, offset + group.length));
    offset += group.length;
  }
  return split;
}

async function encode(sampler: FactorSampler, factors: readonly number[][], rng: Rng): Promise<Matrix> {
  const codes = await sampler.representations(factors, rng);
  if (codes.length !== factors.length) {
    throw new Error(`the sampler returned ${codes.length} representations for ${factors.length} factor vectors`);
  }
  return codes;
}

/**
 * Interventions (a pair of batches for BetaVAE, one batch for FactorVAE) encoded per call to the sampler. The
 * published protocol draws 15,000 of them of 64 observations each; grouping them only changes how many calls an
 * encoder sees, not what is drawn.
 */
export const INTERVENTIONS_PER_CALL = 32;
