// The MLP VAE's training step as native TensorFlow ops on tfjs-node: the forward pass, its gradients written out,
// and Adam as TensorFlow's in-place ResourceApplyAdam on resource variables.
//
// Why: for the reference model (784-400-20) tfjs's autodiff and per-variable Adam ran 331 kernels per step at about
// 50 µs of JavaScript each, twice the time of the arithmetic itself. This step runs about 75 ops at about 18 µs,
// and Adam makes one pass over each parameter instead of a dozen full-size temporaries.
// The maths is the one Vae.negativeElbo and tf.train.adam define (test/native-step.test.ts compares the two on
// real MNIST); conv models, and every backend but tfjs-node, keep the autodiff step.
import * as tf from '@tensorflow/tfjs';
import { NativeOps } from '../native-ops.ts';
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
  input: tf.Tensor;
  preActivation: tf.Tensor;
  output: tf.Tensor;
}

// tf.train.adam's defaults, which the autodiff step uses too.
const BETA1 = 0.9;
const BETA2 = 0.999;

/** The native step for this VAE, or undefined when the backend is not tfjs-node or the model is not all dense. */
export function nativeMlpStep(vae: Vae, learningRate: number): NativeMlpStep | undefined {
  const ops = NativeOps.ofActiveBackend();
  const encoder = denseLayers(vae.encoder);
  const decoder = denseLayers(vae.decoder);
  if (!ops || !encoder || !decoder) return undefined;
  const mu = encoder.find((d) => d.name === 'mu');
  const logvar = encoder.find((d) => d.name === 'logvar');
  if (!mu || !logvar) return undefined;
  return new NativeMlpStep(ops, vae, {
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
  readonly description = 'native TensorFlow ops, in-place Adam';
  /** The VAE's trainable variables, in the order of vae.trainableVariables, which is also the order of Adam's state. */
  private readonly params: tf.Variable[];
  private readonly index: Map<tf.Variable, number>;
  private readonly likelihood: Likelihood;
  /** TensorFlow resource variables: the weights being trained and Adam's two moments, one of each per parameter. */
  private readonly weights: tf.Tensor[];
  private readonly m: tf.Tensor[];
  private readonly v: tf.Tensor[];
  private iterations = 0;
  /** Tensors every step reuses. */
  private readonly constants: Record<'half' | 'one' | 'learningRate' | 'beta1' | 'beta2' | 'axis1' | 'allAxes' | 'triple', tf.Tensor>;
  private readonly epsilon = tf.backend().epsilon();

  constructor(
    private readonly ops: NativeOps,
    vae: Vae,
    private readonly layers: Layers,
    learningRate: number,
  ) {
    this.likelihood = vae.likelihood;
    this.params = vae.trainableVariables;
    this.index = new Map(this.params.map((p, i) => [p, i]));
    const dense = [...layers.encoderHidden, layers.mu, layers.logvar, ...layers.decoderHidden, layers.output];
    const byModel = new Set(dense.flatMap((d) => [d.kernel, d.bias]));
    if (byModel.size !== this.params.length || !this.params.every((p) => byModel.has(p))) {
      throw new Error('native MLP step: the dense layers do not account for every trainable variable');
    }
    const id = `vae-lab-step-${++stepsCreated}`;
    [this.weights, this.m, this.v] = tf.tidy(() => [
      this.params.map((p) => ops.createVariable(`${id}/${p.name}`, p)),
      this.params.map((p) => ops.createVariable(`${id}/${p.name}/m`, tf.zerosLike(p))),
      this.params.map((p) => ops.createVariable(`${id}/${p.name}/v`, tf.zerosLike(p))),
    ].map((handles) => handles.map((h) => tf.keep(h))));
    this.constants = {
      half: tf.scalar(0.5),
      one: tf.scalar(1),
      learningRate: tf.scalar(learningRate),
      beta1: tf.scalar(BETA1),
      beta2: tf.scalar(BETA2),
      axis1: tf.scalar(1, 'int32'),
      allAxes: tf.tensor1d([0, 1], 'int32'),
      triple: tf.tensor1d([3], 'int32'),
    };
  }

  run(x: tf.Tensor2D, eps: tf.Tensor2D, beta: number): tf.Tensor1D {
    // The gradients' tidy has released every read of the weights before Adam runs, so the update is in place.
    const { totals, grads } = this.lossAndGradients(x, eps, beta);
    this.iterations += 1;
    const t = this.iterations;
    // tf.train.adam adds epsilon to the bias-corrected sqrt(v); TensorFlow's op adds it to sqrt(v), so it is scaled.
    tf.tidy(() => {
      const scalars = {
        ...this.constants,
        beta1Power: tf.scalar(BETA1 ** t),
        beta2Power: tf.scalar(BETA2 ** t),
        epsilon: tf.scalar(this.epsilon * Math.sqrt(1 - BETA2 ** t)),
      };
      grads.forEach((g, i) => this.ops.applyAdam(this.weights[i], this.m[i], this.v[i], scalars, g));
    });
    tf.dispose(grads);
    return totals;
  }

  /**
   * The batch's [loss, recon, kl] summed over examples, and the gradients of the mean loss in the order of
   * vae.trainableVariables, at the weights being trained.
   */
  lossAndGradients(x: tf.Tensor2D, eps: tf.Tensor2D, beta: number): { totals: tf.Tensor1D; grads: tf.Tensor[] } {
    const { ops, constants: c, layers } = this;
    return tf.tidy(() => {
      const weights = this.weights.map((w) => ops.readVariable(w));
      const n = x.shape[0];
      const pixels = x.shape[1];

      // Forward: q(z|x) from two heads, z = mu + exp(logvar / 2) * eps, then p(x|z)'s parameters.
      const encoder = this.forward(x, layers.encoderHidden, weights);
      const h = encoder.at(-1)?.output ?? x;
      const mu = this.affine(h, layers.mu, weights);
      const logvar = this.affine(h, layers.logvar, weights);
      const noise = ops.op('Mul', ops.op('Exp', ops.op('Mul', logvar, c.half)), eps);
      const z = ops.op('AddV2', mu, noise);
      const decoder = this.forward(z, [...layers.decoderHidden, layers.output], weights);
      const out = decoder.at(-1)!.output;

      // Per-pixel reconstruction NLL (without the Gaussian's constant) and d(mean recon)/d(out).
      let reconElements: tf.Tensor;
      let dOut: tf.Tensor;
      if (this.likelihood.kind === 'bernoulli') {
        // softplus(l) - x * l from the logits, and its gradient sigmoid(l) - x.
        reconElements = ops.op('Sub', ops.op('Softplus', out), ops.op('Mul', x, out));
        dOut = ops.op('Mul', ops.op('Sub', ops.op('Sigmoid', out), x), tf.scalar(1 / n));
      } else {
        const variance = this.likelihood.std ** 2;
        reconElements = ops.op('SquaredDifference', out, x);
        dOut = ops.op('Mul', ops.op('Sub', out, x), tf.scalar(1 / (n * variance)));
      }
      // 2 KL = sum(mu^2 + exp(logvar) - 1 - logvar).
      const expLogvarMinusOne = ops.op('Sub', ops.op('Exp', logvar), c.one);
      const twiceKl = ops.op('AddV2', ops.op('Square', mu), ops.op('Sub', expLogvarMinusOne, logvar));

      // The batch's [loss, recon, kl] summed over examples, as one [1, 2] x [2, 3] product plus a constant row.
      const sums = ops.concat([ops.sum(reconElements, c.allAxes, true), ops.sum(twiceKl, c.allAxes, true)], c.axis1);
      const [reconScale, reconOffset] = this.likelihood.kind === 'bernoulli'
        ? [1, 0]
        : [1 / (2 * this.likelihood.std ** 2), n * pixels * (Math.log(this.likelihood.std) + 0.5 * Math.log(2 * Math.PI))];
      const toTerms = tf.tensor2d([[reconScale, reconScale, 0], [0.5 * beta, 0, 0.5]]);
      const totals = ops.reshape(ops.op('AddV2', ops.matMul(sums, toTerms), tf.tensor1d([reconOffset, reconOffset, 0])), c.triple);

      // Backward. The loss is mean recon + beta * mean KL over the batch.
      const grads: tf.Tensor[] = [];
      const dz = this.backward(decoder, dOut, weights, grads, true)!;
      const betaPerExample = tf.scalar(beta / n);
      const dMu = ops.op('AddV2', dz, ops.op('Mul', mu, betaPerExample));
      // d z / d logvar = eps * exp(logvar / 2) / 2 = noise / 2; d KL / d logvar = (exp(logvar) - 1) / 2.
      const dLogvar = ops.op('Mul', ops.op('AddV2', ops.op('Mul', dz, noise), ops.op('Mul', expLogvarMinusOne, betaPerExample)), c.half);
      const needH = layers.encoderHidden.length > 0;
      const dhMu = this.backward([{ layer: layers.mu, input: h, preActivation: mu, output: mu }], dMu, weights, grads, needH);
      const dhLogvar = this.backward([{ layer: layers.logvar, input: h, preActivation: logvar, output: logvar }], dLogvar, weights, grads, needH);
      if (needH) this.backward(encoder, ops.op('AddV2', dhMu!, dhLogvar!), weights, grads, false);
      return { totals: totals as tf.Tensor1D, grads };
    });
  }

  /** Copies the weights being trained into the VAE's own variables, for everything else that reads the model. */
  syncModel(): void {
    tf.tidy(() => this.params.forEach((p, i) => p.assign(this.ops.readVariable(this.weights[i]))));
  }

  private affine(input: tf.Tensor, layer: Dense, weights: tf.Tensor[]): tf.Tensor {
    return this.ops.op('BiasAdd', this.ops.matMul(input, weights[this.index.get(layer.kernel)!]), weights[this.index.get(layer.bias)!]);
  }

  private forward(input: tf.Tensor, layers: Dense[], weights: tf.Tensor[]): DenseRecord[] {
    const records: DenseRecord[] = [];
    for (const layer of layers) {
      const preActivation = this.affine(input, layer, weights);
      const output = layer.activation === 'linear' ? preActivation : this.ops.op(ACTIVATION_OPS[layer.activation], preActivation);
      records.push({ layer, input, preActivation, output });
      input = output;
    }
    return records;
  }

  /**
   * Backpropagates `dOutput` through `records` (last first), putting each layer's gradients at its parameters'
   * indices in `grads`; returns d(input) if asked.
   */
  private backward(records: DenseRecord[], dOutput: tf.Tensor, weights: tf.Tensor[], grads: tf.Tensor[], needInput: boolean): tf.Tensor | undefined {
    const { ops } = this;
    let d = dOutput;
    for (let i = records.length - 1; i >= 0; i--) {
      const { layer, input, preActivation, output } = records[i];
      const dPre = activationGrad(ops, layer.activation, d, preActivation, output);
      const kernel = this.index.get(layer.kernel)!;
      grads[kernel] = ops.matMul(input, dPre, true, false);
      grads[this.index.get(layer.bias)!] = ops.op('BiasAddGrad', dPre);
      if (i > 0 || needInput) d = ops.matMul(dPre, weights[kernel], false, true);
    }
    return needInput ? d : undefined;
  }

  async optimizerState() {
    const named = tf.tidy(() => {
      const moments = (handles: tf.Tensor[], suffix: string) =>
        handles.map((h, i) => ({ name: `${this.params[i].name}/${suffix}`, tensor: this.ops.readVariable(h) }));
      return [
        { name: 'iter', tensor: tf.scalar(this.iterations, 'int32') },
        ...moments(this.m, 'm'),
        ...moments(this.v, 'v'),
        { name: ADAM_BETA_POWERS[0], tensor: tf.scalar(BETA1 ** (this.iterations + 1)) },
        { name: ADAM_BETA_POWERS[1], tensor: tf.scalar(BETA2 ** (this.iterations + 1)) },
      ];
    });
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
    m.forEach((t, i) => this.ops.assignVariable(this.m[i], t));
    v.forEach((t, i) => this.ops.assignVariable(this.v[i], t));
  }

  dispose(): void {
    for (const handle of [...this.weights, ...this.m, ...this.v]) this.ops.destroyVariable(handle);
    tf.dispose(Object.values(this.constants));
  }
}

/** Makes every step's resource-variable names unique in the process. */
let stepsCreated = 0;

const ACTIVATION_OPS: Record<Exclude<Activation, 'linear'>, string> = { relu: 'Relu', tanh: 'Tanh', elu: 'Elu', softplus: 'Softplus' };

/** d(loss)/d(pre-activation) from d(loss)/d(output), with TensorFlow's own gradient ops. */
function activationGrad(ops: NativeOps, activation: Activation, dOutput: tf.Tensor, preActivation: tf.Tensor, output: tf.Tensor): tf.Tensor {
  switch (activation) {
    case 'linear':
      return dOutput;
    case 'relu':
      return ops.op('ReluGrad', dOutput, output);
    case 'tanh':
      return ops.op('TanhGrad', output, dOutput);
    case 'elu':
      return ops.op('EluGrad', dOutput, output);
    case 'softplus':
      return ops.op('SoftplusGrad', dOutput, preActivation);
  }
}
