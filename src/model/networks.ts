import * as tf from '@tensorflow/tfjs';
import { pixelsPerImage, type ImageShape } from '../data/images.ts';
import type { Network } from '../experiment-spec/spec.generated.ts';

/** Deterministic layer initialisers: one seed per layer, drawn in build order. */
export type SeedSource = () => number;

// PyTorch's default for nn.Linear and nn.Conv2d, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, so the
// reference model from pytorch/examples starts from the same distribution.
function initialisers(fanIn: number, nextSeed: SeedSource) {
  const bound = 1 / Math.sqrt(fanIn);
  return {
    kernelInitializer: tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed: nextSeed() }),
    biasInitializer: tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: nextSeed() }),
  };
}

function dense(units: number, fanIn: number, nextSeed: SeedSource, name: string, activation?: Network['activation']) {
  return tf.layers.dense({ units, activation, name, ...initialisers(fanIn, nextSeed) });
}

/** Dense hidden layers on `h`; returns the last layer's output and its width. */
function denseStack(
  h: tf.SymbolicTensor,
  width: number,
  net: Network,
  prefix: string,
  nextSeed: SeedSource,
): { h: tf.SymbolicTensor; width: number } {
  for (const [i, units] of net.hidden.entries()) {
    h = dense(units, width, nextSeed, `${prefix}_dense_${i}`, net.activation).apply(h) as tf.SymbolicTensor;
    width = units;
  }
  return { h, width };
}

/** q(z|x): hidden layers, then two separate heads for the mean and the log-variance. */
export function buildEncoder(
  architecture: 'mlp' | 'conv',
  net: Network,
  image: ImageShape,
  latentDim: number,
  nextSeed: SeedSource,
): tf.LayersModel {
  // Images come flat, channel-last: height x width x channels values.
  const pixels = pixelsPerImage(image);
  const input = tf.input({ shape: [pixels], name: 'x' });
  let h: tf.SymbolicTensor = input;
  let width = pixels;
  if (architecture === 'mlp') {
    ({ h, width } = denseStack(h, width, net, 'enc', nextSeed));
  } else {
    h = tf.layers.reshape({ targetShape: [image.height, image.width, image.channels] }).apply(h) as tf.SymbolicTensor;
    let channels = image.channels;
    net.hidden.forEach((filters, i) => {
      const conv = tf.layers.conv2d({
        filters,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: net.activation,
        name: `enc_conv_${i}`,
        ...initialisers(9 * channels, nextSeed),
      });
      h = conv.apply(h) as tf.SymbolicTensor;
      channels = filters;
    });
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    width = h.shape[1] as number;
  }
  const mu = dense(latentDim, width, nextSeed, 'mu').apply(h) as tf.SymbolicTensor;
  const logvar = dense(latentDim, width, nextSeed, 'logvar').apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [mu, logvar], name: 'encoder' });
}

/**
 * A diagonal Gaussian over `outputDim` values given `inputDim` (Burda et al.'s q(z2|z1) and p(z1|z2)): dense hidden
 * layers, then separate heads for the mean and the log-variance. Layer names start with `name`, so the two networks of
 * a model never share one.
 */
export function buildGaussianMlp(name: string, inputDim: number, net: Network, outputDim: number, nextSeed: SeedSource): tf.LayersModel {
  const input = tf.input({ shape: [inputDim], name: `${name}_input` });
  const { h, width } = denseStack(input, inputDim, net, name, nextSeed);
  const mean = dense(outputDim, width, nextSeed, `${name}_mean`).apply(h) as tf.SymbolicTensor;
  const logvar = dense(outputDim, width, nextSeed, `${name}_logvar`).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [mean, logvar], name });
}

/** p(x|z): hidden layers, then one unit per pixel and channel with no activation (logits, or Gaussian means). */
export function buildDecoder(
  architecture: 'mlp' | 'conv',
  net: Network,
  image: ImageShape,
  latentDim: number,
  nextSeed: SeedSource,
): tf.LayersModel {
  const pixels = pixelsPerImage(image);
  const input = tf.input({ shape: [latentDim], name: 'z' });
  let h: tf.SymbolicTensor = input;
  if (architecture === 'mlp') {
    const stack = denseStack(h, latentDim, net, 'dec', nextSeed);
    h = dense(pixels, stack.width, nextSeed, 'x_params').apply(stack.h) as tf.SymbolicTensor;
  } else {
    // Mirror of the encoder: a dense layer to a small feature map, then one stride-2 transposed convolution per
    // hidden entry, the last of which produces the image's channels.
    const upsamplings = net.hidden.length;
    const [h0, w0] = [image.height / 2 ** upsamplings, image.width / 2 ** upsamplings];
    h = dense(h0 * w0 * net.hidden[0], latentDim, nextSeed, 'dec_dense', net.activation).apply(h) as tf.SymbolicTensor;
    h = tf.layers.reshape({ targetShape: [h0, w0, net.hidden[0]] }).apply(h) as tf.SymbolicTensor;
    let channels = net.hidden[0];
    [...net.hidden.slice(1), image.channels].forEach((filters, i) => {
      const last = i === upsamplings - 1;
      const deconv = tf.layers.conv2dTranspose({
        filters,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: last ? undefined : net.activation,
        name: last ? 'x_params' : `dec_deconv_${i}`,
        ...initialisers(9 * channels, nextSeed),
      });
      h = deconv.apply(h) as tf.SymbolicTensor;
      channels = filters;
    });
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: h, name: 'decoder' });
}

/** Why a conv network cannot fit these images, or undefined when it can. */
export function convShapeProblem(net: Network, image: ImageShape): string | undefined {
  const factor = 2 ** net.hidden.length;
  if (image.height % factor === 0 && image.width % factor === 0) return undefined;
  return `conv with ${net.hidden.length} stride-2 layers needs image sides divisible by ${factor}; these images are ${image.height} x ${image.width} (use fewer hidden entries)`;
}
