import seedrandom from 'seedrandom';
import { betaVaeScore } from './beta-vae.ts';
import { dci } from './dci.ts';
import { explicitness } from './explicitness.ts';
import type { FactorSampler } from './factor-sampler.ts';
import { factorVaeScore } from './factor-vae.ts';
import { gaussianTotalCorrelationOfCodes } from './gaussian-total-correlation.ts';
import { mig } from './mig.ts';
import { modularity } from './modularity.ts';
import { latentFactorMutualInformation } from './mutual-information.ts';
import { sampleCodesAndFactors } from './sampling.ts';
import { sap } from './sap.ts';

/** The settings of disentanglement_lib's published metric configs (unsupervised_study_v1/metric_configs). */
export const PUBLISHED_PROTOCOL = {
  seed: 0,
  numTrain: 10_000,
  numEval: 5_000,
  batchSize: 64,
  histogramBins: 20,
  sapContinuousFactors: false,
};

export interface DisentanglementOptions {
  /** Seeds every random draw; each metric draws from its own stream, so one metric's settings never move another. */
  seed?: number | string;
  /**
   * Points each metric learns or estimates from: BetaVAE and FactorVAE training interventions, and the observations
   * of MIG, SAP, DCI, modularity, explicitness and the total correlation. Lower it (and numEval) for CPU-sized runs.
   */
  numTrain?: number;
  /** Held-out points: BetaVAE and FactorVAE evaluation interventions, SAP, DCI and explicitness test observations. */
  numEval?: number;
  /** Observations for FactorVAE's global variances (default: numTrain; both are 10,000 in the published protocol). */
  numVarianceEstimate?: number;
  /** Observations per BetaVAE / FactorVAE intervention batch. */
  batchSize?: number;
  /** Bins per latent for MIG and modularity. */
  histogramBins?: number;
  /** SAP's treatment of factors: discrete (a LinearSVC per pair, published) or continuous (squared correlation). */
  sapContinuousFactors?: boolean;
}

/**
 * Every disentanglement score of issue #16 for a world and its representation, named for the run's metrics.
 * Defaults are the published protocol. MIG, SAP, DCI, modularity, explicitness and the total correlation share
 * one draw of numTrain training and numEval test observations (disentanglement_lib draws afresh for each metric,
 * from the same distribution); BetaVAE and FactorVAE draw their own interventions. The eval/test value is reported
 * wherever a metric has both.
 */
export async function disentanglementScores(sampler: FactorSampler, options: DisentanglementOptions = {}): Promise<Record<string, number>> {
  const settings = { ...PUBLISHED_PROTOCOL, ...withoutUndefined(options) };
  const { numTrain, numEval, batchSize, histogramBins } = settings;
  const numVarianceEstimate = options.numVarianceEstimate ?? numTrain;
  const stream = (name: string) => seedrandom(`${settings.seed}:${name}`);
  const train = await sampleCodesAndFactors(sampler, numTrain, stream('train'));
  const test = await sampleCodesAndFactors(sampler, numEval, stream('test'));
  const betaVae = await betaVaeScore(sampler, stream('beta_vae'), { batchSize, numTrain, numEval });
  const factorVae = await factorVaeScore(sampler, stream('factor_vae'), { batchSize, numTrain, numEval, numVarianceEstimate });
  const dciScores = dci(train, test, stream('dci'));
  return {
    'disentanglement/beta_vae': betaVae.evalAccuracy,
    'disentanglement/factor_vae': factorVae.evalAccuracy,
    'disentanglement/mig': mig(train.codes, train.factors, histogramBins),
    'disentanglement/sap': sap(train, test, settings.sapContinuousFactors),
    'disentanglement/dci_disentanglement': dciScores.disentanglement,
    'disentanglement/dci_completeness': dciScores.completeness,
    'disentanglement/dci_informativeness': dciScores.informativenessTest,
    'disentanglement/modularity': modularity(latentFactorMutualInformation(train.codes, train.factors, histogramBins)),
    'disentanglement/explicitness': explicitness(train, test).test,
    'disentanglement/gaussian_tc': gaussianTotalCorrelationOfCodes(train.codes),
  };
}

/** Options left out or given as undefined both mean the default. */
function withoutUndefined(options: DisentanglementOptions): DisentanglementOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
