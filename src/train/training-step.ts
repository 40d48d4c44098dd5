import * as tf from '@tensorflow/tfjs';
import type { Objective } from '../model/objective.ts';

export type NamedTensor = { name: string; tensor: tf.Tensor };

/** One optimisation step on a batch, and the optimiser state a checkpoint keeps. */
export interface TrainingStep {
  /** Which implementation runs, for the run's log. */
  readonly description: string;
  /**
   * One Adam step on the batch's loss; returns the batch's loss, recon and KL, then the objective's own terms
   * (objectiveTerms), each summed over its examples.
   */
  run(x: tf.Tensor2D, eps: tf.Tensor2D, objective: Objective): tf.Tensor1D;
  /**
   * Makes the VAE's own variables hold the weights trained so far. A step may train copies of them (the native
   * step does, to update them in place), so the trainer calls this before anything else reads the model.
   */
  syncModel(): void;
  /**
   * Adam's state as tf.train.adam names and orders it: 'iter', every variable's `<name>/m`, every `<name>/v`, then
   * the running powers of beta1 and beta2 (ADAM_BETA_POWERS). Either step reads what the other wrote.
   */
  optimizerState(): Promise<{ data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] }>;
  /** Takes the state optimizerState wrote; the caller keeps ownership of the tensors. */
  restoreOptimizerState(state: NamedTensor[]): Promise<void>;
  dispose(): void;
}

export const ADAM_BETA_POWERS = ['adam/accBeta1', 'adam/accBeta2'] as const;
