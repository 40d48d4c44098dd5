// The training step as one TensorFlow graph on tfjs-node, for any model vae-graph.ts can translate: the forward
// pass and loss from the model definition, their gradients from TensorFlow's own registry, and Adam as
// TensorFlow's in-place ResourceApplyAdam on resource variables that live in the session; one session call a step.
//
// Why: tfjs's autodiff and per-variable Adam ran 331 kernels a step for the reference MLP, each costing about 50 µs
// of JavaScript; in the graph the session runs independent ops on both cores with no JavaScript between them.
// test/graph-step.test.ts compares it with tfjs autodiff + tf.train.adam on real MNIST.
import * as tf from '@tensorflow/tfjs';
import type { Objective } from '../model/objective.ts';
import { type Vae } from '../model/vae.ts';
import { betaTcPerExample } from '../model/pairwise-graph.ts';
import { importanceWeightsGraph, vaeGraph } from '../model/forward-graph.ts';
import { perExample, weightRefs, type VaeGraph } from '../model/vae-graph.ts';
import { RuntimeFailure } from '../errors.ts';
import { GraphBuilder, type Ref } from '../tfjs-bridge/graph-builder.ts';
import { loadGraphSession, type GraphSession, type SessionLoader } from '../tfjs-bridge/tfjs-node-session.ts';
import { ADAM_BETA_POWERS, type NamedTensor, type TrainingStep } from './training-step.ts';

// tf.train.adam's defaults, which the autodiff step uses too.
const BETA1 = 0.9;
const BETA2 = 0.999;

export class GraphStep implements TrainingStep {
  readonly description = 'one TensorFlow graph per step (TensorFlow gradients, in-place Adam)';
  /** The VAE's trainable variables, in the order of vae.trainableVariables, which is also the order of Adam's state. */
  private readonly params: tf.Variable[];
  private readonly session: GraphSession;
  /** The graph's inputs for a step. */
  private readonly input: Record<'x' | 'eps' | 'klFactor' | 'klTarget' | 'tcWeights' | 'weights' | 'adam', Ref>;
  /** Each term's factor in the batch's loss (before its batch size and the KL part's factor): its scale. */
  private termScales: [number, number] = [1, 1];
  /** What a run can fetch: the step (Adam included), the loss and gradients alone, the weights, the moments. */
  private readonly output: { step: Ref; totals: Ref; grads: Ref[]; weights: Ref[]; m: Ref[]; v: Ref[] };
  /** Placeholders, and the fetch that assigns them to the weights and both moments. */
  private readonly assign: { weights: Ref[]; m: Ref[]; v: Ref[]; fetchWeights: Ref; fetchMoments: Ref };
  private iterations = 0;
  private readonly epsilon = tf.backend().epsilon();

