import * as tf from '@tensorflow/tfjs';

// The terms of the negative ELBO, each per example (summed over pixels or latent dimensions), in nats.
// Callers reduce over the batch with a mean, once, so every reported number is per example.

/**
 * -log Bernoulli(x | sigmoid(logits)) = softplus(logits) - x * logits, computed from the logits so it never takes
 * log(0). Every backend's softplus is the stable form (x itself for large x, exp(x) for very negative x), and it
 * is three ops forward and two back, where relu + log1p(exp(-|l|)) took six forward and more back.
 */
export function bernoulliNll(logits: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.softplus(logits).sub(logits.mul(x)), 1));
}

/** -log N(x | means, std^2 I): squared error scaled by the variance, plus the normaliser. */
export function gaussianNll(means: tf.Tensor2D, x: tf.Tensor2D, std: number): tf.Tensor1D {
  const logNormaliser = x.shape[1] * (Math.log(std) + 0.5 * Math.log(2 * Math.PI));
  return tf.tidy(() =>
    tf
      .sum(tf.squaredDifference(x, means), 1)
      .div(2 * std * std)
      .add(logNormaliser),
  );
}

/** KL(N(mu, exp(logvar)) || N(0, I)), in closed form. */
export function klToStandardNormal(mu: tf.Tensor2D, logvar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.square(mu).add(tf.exp(logvar)).sub(1).sub(logvar), 1).mul(0.5));
}

/** z = mu + sigma * eps: the sample is a differentiable function of (mu, logvar) given the noise. */
export function reparameterize(mu: tf.Tensor2D, logvar: tf.Tensor2D, eps: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => mu.add(tf.exp(logvar.mul(0.5)).mul(eps)));
}

/** log N(z | mean, exp(logvar)) of each element. (tfjs's squaredDifference does not reduce a broadcast gradient.) */
export function logNormal(z: tf.Tensor, mean: tf.Tensor | number, logvar: tf.Tensor | number): tf.Tensor {
  return tf.add(tf.add(Math.log(2 * Math.PI), logvar), tf.square(tf.sub(z, mean)).div(tf.exp(logvar))).mul(-0.5);
}

/**
 * β-TCVAE's decomposition of KL(q(z|x) || p(z)) on a batch (Chen et al. 2018): index-code MI, total correlation and
 * dimension-wise KL, each a mean over the batch, in nats. q(z) and each q(z_j) are estimated by minibatch-weighted
 * sampling: log q(z_i) ~ logsumexp_m log q(z_i | x_m) - log(N M), for a training set of N and a batch of M. The three
 * add up to mean(log q(z|x) - log p(z)), the KL estimated from the sample.
 */
export function betaTcTerms(
  z: tf.Tensor2D,
  mu: tf.Tensor2D,
  logvar: tf.Tensor2D,
  datasetSize: number,
): { mi: tf.Scalar; tc: tf.Scalar; dimKl: tf.Scalar } {
  return tf.tidy(() => {
    const logNM = Math.log(datasetSize * z.shape[0]);
    // [i, m, j]: log q(z_ij | x_m), each sample against each example's posterior.
    const pairs = logNormal(z.expandDims(1), mu.expandDims(0), logvar.expandDims(0));
    const logQz = tf.logSumExp(pairs.sum(2), 1).sub(logNM);
    const logQzProduct = tf.logSumExp(pairs, 1).sub(logNM).sum(1);
    const logQzx = logNormal(z, mu, logvar).sum(1);
    const logPz = logNormal(z, 0, 0).sum(1);
    return {
      mi: tf.mean(logQzx.sub(logQz)) as tf.Scalar,
      tc: tf.mean(logQz.sub(logQzProduct)) as tf.Scalar,
      dimKl: tf.mean(logQzProduct.sub(logPz)) as tf.Scalar,
    };
  });
}
