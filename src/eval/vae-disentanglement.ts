import type { FactorWorld } from '../data/factor-world.ts';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import type { Vae } from '../model/vae.ts';
import { encoderFactorSampler } from './disentanglement/encoder-sampler.ts';
import { disentanglementScores } from './disentanglement/scores.ts';

/**
 * The disentanglement scores of a trained VAE's posterior means, as the spec's eval.disentanglement asks; none when
 * the data has no known factors or the spec turns them off.
 */
export async function vaeDisentanglement(
  vae: Vae,
  world: FactorWorld | undefined,
  spec: Pick<ResolvedSpec, 'seed' | 'eval'>,
): Promise<Record<string, number>> {
  const settings = spec.eval.disentanglement;
  if (!world || !settings.enabled) return {};
  return disentanglementScores(encoderFactorSampler(vae, world), {
    seed: `${spec.seed}:disentanglement`,
    numTrain: settings.num_train,
    numEval: settings.num_eval,
  });
}

/** One line for the user: the headline scores, in the order papers report them. */
export function describeDisentanglement(scores: Record<string, number>): string | undefined {
  const shown: [string, string][] = [
    ['BetaVAE', 'disentanglement/beta_vae'],
    ['FactorVAE', 'disentanglement/factor_vae'],
    ['MIG', 'disentanglement/mig'],
    ['SAP', 'disentanglement/sap'],
    ['DCI', 'disentanglement/dci_disentanglement'],
    ['modularity', 'disentanglement/modularity'],
    ['TC', 'disentanglement/gaussian_tc'],
  ];
  const parts = shown.filter(([, key]) => key in scores).map(([name, key]) => `${name} ${scores[key].toFixed(3)}`);
  return parts.length > 0 ? `disentanglement: ${parts.join(', ')}` : undefined;
}
