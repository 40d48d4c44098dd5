// The MLP VAE's training step as one TensorFlow graph on tfjs-node: the forward pass, its gradients written out,
// and Adam as TensorFlow's in-place ResourceApplyAdam, run as a single session call per step.
//
// Why: for the reference model (784-400-20) tfjs's autodiff and per-variable Adam ran 331 kernels per step at about
// 50 µs of JavaScript each, twice the time of the arithmetic itself. The graph has about 75 ops; the session runs
// independent ones on both cores at once, with no JavaScript between them.
// The maths is the one Vae.negativeElbo and tf.train.adam define (test/native-step.test.ts compares the two on
// real MNIST); conv models, and every backend but tfjs-node, keep the autodiff step.
import * as tf from '@tensorflow/tfjs';
import { GraphBuilder, type GraphSession, type Ref } from '../native-graph.ts';
import type { Likelihood, Vae } from '../model/vae.ts';
import { ADAM_BETA_POWERS, type NamedTensor, type TrainingStep } from './training-step.ts';

const ACTIVATIONS = ['relu', 'tanh', 'elu', 'softplus', 'linear'] as const;
type Activation = (typeof ACTIVATIONS)[number];

interface Dense {
  kernel: tf.Variable;
  bias: tf.Variable;
  activation: Activation;
}

/** What backpropagation through a dense layer needs from its forward pass. */
interface DenseRecord {
  layer: Dense;
  input: Ref;
  preActivation: Ref;
  output: Ref;
}

// tf.train.adam's defaults, which the autodiff step uses too.
const BETA1 = 0.9;
const BETA2 = 0.999;

/** The native step for this VAE, or undefined when the backend is not tfjs-node or the model is not all dense. */
export function nativeMlpStep(vae: Vae, learningRate: number): NativeMlpStep | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const encoder = denseLayers(vae.encoder);
  const decoder = denseLayers(vae.decoder);
  if (!encoder || !decoder) return undefined;
  const mu = encoder.find((d) => d.name === 'mu');
  const logvar = encoder.find((d) => d.name === 'logvar');
  if (!mu || !logvar) return undefined;
  return new NativeMlpStep(vae, {
    encoderHidden: encoder.filter((d) => d !== mu && d !== logvar),
    mu,
    logvar,
    decoderHidden: decoder.slice(0, -1),
    output: decoder.at(-1)!,
  }, learningRate);
}

/** The model's dense layers in order, or undefined if it has any other layer with weights or an unknown activation. */
function denseLayers(model: tf.LayersModel): (Dense & { name: string })[] | undefined {
  const layers: (Dense & { name: string })[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dense') {
      if (layer.trainableWeights.length > 0) return undefined;
      continue;
    }
    const activation = layer.getConfig().activation as Activation;
    if (!ACTIVATIONS.includes(activation)) return undefined;
    const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    if (!kernel || !bias) return undefined;
    layers.push({ name: layer.name, kernel, bias, activation });
  }
  return layers.length > 0 ? layers : undefined;
}

interface Layers {
  encoderHidden: Dense[];
  mu: Dense;
  logvar: Dense;
  decoderHidden: Dense[];
  output: Dense;
}

export class NativeMlpStep implements TrainingStep {
  readonly description = 'one TensorFlow graph per step (native ops, in-place Adam)';
  /** The VAE's trainable variables, in the order of vae.trainableVariables, which is also the order of Adam's state. */
  private readonly params: tf.Variable[];
  private readonly index: Map<tf.Variable, number>;
  private readonly likelihood: Likelihood;
  private readonly session: GraphSession;
  /** The graph's inputs for a step. */
  private readonly input: Record<'x' | 'eps' | 'gradScale' | 'betaPerExample' | 'toTerms' | 'offset' | 'beta1Power' | 'beta2Power' | 'epsilon', Ref>;
  /** What a run can fetch: the step (Adam included), the loss and gradients alone, the weights, the moments. */
  private readonly output: { step: Ref; totals: Ref; grads: Ref[]; weights: Ref[]; m: Ref[]; v: Ref[] };
  /** Placeholders, and the fetch that assigns them to the weights and both moments. */
  private readonly assign: { weights: Ref[]; m: Ref[]; v: Ref[]; fetchWeights: Ref; fetchMoments: Ref };
  private iterations = 0;
  private readonly epsilon = tf.backend().epsilon();

