import type { Experiment } from './spec.generated.ts';
import type { Violation } from './validate.ts';

/** Rules that involve more than one field, which JSON Schema cannot say in a message a person can act on. */
export function checkConsistency(spec: Experiment): Violation[] {
  const found: Violation[] = [];
  const { split } = spec.data;
  if (split.train + split.val > 1 + 1e-9) {
    found.push({ path: ['data', 'split'], atKey: false, message: `train + val must be at most 1 (got ${split.train} + ${split.val})` });
  }
  if (spec.data.dataset === 'idx' && !spec.data.idx) {
    found.push({ path: ['data'], atKey: false, message: `dataset idx needs data.idx with train_images and test_images` });
  }
  if (spec.data.dataset !== 'idx' && spec.data.idx) {
    found.push({ path: ['data', 'idx'], atKey: true, message: `only used with dataset: idx (dataset is ${spec.data.dataset})` });
  }
  if (spec.data.dataset === 'dsprites' && spec.data.limit === 0) {
    found.push({
      path: ['data', 'limit'],
      atKey: false,
      message: `dataset dsprites renders what it trains on and needs a limit > 0 (its 727,280 training images are 3 GB at 64x64), e.g. limit: 20000`,
    });
  }
  if (spec.data.dataset !== 'dsprites' && spec.data.image_size !== undefined) {
    found.push({
      path: ['data', 'image_size'],
      atKey: true,
      message: `only used with dataset: dsprites (${spec.data.dataset} images keep their own size)`,
    });
  }
  // MIG and SAP compare a factor's two most informative latents; the other scores do not need this, but a run reports all.
  if (spec.data.dataset === 'dsprites' && spec.eval.disentanglement.enabled && spec.model.latent_dim < 2) {
    found.push({
      path: ['model', 'latent_dim'],
      atKey: false,
      message: `the disentanglement scores of dataset dsprites need at least 2 latent dimensions (got ${spec.model.latent_dim}); or set eval.disentanglement.enabled: false`,
    });
  }
  return found;
}
