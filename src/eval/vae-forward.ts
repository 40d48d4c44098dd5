// The VAE's forward pass for evaluation, in one of two forms with the same maths: on tfjs-node a TensorFlow session
// built from forward-graph.ts (the graph the training step differentiates), one call per batch; elsewhere, or when the
// model has no graph translation, tfjs ops (vae.ts, loss.ts). Weights are fed at every call, so one session serves
// a model while it trains.
import * as tf from '@tensorflow/tfjs';
import type { Vae } from '../model/vae.ts';
import { importanceWeightsGraph, vaeGraph } from '../model/forward-graph.ts';
import { perExample, reconstructionNllSum, weightRefs } from '../model/vae-graph.ts';
import { GraphBuilder, type Ref } from '../tfjs-bridge/graph-builder.ts';
import { loadGraphSession, type GraphSession, type SessionLoader } from '../tfjs-bridge/tfjs-node-session.ts';

export interface VaeForward {
  /** Per-example reconstruction NLL and KL for one reparameterised sample per example (noise `eps`). */
  terms(x: tf.Tensor2D, eps: tf.Tensor2D): { recon: tf.Tensor1D; kl: tf.Tensor1D };
  /** q(z|x)'s means and log-variances. */
  posterior(x: tf.Tensor2D): { mu: tf.Tensor2D; logvar: tf.Tensor2D };
  /**
   * log p(x|z) + log p(z) - log q(z|x) for c samples of z per example, as a [batch, c] tensor; `eps` is [batch * c,
   * vae.noiseDim], the c draws of example i in rows i * c to i * c + c - 1.
   */
  logImportanceWeights(x: tf.Tensor2D, eps: tf.Tensor2D, c: number): tf.Tensor2D;
}

const graphs = new WeakMap<Vae, GraphForward | null>();

/** The fastest form for this model and backend; a graph session is built once per model and kept with it. */
export function vaeForward(vae: Vae): VaeForward {
  if (tf.getBackend() !== 'tensorflow') return eagerVaeForward(vae);
  if (!graphs.has(vae)) {
    try {
      graphs.set(vae, new GraphForward(vae));
    } catch {
      // A model the graph cannot express trains through autodiff, which says why; evaluation follows quietly.
      graphs.set(vae, null);
    }
  }
  return graphs.get(vae) ?? eagerVaeForward(vae);
}

/** The session form, on tfjs-node, in a session of its own made by `loader` (bench/iwae-timing.ts profiles with it). */
export function graphVaeForward(vae: Vae, loader: SessionLoader = loadGraphSession): VaeForward {
  return new GraphForward(vae, loader);
}

/** The forward pass as tfjs ops, on any backend. */
export function eagerVaeForward(vae: Vae): VaeForward {
  return new EagerForward(vae);
}

class EagerForward implements VaeForward {
  constructor(private readonly vae: Vae) {}

  terms(x: tf.Tensor2D, eps: tf.Tensor2D) {
    return this.vae.perExampleTerms(x, eps);
  }

  posterior(x: tf.Tensor2D) {
    return tf.tidy(() => this.vae.encode(x));
  }

  logImportanceWeights(x: tf.Tensor2D, eps: tf.Tensor2D, c: number): tf.Tensor2D {
    return tf.tidy(() => this.vae.importanceWeights(x, eps, c).logW);
  }
}

class GraphForward implements VaeForward {
  private readonly session: GraphSession;
  private readonly params: tf.Variable[];
  private readonly weights: Ref[];
  private readonly input: Record<'x' | 'eps', Ref>;
  private readonly output: { recon: Ref; kl: Ref; mu: Ref; logvar: Ref; logW: Ref };

  constructor(vae: Vae, loader?: SessionLoader) {
    this.params = vae.trainableVariables;
    const g = new GraphBuilder();
    const pixels = vae.encoder.inputs[0].shape[1]!;
    this.input = { x: g.placeholder('x', [-1, pixels]), eps: g.placeholder('eps', [-1, vae.noiseDim]) };
    this.weights = this.params.map((p, i) => g.placeholder(`w${i}`, p.shape));
    const weight = weightRefs(this.params, this.weights);
    const { x, eps } = this.input;
    const one = vaeGraph(g, vae, x, eps, pixels, weight);
    this.output = {
      recon: perExample(g, one.recon),
      kl: perExample(g, one.kl),
      mu: one.mu,
      logvar: one.logvar,
      logW: importanceWeightsGraph(g, vae, x, eps, pixels, weight, reconstructionNllSum).logW,
    };
    this.session = g.load(loader);
  }

  terms(x: tf.Tensor2D, eps: tf.Tensor2D) {
    const [recon, kl] = this.run(
      [
        [this.input.x, x],
        [this.input.eps, eps],
      ],
      [this.output.recon, this.output.kl],
    );
    return { recon: recon as tf.Tensor1D, kl: kl as tf.Tensor1D };
  }

  posterior(x: tf.Tensor2D) {
    const [mu, logvar] = this.run([[this.input.x, x]], [this.output.mu, this.output.logvar]);
    return { mu: mu as tf.Tensor2D, logvar: logvar as tf.Tensor2D };
  }

  logImportanceWeights(x: tf.Tensor2D, eps: tf.Tensor2D, c: number): tf.Tensor2D {
    if (eps.shape[0] !== x.shape[0] * c) throw new Error(`importance weights: ${eps.shape[0]} draws for ${x.shape[0]} examples x ${c}`);
    return this.run(
      [
        [this.input.x, x],
        [this.input.eps, eps],
      ],
      [this.output.logW],
    )[0] as tf.Tensor2D;
  }

  private run(feeds: [Ref, tf.Tensor][], fetches: Ref[]): tf.Tensor[] {
    return this.session.run([...feeds, ...this.params.map((p, i): [Ref, tf.Tensor] => [this.weights[i], p])], fetches);
  }
}