  constructor(vae: Vae, layers: Layers, learningRate: number) {
    this.likelihood = vae.likelihood;
    this.params = vae.trainableVariables;
    this.index = new Map(this.params.map((p, i) => [p, i]));
    const dense = [...layers.encoderHidden, layers.mu, layers.logvar, ...layers.decoderHidden, layers.output];
    const byModel = new Set(dense.flatMap((d) => [d.kernel, d.bias]));
    if (byModel.size !== this.params.length || !this.params.every((p) => byModel.has(p))) {
      throw new Error('native MLP step: the dense layers do not account for every trainable variable');
    }
    const g = new GraphBuilder();
    const pixels = (layers.encoderHidden[0] ?? layers.mu).kernel.shape[0]!;
    this.input = {
      x: g.placeholder('x', [-1, pixels]),
      eps: g.placeholder('eps', [-1, vae.latentDim]),
      gradScale: g.placeholder('grad_scale', []),
      betaPerExample: g.placeholder('beta_per_example', []),
      toTerms: g.placeholder('to_terms', [2, 3]),
      offset: g.placeholder('offset', [3]),
      beta1Power: g.placeholder('beta1_power', []),
      beta2Power: g.placeholder('beta2_power', []),
      epsilon: g.placeholder('epsilon', []),
    };
    const variables = (suffix: string) => this.params.map((p, i) => g.variable(`p${i}${suffix}`, p.shape));
    const [w, m, v] = [variables(''), variables('_m'), variables('_v')];
    const weights = w.map((handle) => g.read(handle));
    const { totals, grads } = this.buildLossAndGradients(g, layers, weights);
    const scalars = [this.input.beta1Power, this.input.beta2Power, g.constant([learningRate], []), g.constant([BETA1], []), g.constant([BETA2], []), this.input.epsilon];
    const updates = grads.map((grad, i) => g.applyAdam(w[i], m[i], v[i], scalars, grad));
    this.output = { step: g.after(totals, updates), totals, grads, weights, m: m.map((h) => g.read(h)), v: v.map((h) => g.read(h)) };
    const placeholders = (name: string) => this.params.map((p, i) => g.placeholder(`${name}${i}`, p.shape));
    const assign = { weights: placeholders('new_p'), m: placeholders('new_m'), v: placeholders('new_v') };
    const done = g.constant([0], []);
    this.assign = {
      ...assign,
      fetchWeights: g.after(done, w.map((h, i) => g.assign(h, assign.weights[i]))),
      fetchMoments: g.after(done, [...m.map((h, i) => g.assign(h, assign.m[i])), ...v.map((h, i) => g.assign(h, assign.v[i]))]),
    };
    this.session = g.load();
    tf.tidy(() => {
      this.session.run(this.params.map((p, i) => [this.assign.weights[i], p]), [this.assign.fetchWeights]);
      const zeros = this.params.map((p) => tf.zerosLike(p));
      this.session.run([...zeros.map((z, i): [Ref, tf.Tensor] => [this.assign.m[i], z]), ...zeros.map((z, i): [Ref, tf.Tensor] => [this.assign.v[i], z])], [this.assign.fetchMoments]);
    });
  }

  run(x: tf.Tensor2D, eps: tf.Tensor2D, beta: number): tf.Tensor1D {
    this.iterations += 1;
    const t = this.iterations;
    return tf.tidy(() => {
      // tf.train.adam adds epsilon to the bias-corrected sqrt(v); TensorFlow's op adds it to sqrt(v), so it is scaled.
      const adam: [Ref, tf.Tensor][] = [
        [this.input.beta1Power, tf.scalar(BETA1 ** t)],
        [this.input.beta2Power, tf.scalar(BETA2 ** t)],
        [this.input.epsilon, tf.scalar(this.epsilon * Math.sqrt(1 - BETA2 ** t))],
      ];
      const [totals] = this.session.run([...this.batchFeeds(x, eps, beta), ...adam], [this.output.step]);
      return totals as tf.Tensor1D;
    });
  }