  /**
   * Throws GraphUnsupportedError for a model the graph cannot express, or an Error if TensorFlow's C API is out of
   * reach. `kind`: the objective every step will get. `loadSession` is tfjs-node's session unless a profiler passes its own.
   */
  constructor(
    vae: Vae,
    learningRate: number,
    readonly kind: Objective['kind'] = 'elbo',
    loadSession: SessionLoader = loadGraphSession,
  ) {
    this.params = vae.trainableVariables;
    const g = new GraphBuilder();
    const pixels = vae.encoder.inputs[0].shape[1]!;
    this.input = {
      x: g.placeholder('x', [-1, pixels]),
      eps: g.placeholder('eps', [-1, vae.noiseDim]),
      // beta (elbo) or gamma (capacity): the factor of the KL part.
      klFactor: g.placeholder('kl_factor', []),
      // The capacity C times the batch size: the batch's KL sum that capacity aims for.
      klTarget: g.placeholder('kl_target', []),
      // β-TCVAE's weights of MI, TC and dimension-wise KL, and log(N M) for its estimate of q(z).
      tcWeights: g.placeholder('tc_weights', [4]),
      // What one element of the reconstruction and of the KL weighs in the batch's loss; for IWAE, what one
      // example weighs, and log k.
      weights: g.placeholder('term_weights', [2]),
      // beta1^t, beta2^t and epsilon, which change every step, as one feed.
      adam: g.placeholder('adam', [3]),
    };
    const variables = (suffix: string) => this.params.map((p, i) => g.variable(`p${i}${suffix}`, p.shape));
    const [w, m, v] = [variables(''), variables('_m'), variables('_v')];
    const weights = w.map((handle) => g.read(handle));
    const { totals, grads } = this.kind === 'iwae' ? this.iwaeLoss(g, vae, pixels, weights) : this.klLoss(g, vae, pixels, weights);
    const [beta1Power, beta2Power, epsilon] = g.unstack(this.input.adam, 3);
    const scalars = [beta1Power, beta2Power, g.scalar(learningRate), g.scalar(BETA1), g.scalar(BETA2), epsilon];
    const updates = grads.map((grad, i) => g.applyAdam(w[i], m[i], v[i], scalars, grad));
    this.output = { step: g.after(totals, updates), totals, grads, weights, m: m.map((h) => g.read(h)), v: v.map((h) => g.read(h)) };
    const placeholders = (name: string) => this.params.map((p, i) => g.placeholder(`${name}${i}`, p.shape));
    const assign = { weights: placeholders('new_p'), m: placeholders('new_m'), v: placeholders('new_v') };
    const done = g.scalar(0);
    this.assign = {
      ...assign,
      fetchWeights: g.after(
        done,
        w.map((h, i) => g.assign(h, assign.weights[i])),
      ),
      fetchMoments: g.after(done, [...m.map((h, i) => g.assign(h, assign.m[i])), ...v.map((h, i) => g.assign(h, assign.v[i]))]),
    };
    this.session = g.load(loadSession);
    tf.tidy(() => {
      this.session.run(
        this.params.map((p, i) => [this.assign.weights[i], p]),
        [this.assign.fetchWeights],
      );
      const zeros = this.params.map((p) => tf.zerosLike(p));
      this.session.run(
        [...zeros.map((z, i): [Ref, tf.Tensor] => [this.assign.m[i], z]), ...zeros.map((z, i): [Ref, tf.Tensor] => [this.assign.v[i], z])],
        [this.assign.fetchMoments],
      );
    });
  }

  run(x: tf.Tensor2D, eps: tf.Tensor2D, objective: Objective): tf.Tensor1D {
    this.iterations += 1;
    const t = this.iterations;
    return tf.tidy(() => {
      // tf.train.adam adds epsilon to the bias-corrected sqrt(v); TensorFlow's op adds it to sqrt(v), so it is scaled.
      const adam = tf.tensor1d([BETA1 ** t, BETA2 ** t, this.epsilon * Math.sqrt(1 - BETA2 ** t)]);
      const [totals] = this.session.run([...this.batchFeeds(x, eps, objective), [this.input.adam, adam]], [this.output.step]);
      return totals as tf.Tensor1D;
    });
  }

  /**
   * The batch's [loss, recon, kl] summed over examples, and the gradients of the mean loss in the order of
   * vae.trainableVariables, at the weights being trained; no update.
   */
  lossAndGradients(x: tf.Tensor2D, eps: tf.Tensor2D, objective: Objective): { totals: tf.Tensor1D; grads: tf.Tensor[] } {
    const [totals, ...grads] = tf.tidy(() =>
      this.session.run(this.batchFeeds(x, eps, objective), [this.output.totals, ...this.output.grads]),
    );
    return { totals: totals as tf.Tensor1D, grads };
  }

  /** Copies the weights being trained into the VAE's own variables, for everything else that reads the model. */
  syncModel(): void {
    const weights = this.session.run([], this.output.weights);
    this.params.forEach((p, i) => p.assign(weights[i]));
    tf.dispose(weights);
  }

