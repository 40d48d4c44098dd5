import type { ImageSet } from '../data/images.ts';
import type { Vae } from '../model/vae.ts';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import { evaluateElbo } from './evaluate.ts';
import { importanceWeightedNll, latentUsage, type LatentUsage } from './iwae.ts';

/**
 * The held-out metrics of a trained model, computed the same way after training and by `vae eval`, so the two
 * agree exactly. The bound is the plain ELBO (beta = 1) whatever beta trained the model, so runs compare.
 */
export async function testMetrics(
  vae: Vae,
  test: ImageSet,
  spec: ResolvedSpec,
  iwaeSamples: number = spec.eval.iwae_samples,
): Promise<{ metrics: Record<string, number>; usage: LatentUsage }> {
  const common = { batchSize: spec.train.batch_size, binarize: spec.data.binarize, seed: `${spec.seed}:test` };
  const elbo = await evaluateElbo(vae, test, common);
  const usage = await latentUsage(vae, test, { ...common, threshold: spec.eval.active_unit_threshold });
  const metrics: Record<string, number> = {
    'test/neg_elbo': elbo.loss,
    'test/recon': elbo.recon,
    'test/kl': elbo.kl,
    'test/active_units': usage.activeUnits,
  };
  if (iwaeSamples > 0) {
    metrics['test/iwae_nll'] = await importanceWeightedNll(vae, test, {
      samples: iwaeSamples,
      binarize: spec.data.binarize,
      seed: `${spec.seed}:iwae`,
      memoryBytes: spec.eval.iwae_memory_mb * 2 ** 20,
    });
  }
  return { metrics, usage };
}