  /**
   * The batch's [loss, recon, kl] summed over examples, and the gradients of the mean loss in the order of
   * vae.trainableVariables, at the weights being trained; no update.
   */
  lossAndGradients(x: tf.Tensor2D, eps: tf.Tensor2D, beta: number): { totals: tf.Tensor1D; grads: tf.Tensor[] } {
    const [totals, ...grads] = tf.tidy(() => this.session.run(this.batchFeeds(x, eps, beta), [this.output.totals, ...this.output.grads]));
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
    const fits = (saved: tf.Tensor[]) => saved.length === this.params.length && saved.every((t, i) => tf.util.arraysEqual(t.shape, this.params[i].shape));
    if (!fits(m) || !fits(v)) throw new Error("the checkpoint's optimizer state does not match this model's parameters");
    this.iterations = (await state.find((w) => w.name === 'iter')!.tensor.data())[0];
    const feeds: [Ref, tf.Tensor][] = [...m.map((t, i): [Ref, tf.Tensor] => [this.assign.m[i], t]), ...v.map((t, i): [Ref, tf.Tensor] => [this.assign.v[i], t])];
    tf.dispose(this.session.run(feeds, [this.assign.fetchMoments]));
  }

  dispose(): void {
    this.session.dispose();
  }

  /** The inputs that describe a batch: the images, the noise, and the scalars that depend on its size and beta. */
  private batchFeeds(x: tf.Tensor2D, eps: tf.Tensor2D, beta: number): [Ref, tf.Tensor][] {
    const [n, pixels] = x.shape;
    const bernoulli = this.likelihood.kind === 'bernoulli';
    const std = this.likelihood.kind === 'gaussian' ? this.likelihood.std : 1;
    // The reconstruction sum's scale and constant: the Gaussian's 1 / (2 std^2) and its normaliser per example.
    const [reconScale, reconOffset] = bernoulli ? [1, 0] : [1 / (2 * std ** 2), n * pixels * (Math.log(std) + 0.5 * Math.log(2 * Math.PI))];
    return [
      [this.input.x, x],
      [this.input.eps, eps],
      // d(mean recon)/d(out) is (sigmoid(l) - x) / n for Bernoulli logits and (m - x) / (n std^2) for Gaussian means.
      [this.input.gradScale, tf.scalar(bernoulli ? 1 / n : 1 / (n * std ** 2))],
      [this.input.betaPerExample, tf.scalar(beta / n)],
      [this.input.toTerms, tf.tensor2d([[reconScale, reconScale, 0], [0.5 * beta, 0, 0.5]])],
      [this.input.offset, tf.tensor1d([reconOffset, reconOffset, 0])],
    ];
  }

