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
