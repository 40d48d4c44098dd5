// What training minimises, per example: the reconstruction NLL plus a KL part, which the spec's objective chooses
// (both means over the batch of per-example sums, in nats), or the importance-weighted bound.
import type * as tf from '@tensorflow/tfjs';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import { betaTcTerms } from './loss.ts';

export type Objective =
  /** beta * KL: the ELBO for beta = 1 (Kingma & Welling 2014), β-VAE otherwise (Higgins et al. 2017). */
  | { kind: 'elbo'; beta: number }
  /** gamma * |KL - C|: controlled capacity increase (Burgess et al. 2018), C in nats. */
  | { kind: 'capacity'; gamma: number; capacity: number }
  /** mi * MI + tc * TC + dimKl * dimension-wise KL (β-TCVAE, Chen et al. 2018), over a training set of datasetSize. */
  | { kind: 'beta_tc'; mi: number; tc: number; dimKl: number; datasetSize: number }
  /** -log (1/k) sum_i p(x, z_i) / q(z_i|x) over k draws of z (IWAE, Burda et al. 2015): no separate KL part. */
  | { kind: 'iwae'; samples: number };

/** The objectives made of the reconstruction and a KL part. */
export type KlObjective = Exclude<Objective, { kind: 'iwae' }>;

/** Draws of z per example that a training step of this objective takes. */
export function samplesPerExample(objective: Objective): number {
  return objective.kind === 'iwae' ? objective.samples : 1;
}

/**
 * The objective at a point of training: `progressEpochs` for the warm-up, `step` (from 0) for the capacity schedule,
 * `datasetSize` (training examples) for β-TCVAE's estimate of q(z).
 */
export function objectiveAt(loss: ResolvedSpec['loss'], progressEpochs: number, step: number, datasetSize: number): Objective {
  if (loss.objective === 'iwae') return { kind: 'iwae', samples: loss.iwae.samples };
  if (loss.objective === 'beta_tc') {
    const { mi_weight, tc_weight, dim_kl_weight } = loss.beta_tc;
    return { kind: 'beta_tc', mi: mi_weight, tc: tc_weight, dimKl: dim_kl_weight, datasetSize };
  }
  if (loss.objective === 'capacity') {
    const { gamma, max_nats, anneal_steps } = loss.capacity;
    return { kind: 'capacity', gamma, capacity: max_nats * Math.min(1, step / anneal_steps) };
  }
  return { kind: 'elbo', beta: klWeightAt(progressEpochs, loss) };
}

/** beta for the current point of training: ramps linearly from 0 to kl_weight over the warm-up epochs. */
export function klWeightAt(progressEpochs: number, loss: Pick<ResolvedSpec['loss'], 'kl_weight' | 'kl_warmup_epochs'>): number {
  if (loss.kl_warmup_epochs <= 0) return loss.kl_weight;
  return loss.kl_weight * Math.min(1, progressEpochs / loss.kl_warmup_epochs);
}

/**
 * The terms an objective logs per epoch besides loss, recon and kl, as `train/<name>`: β-TCVAE's three parts of the
 * KL. Every step returns their batch sums after [loss, recon, kl], in this order.
 */
export function objectiveTerms(kind: Objective['kind']): string[] {
  return kind === 'beta_tc' ? ['mi', 'tc', 'dim_kl'] : [];
}

/**
 * The KL part of the loss for a batch, from its sample z from q(z|x) = N(mu, exp(logvar)) and its mean analytic KL,
 * with the objective's own terms (objectiveTerms), each a mean over the batch.
 */
export function klPart(
  objective: KlObjective,
  batch: { z: tf.Tensor2D; mu: tf.Tensor2D; logvar: tf.Tensor2D; meanKl: tf.Scalar },
): { part: tf.Scalar; terms: tf.Scalar[] } {
  if (objective.kind === 'beta_tc') {
    const { mi, tc, dimKl } = betaTcTerms(batch.z, batch.mu, batch.logvar, objective.datasetSize);
    return { part: mi.mul(objective.mi).add(tc.mul(objective.tc)).add(dimKl.mul(objective.dimKl)), terms: [mi, tc, dimKl] };
  }
  if (objective.kind === 'capacity') return { part: batch.meanKl.sub(objective.capacity).abs().mul(objective.gamma), terms: [] };
  return { part: batch.meanKl.mul(objective.beta), terms: [] };
}

/** ...and as a number, for a loss reported on a whole set (val/loss); β-TCVAE's estimate needs batches, so its KL is analytic. */
export function klPartValue(objective: KlObjective, meanKl: number): number {
  if (objective.kind === 'beta_tc') return meanKl;
  if (objective.kind === 'capacity') return objective.gamma * Math.abs(meanKl - objective.capacity);
  return objective.beta * meanKl;
}

/**
 * The objective as the run's log names it, e.g. `bce + 1 x KL`, `bce + 1000 x |KL - C|, C up to 25 nats over 100000
 * steps` or `bce, importance-weighted bound with k = 5 (IWAE)`.
 */
export function describeObjective(loss: ResolvedSpec['loss']): string {
  const recon = loss.reconstruction;
  if (loss.objective === 'iwae') return `${recon}, importance-weighted bound with k = ${loss.iwae.samples} (IWAE)`;
  if (loss.objective === 'capacity') {
    const { gamma, max_nats, anneal_steps } = loss.capacity;
    return `${recon} + ${gamma} x |KL - C|, C up to ${max_nats} nats over ${anneal_steps} steps`;
  }
  if (loss.objective === 'beta_tc') {
    const { mi_weight, tc_weight, dim_kl_weight } = loss.beta_tc;
    return `${recon} + ${mi_weight} x MI + ${tc_weight} x TC + ${dim_kl_weight} x dimension-wise KL (β-TCVAE)`;
  }
  return `${recon} + ${loss.kl_weight} x KL${loss.kl_warmup_epochs > 0 ? ` (warm-up over ${loss.kl_warmup_epochs} epochs)` : ''}`;
}

/** The objective's own numbers for an epoch's metrics (train/kl_weight, or the capacity reached). */
export function objectiveMetrics(objective: Objective): Record<string, number> {
  if (objective.kind === 'capacity') return { 'train/capacity_nats': objective.capacity, 'train/capacity_gamma': objective.gamma };
  if (objective.kind === 'beta_tc') return { 'train/tc_weight': objective.tc };
  if (objective.kind === 'iwae') return { 'train/iwae_samples': objective.samples };
  return { 'train/kl_weight': objective.beta };
}