  async optimizerState() {
    const [m, v] = [this.session.run([], this.output.m), this.session.run([], this.output.v)];
    const named = [
      { name: 'iter', tensor: tf.scalar(this.iterations, 'int32') },
      ...m.map((tensor, i) => ({ name: `${this.params[i].name}/m`, tensor })),
      ...v.map((tensor, i) => ({ name: `${this.params[i].name}/v`, tensor })),
      { name: ADAM_BETA_POWERS[0], tensor: tf.scalar(BETA1 ** (this.iterations + 1)) },
      { name: ADAM_BETA_POWERS[1], tensor: tf.scalar(BETA2 ** (this.iterations + 1)) },
    ];
    const encoded = await tf.io.encodeWeights(named);
    tf.dispose(named.map((w) => w.tensor));
    return encoded;
  }

  async restoreOptimizerState(state: NamedTensor[]) {
    const moments = (suffix: string) => state.filter((w) => w.name.endsWith(`/${suffix}`)).map((w) => w.tensor);
    const [m, v] = [moments('m'), moments('v')];
    const fits = (saved: tf.Tensor[]) =>
      saved.length === this.params.length && saved.every((t, i) => tf.util.arraysEqual(t.shape, this.params[i].shape));
    if (!fits(m) || !fits(v)) throw new RuntimeFailure("the checkpoint's optimizer state does not match this model's parameters");
    this.iterations = (await state.find((w) => w.name === 'iter')!.tensor.data())[0];
    const feeds: [Ref, tf.Tensor][] = [
      ...m.map((t, i): [Ref, tf.Tensor] => [this.assign.m[i], t]),
      ...v.map((t, i): [Ref, tf.Tensor] => [this.assign.v[i], t]),
    ];
    tf.dispose(this.session.run(feeds, [this.assign.fetchMoments]));
  }

  dispose(): void {
    this.session.dispose();
  }

  /**
   * The batch's [loss, recon, kl, ...the objective's own terms], each summed over its examples, as every step
   * returns them, and the gradients of the mean loss: recon + the KL part, differentiated from the terms' elements
   * (their offsets have no gradient), each weighted by d loss / d element.
   */
  private klLoss(g: GraphBuilder, vae: Vae, pixels: number, weights: Ref[]): { totals: Ref; grads: Ref[] } {
    const terms = vaeGraph(g, vae, this.input.x, this.input.eps, pixels, weightRefs(this.params, weights));
    const [recon, kl] = [g.sum(perExample(g, terms.recon), [0]), g.sum(perExample(g, terms.kl), [0])];
    this.termScales = [terms.recon.scale, terms.kl.scale];
    const [reconWeight, klWeight] = g.unstack(this.input.weights, 2);
    const klTerm = this.klPart(g, terms, kl, klWeight);
    return {
      totals: g.stack([g.op('AddV2', recon, klTerm.sum), recon, kl, ...klTerm.terms]),
      grads: g.gradients([terms.recon.elements, klTerm.ys], weights, [g.fillLike(terms.recon.elements, reconWeight), klTerm.dy]),
    };
  }

  /**
   * The same for IWAE: each example's loss is log k - log sum_i w_i over its k draws (`eps` holds batch * k rows),
   * weighing 1 / batch in the mean; recon and kl are the means over the draws (the KL is analytic for N(0, I) with one
   * stochastic layer, and log q - log p over the draws for a learned prior or two layers).
   */
  private iwaeLoss(g: GraphBuilder, vae: Vae, pixels: number, weights: Ref[]): { totals: Ref; grads: Ref[] } {
    const terms = importanceWeightsGraph(g, vae, this.input.x, this.input.eps, pixels, weightRefs(this.params, weights));
    const [exampleWeight, logK] = g.unstack(this.input.weights, 2);
    const loss = g.op('Sub', logK, g.logSumExp(terms.logW, 1));
    return {
      totals: g.stack([g.sum(loss, [0]), g.sum(terms.recon, [0]), g.sum(terms.kl, [0])]),
      grads: g.gradients([loss], weights, [g.fillLike(loss, exampleWeight)]),
    };
  }