  /** The loss terms and the gradient of every parameter, as graph nodes over `weights` (reads of the variables). */
  private buildLossAndGradients(g: GraphBuilder, layers: Layers, weights: Ref[]): { totals: Ref; grads: Ref[] } {
    const { x, eps, gradScale, betaPerExample, toTerms, offset } = this.input;
    const half = g.constant([0.5], []);
    const one = g.constant([1], []);

    // Forward: q(z|x) from two heads, z = mu + exp(logvar / 2) * eps, then p(x|z)'s parameters.
    const encoder = this.forward(g, x, layers.encoderHidden, weights);
    const h = encoder.at(-1)?.output ?? x;
    const mu = this.affine(g, h, layers.mu, weights);
    const logvar = this.affine(g, h, layers.logvar, weights);
    const noise = g.op('Mul', g.op('Exp', g.op('Mul', logvar, half)), eps);
    const z = g.op('AddV2', mu, noise);
    const decoder = this.forward(g, z, [...layers.decoderHidden, layers.output], weights);
    const out = decoder.at(-1)!.output;

    // Per-pixel reconstruction NLL (without the Gaussian's constant) and d(mean recon)/d(out).
    const bernoulli = this.likelihood.kind === 'bernoulli';
    // softplus(l) - x * l from the logits and its gradient sigmoid(l) - x; or (m - x)^2 and m - x.
    const reconElements = bernoulli ? g.op('Sub', g.op('Softplus', out), g.op('Mul', x, out)) : g.op('SquaredDifference', out, x);
    const dOut = g.op('Mul', g.op('Sub', bernoulli ? g.op('Sigmoid', out) : out, x), gradScale);
    // 2 KL = sum(mu^2 + exp(logvar) - 1 - logvar).
    const expLogvarMinusOne = g.op('Sub', g.op('Exp', logvar), one);
    const twiceKl = g.op('AddV2', g.op('Square', mu), g.op('Sub', expLogvarMinusOne, logvar));

    // The batch's [loss, recon, kl] summed over examples, as one [1, 2] x [2, 3] product plus a constant row.
    const allAxes = g.constant([0, 1], [2], 'int32');
    const sums = g.concat([g.sum(reconElements, allAxes, true), g.sum(twiceKl, allAxes, true)], g.constant([1], [], 'int32'));
    const totals = g.reshape(g.op('AddV2', g.matMul(sums, toTerms), offset), g.constant([3], [1], 'int32'));

    // Backward. The loss is mean recon + beta * mean KL over the batch.
    const grads: Ref[] = [];
    const dz = this.backward(g, decoder, dOut, weights, grads, true)!;
    const dMu = g.op('AddV2', dz, g.op('Mul', mu, betaPerExample));
    // d z / d logvar = eps * exp(logvar / 2) / 2 = noise / 2; d KL / d logvar = (exp(logvar) - 1) / 2.
    const dLogvar = g.op('Mul', g.op('AddV2', g.op('Mul', dz, noise), g.op('Mul', expLogvarMinusOne, betaPerExample)), half);
    const needH = layers.encoderHidden.length > 0;
    const dhMu = this.backward(g, [{ layer: layers.mu, input: h, preActivation: mu, output: mu }], dMu, weights, grads, needH);
    const dhLogvar = this.backward(g, [{ layer: layers.logvar, input: h, preActivation: logvar, output: logvar }], dLogvar, weights, grads, needH);
    if (needH) this.backward(g, encoder, g.op('AddV2', dhMu!, dhLogvar!), weights, grads, false);
    return { totals, grads };
  }

  private affine(g: GraphBuilder, input: Ref, layer: Dense, weights: Ref[]): Ref {
    return g.op('BiasAdd', g.matMul(input, weights[this.index.get(layer.kernel)!]), weights[this.index.get(layer.bias)!]);
  }

  private forward(g: GraphBuilder, input: Ref, layers: Dense[], weights: Ref[]): DenseRecord[] {
    const records: DenseRecord[] = [];
    for (const layer of layers) {
      const preActivation = this.affine(g, input, layer, weights);
      const output = layer.activation === 'linear' ? preActivation : g.op(ACTIVATION_OPS[layer.activation], preActivation);
      records.push({ layer, input, preActivation, output });
      input = output;
    }
    return records;
  }

  /**
   * Backpropagates `dOutput` through `records` (last first), putting each layer's gradients at its parameters'
   * indices in `grads`; returns d(input) if asked.
   */
  private backward(g: GraphBuilder, records: DenseRecord[], dOutput: Ref, weights: Ref[], grads: Ref[], needInput: boolean): Ref | undefined {
    let d = dOutput;
    for (let i = records.length - 1; i >= 0; i--) {
      const { layer, input, preActivation, output } = records[i];
      const dPre = activationGrad(g, layer.activation, d, preActivation, output);
      const kernel = this.index.get(layer.kernel)!;
      grads[kernel] = g.matMul(input, dPre, true, false);
      grads[this.index.get(layer.bias)!] = g.op('BiasAddGrad', dPre);
      if (i > 0 || needInput) d = g.matMul(dPre, weights[kernel], false, true);
    }
    return needInput ? d : undefined;
  }
}

const ACTIVATION_OPS: Record<Exclude<Activation, 'linear'>, string> = { relu: 'Relu', tanh: 'Tanh', elu: 'Elu', softplus: 'Softplus' };

/** d(loss)/d(pre-activation) from d(loss)/d(output), with TensorFlow's own gradient ops. */
function activationGrad(g: GraphBuilder, activation: Activation, dOutput: Ref, preActivation: Ref, output: Ref): Ref {
  switch (activation) {
    case 'linear':
      return dOutput;
    case 'relu':
      return g.op('ReluGrad', dOutput, output);
    case 'tanh':
      return g.op('TanhGrad', output, dOutput);
    case 'elu':
      return g.op('EluGrad', dOutput, output);
    case 'softplus':
      return g.op('SoftplusGrad', dOutput, preActivation);
  }
}
