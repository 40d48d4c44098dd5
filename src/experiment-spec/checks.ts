import type { Experiment } from './spec.generated.ts';
import type { Violation } from './validate.ts';

/** The sizes dsprites can draw: the original's 64 and the halvings that keep its grid of positions whole. */
const DSPRITES_SIZES = [16, 32, 64];

/** Rules that involve more than one field, which JSON Schema cannot say in a message a person can act on. */
export function checkConsistency(spec: Experiment): Violation[] {
  const found: Violation[] = [];
  const { split } = spec.data;
  if (split.train + split.val > 1 + 1e-9) {
    found.push({ path: ['data', 'split'], atKey: false, message: `train + val must be at most 1 (got ${split.train} + ${split.val})` });
  }
  found.push(...checkDataSource(spec.data, 'idx', 'dataset idx needs data.idx with train_images and test_images'));
  found.push(...checkDataSource(spec.data, 'images', 'dataset images needs data.images with dir (a folder of PNG or JPEG files)'));
  if (spec.data.dataset === 'dsprites' && spec.data.limit === 0) {
    found.push({
      path: ['data', 'limit'],
      atKey: false,
      message: `dataset dsprites renders what it trains on and needs a limit > 0 (its 727,280 training images are 3 GB at 64x64), e.g. limit: 20000`,
    });
  }
  found.push(...checkImageSize(spec.data));
  // MIG and SAP compare a factor's two most informative latents; the other scores do not need this, but a run reports all.
  if (spec.data.dataset === 'dsprites' && spec.eval.disentanglement.enabled && spec.model.latent_dim < 2) {
    found.push({
      path: ['model', 'latent_dim'],
      atKey: false,
      message: `the disentanglement scores of dataset dsprites need at least 2 latent dimensions (got ${spec.model.latent_dim}); or set eval.disentanglement.enabled: false`,
    });
  }
  if (spec.loss.objective === 'beta_tc' && spec.model.prior !== 'standard') {
    found.push({
      path: ['model', 'prior'],
      atKey: false,
      message: `objective beta_tc splits the KL against N(0, I) dimension by dimension and needs prior: standard (got ${spec.model.prior}); use objective elbo or iwae with a learned prior`,
    });
  }
  found.push(...checkTwoLayers(spec));
  return found;
}

/** What Burda et al.'s two stochastic layers are defined for: dense networks, N(0, I) on top and a single KL. */
function checkTwoLayers(spec: Experiment): Violation[] {
  const { model } = spec;
  if (model.stochastic_layers !== 2) return [];
  const at = { path: ['model', 'stochastic_layers'], atKey: false };
  const found: Violation[] = [];
  if (model.architecture !== 'mlp') {
    found.push({
      ...at,
      message: `stochastic_layers 2 is defined for dense networks and needs architecture: mlp (got ${model.architecture}); or set stochastic_layers: 1`,
    });
  }
  if (model.prior !== 'standard') {
    found.push({
      ...at,
      message: `stochastic_layers 2 puts N(0, I) on z2 and needs prior: standard (got ${model.prior}); or set stochastic_layers: 1`,
    });
  }
  if (spec.loss.objective !== 'elbo' && spec.loss.objective !== 'iwae') {
    found.push({
      ...at,
      message: `objective ${spec.loss.objective} works on one layer's KL; stochastic_layers 2 trains with objective elbo or iwae (or set stochastic_layers: 1)`,
    });
  }
  return found;
}

/** A dataset that reads files needs the section naming them, and no other dataset takes that section. */
function checkDataSource(data: Experiment['data'], dataset: 'idx' | 'images', missing: string): Violation[] {
  if (data.dataset === dataset && !data[dataset]) return [{ path: ['data'], atKey: false, message: missing }];
  if (data.dataset !== dataset && data[dataset]) {
    return [{ path: ['data', dataset], atKey: true, message: `only used with dataset: ${dataset} (dataset is ${data.dataset})` }];
  }
  return [];
}

function checkImageSize(data: Experiment['data']): Violation[] {
  const size = data.image_size;
  const at = { path: ['data', 'image_size'], atKey: false };
  if (data.dataset === 'images' && size === undefined) {
    return [
      { path: ['data'], atKey: false, message: `dataset images resizes every picture to data.image_size; set it, e.g. image_size: 32` },
    ];
  }
  if (size === undefined || data.dataset === 'images') return [];
  if (data.dataset !== 'dsprites') {
    return [{ ...at, atKey: true, message: `only used with dataset: dsprites or images (${data.dataset} images keep their own size)` }];
  }
  if (!DSPRITES_SIZES.includes(size)) return [{ ...at, message: `must be one of ${DSPRITES_SIZES.join(', ')} for dsprites (got ${size})` }];
  return [];
}