  /**
   * The batch's KL part, summed over its examples, and what TensorFlow differentiates for it: `ys`, each element
   * weighted by `dy`, d loss / d element. elbo: beta * KL. capacity: gamma * |KL - C|, whose derivative in KL is
   * gamma times the sign of KL - C; as a weight of the elements that sign carries no gradient of its own, which is
   * exactly the derivative. beta_tc: each example's weighted MI, TC and dimension-wise KL, each weighing 1 / batch;
   * `terms` are their batch sums, unweighted.
   */
  private klPart(g: GraphBuilder, terms: VaeGraph, klSum: Ref, klWeight: Ref): { sum: Ref; ys: Ref; dy: Ref; terms: Ref[] } {
    const elements = terms.kl.elements;
    if (this.kind === 'beta_tc') {
      const [miWeight, tcWeight, dimKlWeight, logNM] = g.unstack(this.input.tcWeights, 4);
      const { mi, tc, dimKl } = betaTcPerExample(g, terms.z, terms.mu, terms.logvar, logNM);
      const weighted = g.op('AddV2', g.op('AddV2', g.op('Mul', miWeight, mi), g.op('Mul', tcWeight, tc)), g.op('Mul', dimKlWeight, dimKl));
      return {
        sum: g.sum(weighted, [0]),
        ys: weighted,
        dy: g.fillLike(weighted, klWeight),
        terms: [mi, tc, dimKl].map((t) => g.sum(t, [0])),
      };
    }
    if (this.kind === 'elbo') {
      return { sum: g.op('Mul', this.input.klFactor, klSum), ys: elements, dy: g.fillLike(elements, klWeight), terms: [] };
    }
    const gap = g.op('Sub', klSum, this.input.klTarget);
    const elementWeight = g.op('Mul', klWeight, g.op('Sign', gap));
    return { sum: g.op('Mul', this.input.klFactor, g.op('Abs', gap)), ys: elements, dy: g.fillLike(elements, elementWeight), terms: [] };
  }

  private batchFeeds(x: tf.Tensor2D, eps: tf.Tensor2D, objective: Objective): [Ref, tf.Tensor][] {
    if (objective.kind !== this.kind) throw new Error(`this graph step was built for the ${this.kind} objective, not ${objective.kind}`);
    const n = x.shape[0];
    const [reconScale, klScale] = this.termScales;
    const feeds: [Ref, tf.Tensor][] = [
      [this.input.x, x],
      [this.input.eps, eps],
    ];
    if (objective.kind === 'iwae') {
      if (eps.shape[0] !== n * objective.samples)
        throw new Error(`IWAE step: ${eps.shape[0]} draws for ${n} examples x ${objective.samples}`);
      return [...feeds, [this.input.weights, tf.tensor1d([1 / n, Math.log(objective.samples)])]];
    }
    if (objective.kind === 'beta_tc') {
      const { mi, tc, dimKl, datasetSize } = objective;
      feeds.push([this.input.tcWeights, tf.tensor1d([mi, tc, dimKl, Math.log(datasetSize * n)])]);
      return [...feeds, [this.input.weights, tf.tensor1d([reconScale / n, 1 / n])]];
    }
    const factor = objective.kind === 'capacity' ? objective.gamma : objective.beta;
    feeds.push([this.input.klFactor, tf.scalar(factor)], [this.input.weights, tf.tensor1d([reconScale / n, (factor * klScale) / n])]);
    if (objective.kind === 'capacity') feeds.push([this.input.klTarget, tf.scalar(n * objective.capacity)]);
    return feeds;
  }
}
