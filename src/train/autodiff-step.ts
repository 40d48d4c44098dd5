import * as tf from '@tensorflow/tfjs';
import type { Objective } from '../model/objective.ts';
import type { Vae } from '../model/vae.ts';
import { adamBetaPowers } from '../tfjs-bridge/tfjs-adam.ts';
import { ADAM_BETA_POWERS, type NamedTensor, type TrainingStep } from './training-step.ts';

/** tfjs's gradient tape and Adam: any architecture, any backend. */
export class AutodiffStep implements TrainingStep {
  readonly description: string;
  private readonly optimizer: tf.AdamOptimizer;

  /** `why`: the reason a faster step could not be used, for the run's log. */
  constructor(
    private readonly vae: Vae,
    learningRate: number,
    why?: string,
  ) {
    this.optimizer = tf.train.adam(learningRate);
    this.description = why ? `tfjs autodiff + tf.train.adam (${why})` : 'tfjs autodiff + tf.train.adam';
  }

  run(x: tf.Tensor2D, eps: tf.Tensor2D, objective: Objective): tf.Tensor1D {
    let totals: tf.Tensor1D | undefined;
    this.optimizer.minimize(() => {
      const terms = this.vae.batchLoss(x, eps, objective);
      totals = tf.keep(tf.stack([terms.loss, terms.recon, terms.kl, ...terms.terms]).mul(x.shape[0]) as tf.Tensor1D);
      return terms.loss;
    });
    return totals!;
  }

  /** The optimizer updates the VAE's variables themselves. */
  syncModel(): void {}

  async optimizerState() {
    const weights = await this.optimizer.getWeights();
    const [beta1Power, beta2Power] = adamBetaPowers(this.optimizer);
    const encoded = await tf.io.encodeWeights([
      ...weights,
      { name: ADAM_BETA_POWERS[0], tensor: beta1Power },
      { name: ADAM_BETA_POWERS[1], tensor: beta2Power },
    ]);
    weights.find((w) => w.name === 'iter')?.tensor.dispose();
    return encoded;
  }

  async restoreOptimizerState(state: NamedTensor[]) {
    const powers = ADAM_BETA_POWERS as readonly string[];
    // Each tensor becomes a variable holding its own reference to the data, so the caller may dispose its tensors.
    await this.optimizer.setWeights(state.filter((w) => !powers.includes(w.name)));
    const [beta1Power, beta2Power] = adamBetaPowers(this.optimizer);
    beta1Power.assign(state.find((w) => w.name === ADAM_BETA_POWERS[0])!.tensor as tf.Scalar);
    beta2Power.assign(state.find((w) => w.name === ADAM_BETA_POWERS[1])!.tensor as tf.Scalar);
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
