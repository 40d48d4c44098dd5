"""vae-lab's training objectives in PyTorch, on the Burda et al. (2015) model and data, for a side-by-side table.

The model of experiments/iwae-mnist.yaml and iwae-k5-mnist.yaml: 784-200-200-50 with tanh, separate linear heads
for mu and logvar, decoder 50-200-200-784 giving Bernoulli logits, PyTorch's default init (vae-lab draws from the same
U(+-1/sqrt(fan_in))). Dynamically binarized MNIST: each epoch every pixel is a fresh Bernoulli(grey level) draw.

  --objective elbo      recon + KL (analytic), the plain VAE
  --objective iwae      -log (1/k) sum_i p(x, z_i) / q(z_i|x) over --k draws per example (k = 1 is the ELBO)
  --objective beta_tc   recon + --mi x MI + --tc x TC + --dim-kl x dimension-wise KL, by minibatch-weighted sampling
  --objective capacity  recon + --gamma x |KL - C|, C = --max-nats x min(1, step / --anneal-steps), step from 0
  --prior standard      p(z) = N(0, I), the default; the ELBO's KL is analytic
  --prior vamp          VampPrior (Tomczak & Welling 2018): (1/K) sum_k q(z | u_k), u_k = clamp(W_k, 0, 1), W a K x 784
                        parameter drawn from N(0.05, 0.01^2), q the model's own encoder, recomputed every step
  --prior mog           a learned mixture of K diagonal Gaussians: means N(0, 1), log-variances 0, mixture logits 0
  --prior-components K  the K of vamp (default 500) or mog (default 10)
                        With vamp or mog the KL is the one-sample log q(z|x) - log p(z), in training and in the test
                        negative ELBO; β-TCVAE needs the standard prior. The prior's parameters train in the same Adam.
  --stochastic-layers 2  Burda et al.'s two-layer model (Appendix C) instead of the one above (1, the default):
                        q(z1|x) 784-200-200-100, q(z2|z1) 100-100-100-50, p(z1|z2) 50-100-100-100 (a diagonal
                        Gaussian), p(x|z1) 100-200-200-784, tanh, separate mean and log-variance heads; the KL sampled
                        through both layers. Standard prior, elbo or iwae only
  --epochs N           train N epochs on a seeded 59,600 of the 60,000 (the spec's split 0.99333), batch 20, Adam 1e-3
  --adam-eps E         Adam's epsilon (default 1e-8, PyTorch's; vae-lab's is TensorFlow's 1e-7)
  --train-limit N      ...on the first N of those instead (smoke tests; also β-TCVAE's N)
  --eval-k K           importance samples per test image for the bound (default 5000, Burda et al.'s)
  --eval-limit N       evaluate on the first N test images only
  --threads N          torch.set_num_threads (default 2, this machine's cores)

Every loss is as src/model/loss.ts, vae.ts and objective.ts compute it (the priors and the two layers as vae-lab is
to): per-example sums over pixels and latents, averaged over the batch once. The test set is binarized once with a
fixed seed (the same images for every run and seed) and evaluated after training: the negative ELBO with one sample
per image and the analytic KL (the sampled one with vamp, mog or two layers), and the importance-weighted bound of
src/eval/iwae.ts, its k samples (of both layers, with two) in chunks with a running log-sum-exp. Prints a progress
line per epoch on stderr and one JSON line at the end, every number per example in nats, naming the prior, its
components and the stochastic layers.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from pytorch_vae import read_idx_images

LOG_2PI = math.log(2 * math.pi)
TRAIN_FRACTION = 0.99333  # iwae-mnist.yaml's data.split.train: 59,600 of 60,000
TEST_BINARIZE_SEED = 0


class BurdaVAE(nn.Module):
    """One stochastic layer (Burda et al. 2015, Appendix C): 784-200-200-50 tanh, and back, with Bernoulli logits."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(784, 200), nn.Tanh(), nn.Linear(200, 200), nn.Tanh())
        self.mu = nn.Linear(200, 50)
        self.logvar = nn.Linear(200, 50)
        self.dec = nn.Sequential(nn.Linear(50, 200), nn.Tanh(), nn.Linear(200, 200), nn.Tanh(), nn.Linear(200, 784))

    def encode(self, x):
        h = self.enc(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        return self.dec(z)


class TwoLayerVAE(nn.Module):
    """Two stochastic layers (Burda et al. 2015, Appendix C): q(z1|x) 784-200-200-100, q(z2|z1) 100-100-100-50,
    p(z1|z2) 50-100-100-100 and p(x|z1) 100-200-200-784 Bernoulli logits, tanh, each Gaussian with its own linear
    heads for the mean and the log-variance."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Linear(784, 200), nn.Tanh(), nn.Linear(200, 200), nn.Tanh())
        self.mu1 = nn.Linear(200, 100)
        self.logvar1 = nn.Linear(200, 100)
        self.enc2 = nn.Sequential(nn.Linear(100, 100), nn.Tanh(), nn.Linear(100, 100), nn.Tanh())
        self.mu2 = nn.Linear(100, 50)
        self.logvar2 = nn.Linear(100, 50)
        self.dec2 = nn.Sequential(nn.Linear(50, 100), nn.Tanh(), nn.Linear(100, 100), nn.Tanh())
        self.prior_mu1 = nn.Linear(100, 100)
        self.prior_logvar1 = nn.Linear(100, 100)
        self.dec1 = nn.Sequential(nn.Linear(100, 200), nn.Tanh(), nn.Linear(200, 200), nn.Tanh(), nn.Linear(200, 784))

    def encode(self, x):
        """q(z1|x), the first layer's (mean, logvar)."""
        h = self.enc1(x)
        return self.mu1(h), self.logvar1(h)

    def encode2(self, z1):
        """q(z2|z1), read from the sampled z1."""
        h = self.enc2(z1)
        return self.mu2(h), self.logvar2(h)

    def prior1(self, z2):
        """p(z1|z2)'s (mean, logvar)."""
        h = self.dec2(z2)
        return self.prior_mu1(h), self.prior_logvar1(h)

    def decode(self, z1):
        return self.dec1(z1)


def log_normal_pairs(z, mean, logvar):
    """log N(z_n | mean_k, exp(logvar_k)) summed over the D dimensions, for every row n of z [n, D] against every
    component k of mean and logvar [K, D], as [n, K]. The square is expanded, sum_d (z_d - m_kd)^2 / v_kd =
    (z^2) @ (1/v)^T - 2 z @ (m/v)^T + sum_d m_kd^2 / v_kd, so that nothing [n, K, D] is built: an evaluation chunk has
    some 34,000 rows, and against K = 500 components of 50 dimensions that would be 3.4 GB of float32 where [n, K] is
    68 MB. vae-lab computes it the same way (src/model/pairwise-graph.ts). The three terms grow as 1/variance and
    cancel where z is near a narrow component, so they are summed in float64: in float32 a VampPrior run (seed 4 of
    the table's row) learned to exploit the rounding, to a test KL of -65 nats."""
    inv_var = torch.exp(-logvar).double()
    z64, mean64 = z.double(), mean.double()
    square = z64.pow(2) @ inv_var.T - 2 * (z64 @ (mean64 * inv_var).T) + (mean64.pow(2) * inv_var).sum(1)
    return -0.5 * (z.shape[1] * LOG_2PI + logvar.sum(1) + square.to(z.dtype))


class StandardPrior(nn.Module):
    """p(z) = N(0, I): no parameters, so the optimizer and the random draws are exactly those without a prior."""

    standard = True

    def components(self, model):
        return None

    def log_prob(self, z, components):
        return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


class MixturePrior(nn.Module):
    """A mixture of diagonal Gaussians; components(model) gives its (means, logvars, log mixture weights)."""

    standard = False

    def log_prob(self, z, components):
        """log p(z) of each row of z [..., D], as [...]."""
        means, logvars, log_weights = components
        pairs = log_normal_pairs(z.reshape(-1, z.shape[-1]), means, logvars) + log_weights
        return torch.logsumexp(pairs, 1).reshape(z.shape[:-1])


class MogPrior(MixturePrior):
    """K learned diagonal Gaussians with learned mixture weights: means N(0, 1), log-variances 0, logits 0."""

    def __init__(self, k, latent):
        super().__init__()
        self.means = nn.Parameter(torch.randn(k, latent))
        self.logvars = nn.Parameter(torch.zeros(k, latent))
        self.logits = nn.Parameter(torch.zeros(k))

    def components(self, model):
        return self.means, self.logvars, F.log_softmax(self.logits, 0)


class VampPrior(MixturePrior):
    """VampPrior (Tomczak & Welling 2018): (1/K) sum_k q(z | u_k) over K pseudo-inputs u_k = hardtanh(W_k) in [0, 1],
    W drawn from N(0.05, 0.01^2), their MNIST default when the pseudo-inputs are not taken from the training data."""

    def __init__(self, k, pixels):
        super().__init__()
        self.pseudo_inputs = nn.Parameter(0.05 + 0.01 * torch.randn(k, pixels))

    def components(self, model):
        # The model's own encoder, called afresh each time, so the loss's gradient reaches both W and the encoder.
        means, logvars = model.encode(F.hardtanh(self.pseudo_inputs, 0.0, 1.0))
        return means, logvars, torch.full((len(means),), -math.log(len(means)), dtype=means.dtype)


def bernoulli_nll(logits, x):
    """Per example (summed over the last axis); x broadcasts against logits' leading axes."""
    return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction='none').sum(-1)


def kl_to_standard_normal(mu, logvar):
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


def log_normal(z, mean, logvar):
    """log N(z | mean, exp(logvar)) of each element, as loss.ts's logNormal."""
    return -0.5 * (LOG_2PI + logvar + (z - mean).pow(2) / torch.exp(logvar))


def log_weights(model, prior, x, k, generator=None, components=None, noise=None):
    """log p(x|z_i) + log p(z_i) - log q(z_i|x) as [batch, k], with the per-example recon (mean over k) and KL: the
    analytic one with the standard prior and one layer, else the sampled log q - log p (mean over k). components is
    prior.components(model), which evaluation computes once instead of per chunk. noise, [batch, k, noise columns]
    in vae-lab's layout (z1's columns, then z2's), replaces the draws: bench/check_step_against_pytorch.py feeds
    vae-lab's own."""
    if isinstance(model, TwoLayerVAE):
        recon, kl = two_layer_terms(model, prior, x, k, generator, components, noise)
        return -recon - kl, recon.mean(1), kl.mean(1)
    mu, logvar = model.encode(x)
    eps = torch.randn(mu.shape[0], k, mu.shape[1], generator=generator) if noise is None else noise
    z = mu.unsqueeze(1) + torch.exp(0.5 * logvar).unsqueeze(1) * eps
    recon = bernoulli_nll(model.decode(z), x.unsqueeze(1))
    log_pz = prior.log_prob(z, components)
    # (z - mu) / sigma is eps itself, as in vae.ts's importanceWeights.
    log_qz = -0.5 * (eps.pow(2) + logvar.unsqueeze(1) + LOG_2PI).sum(-1)
    kl = kl_to_standard_normal(mu, logvar) if prior.standard else (log_qz - log_pz).mean(1)
    return -recon + log_pz - log_qz, recon.mean(1), kl


def two_layer_terms(model, prior, x, k, generator=None, components=None, noise=None):
    """k draws of (z1, z2) per example from q(z1|x) q(z2|z1): the recon -log p(x|z1) and the sampled
    kl = log q(z1|x) + log q(z2|z1) - log p(z1|z2) - log p(z2), each [batch, k]; log w is -recon - kl. noise as
    log_weights's."""
    mu1, logvar1 = model.encode(x)
    if noise is None:
        eps1 = torch.randn(mu1.shape[0], k, mu1.shape[1], generator=generator)
    else:
        eps1, eps2 = noise.split([mu1.shape[1], noise.shape[2] - mu1.shape[1]], 2)
    z1 = mu1.unsqueeze(1) + torch.exp(0.5 * logvar1).unsqueeze(1) * eps1
    mu2, logvar2 = model.encode2(z1)  # [batch, k, 50]: each z1 draw has its own q(z2|z1)
    if noise is None:
        eps2 = torch.randn(mu2.shape, generator=generator)
    z2 = mu2 + torch.exp(0.5 * logvar2) * eps2
    prior_mu1, prior_logvar1 = model.prior1(z2)
    recon = bernoulli_nll(model.decode(z1), x.unsqueeze(1))
    log_q = (-0.5 * (eps1.pow(2) + logvar1.unsqueeze(1) + LOG_2PI).sum(-1)
             - 0.5 * (eps2.pow(2) + logvar2 + LOG_2PI).sum(-1))
    log_p = log_normal(z1, prior_mu1, prior_logvar1).sum(-1) + prior.log_prob(z2, components)
    return recon, log_q - log_p


def beta_tc_terms(z, mu, logvar, dataset_size):
    """loss.ts's betaTcTerms: MI, TC and dimension-wise KL, batch means, q(z) by minibatch-weighted sampling."""
    log_nm = math.log(dataset_size * z.shape[0])
    pairs = log_normal(z.unsqueeze(1), mu.unsqueeze(0), logvar.unsqueeze(0))  # [i, m, j]: log q(z_ij | x_m)
    log_qz = torch.logsumexp(pairs.sum(2), 1) - log_nm
    log_qz_product = (torch.logsumexp(pairs, 1) - log_nm).sum(1)
    log_qzx = log_normal(z, mu, logvar).sum(1)
    log_pz = log_normal(z, torch.zeros(()), torch.zeros(())).sum(1)
    return (log_qzx - log_qz).mean(), (log_qz - log_qz_product).mean(), (log_qz_product - log_pz).mean()


def batch_loss(model, prior, x, args, step, dataset_size, noise=None):
    """(loss, recon, kl), each a mean over the batch of per-example sums, as vae.ts's batchLoss. noise as
    log_weights's, k = 1 unless the objective is iwae."""
    components = prior.components(model)  # vamp's encoder pass over the pseudo-inputs, afresh every step
    if args.objective == 'iwae':
        log_w, recon, kl = log_weights(model, prior, x, args.k, components=components, noise=noise)
        bound = (torch.logsumexp(log_w, 1) - math.log(args.k)).mean()
        return -bound, recon.mean(), kl.mean()
    if isinstance(model, TwoLayerVAE):  # elbo only (main refuses beta_tc and capacity): one draw of both layers
        recon, kl = two_layer_terms(model, prior, x, 1, components=components, noise=noise)
        return recon.mean() + kl.mean(), recon.mean(), kl.mean()
    mu, logvar = model.encode(x)
    eps = torch.randn_like(mu) if noise is None else noise[:, 0]
    z = mu + torch.exp(0.5 * logvar) * eps
    recon = bernoulli_nll(model.decode(z), x).mean()
    if prior.standard:
        kl = kl_to_standard_normal(mu, logvar).mean()
    else:  # no closed form against a mixture: log q(z|x) - log p(z) at the one z, (z - mu) / sigma being eps
        kl = (-0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1) - prior.log_prob(z, components)).mean()
    if args.objective == 'beta_tc':
        mi, tc, dim_kl = beta_tc_terms(z, mu, logvar, dataset_size)
        part = args.mi * mi + args.tc * tc + args.dim_kl * dim_kl
    elif args.objective == 'capacity':
        part = args.gamma * (kl - args.max_nats * min(1.0, step / args.anneal_steps)).abs()
    else:
        part = kl
    return recon + part, recon, kl


def train_epoch(model, prior, optimizer, train, args, generator, first_step):
    """One pass in a fresh seeded order, each batch binarized afresh; per-example means of (loss, recon, kl)."""
    model.train()
    order = torch.randperm(len(train), generator=generator)
    sums = torch.zeros(3)
    step = first_step
    for start in range(0, len(train), args.batch_size):
        x = torch.bernoulli(train[order[start:start + args.batch_size]], generator=generator)
        optimizer.zero_grad()
        loss, recon, kl = batch_loss(model, prior, x, args, step, len(train))
        loss.backward()
        optimizer.step()
        sums += torch.stack([loss.detach(), recon.detach(), kl.detach()]) * len(x)
        step += 1
    return (sums / len(train)).tolist(), step


@torch.no_grad()
def test_neg_elbo(model, prior, test, generator, batch_size=1000):
    """One sample per image (of both layers, with two): (neg ELBO, recon, kl) per example, the KL analytic with the
    standard prior and one layer, else the sampled one of training."""
    model.eval()
    recon_sum = kl_sum = 0.0
    components = prior.components(model)
    for start in range(0, len(test), batch_size):
        x = test[start:start + batch_size]
        if prior.standard and not isinstance(model, TwoLayerVAE):
            mu, logvar = model.encode(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator)
            recon_sum += bernoulli_nll(model.decode(z), x).sum().item()
            kl_sum += kl_to_standard_normal(mu, logvar).sum().item()
        else:
            _, recon, kl = log_weights(model, prior, x, 1, generator, components)
            recon_sum += recon.sum().item()
            kl_sum += kl.sum().item()
    recon, kl = recon_sum / len(test), kl_sum / len(test)
    return recon + kl, recon, kl


@torch.no_grad()
def importance_weighted_nll(model, prior, test, k, generator, memory_mb):
    """-log p(x) by the k-sample bound, per example. As src/eval/iwae.ts: chunks of decoder passes sized to
    memory_mb (the output and about four pixel-sized intermediates each, float32), a running (max, sum) per example.
    The rest stays inside that: a mixture prior's [rows, K] log-densities are 500 floats a row at K = 500 against the
    5 x 784 budgeted, and the two-layer model's widest layers are the same 784 and 200."""
    model.eval()
    components = prior.components(model)  # the model is fixed now: vamp's pseudo-inputs encoded once, not per chunk
    rows_per_chunk = max(1, memory_mb * 2 ** 20 // (4 * 5 * test.shape[1]))
    examples_per_batch = max(1, min(len(test), rows_per_chunk // min(k, rows_per_chunk)))
    samples_per_chunk = max(1, min(k, rows_per_chunk // examples_per_batch))
    total = 0.0
    for start in range(0, len(test), examples_per_batch):
        x = test[start:start + examples_per_batch]
        running_max = torch.full((len(x),), -math.inf)
        running_sum = torch.zeros(len(x))
        for done in range(0, k, samples_per_chunk):
            log_w = log_weights(model, prior, x, min(samples_per_chunk, k - done), generator, components)[0]
            m = torch.maximum(running_max, log_w.max(1).values)
            running_sum = running_sum * torch.exp(running_max - m) + torch.exp(log_w - m.unsqueeze(1)).sum(1)
            running_max = m
        total -= (running_max + torch.log(running_sum) - math.log(k)).sum().item()
    return total / len(test)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--objective', choices=['elbo', 'iwae', 'beta_tc', 'capacity'], default='elbo')
    parser.add_argument('--k', type=int, default=5)
    parser.add_argument('--mi', type=float, default=1.0)
    parser.add_argument('--tc', type=float, default=6.0)
    parser.add_argument('--dim-kl', type=float, default=1.0)
    # vae-lab's defaults (schemas/experiment.schema.json), Burgess et al.'s for dSprites.
    parser.add_argument('--gamma', type=float, default=1000.0)
    parser.add_argument('--max-nats', type=float, default=25.0)
    parser.add_argument('--anneal-steps', type=int, default=100000)
    parser.add_argument('--prior', choices=['standard', 'vamp', 'mog'], default='standard')
    parser.add_argument('--prior-components', type=int, default=None)  # 500 for vamp, 10 for mog
    parser.add_argument('--stochastic-layers', type=int, choices=[1, 2], default=1)
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--batch-size', type=int, default=20)
    parser.add_argument('--lr', type=float, default=1e-3)
    # PyTorch's default; vae-lab's Adam is tf.train.adam's, whose epsilon is 1e-7.
    parser.add_argument('--adam-eps', type=float, default=1e-8)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--train-limit', type=int, default=0)
    parser.add_argument('--eval-k', type=int, default=5000)
    parser.add_argument('--eval-limit', type=int, default=0)
    parser.add_argument('--eval-memory-mb', type=int, default=512)  # the spec's eval.iwae_memory_mb
    # 2 = the machine's cores; when another process holds a core, 1 can be many times faster at batch 20 (OpenMP's
    # workers wait on each other): 100 steps took 50 s with 2 threads against 0.4 s with 1 under a load of 2.4.
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    k = args.k if args.objective == 'iwae' else 1
    if args.prior == 'standard' and args.prior_components is not None:
        parser.error('--prior-components needs --prior vamp or mog')
    if args.prior_components is None:
        args.prior_components = {'vamp': 500, 'mog': 10}.get(args.prior)
    if args.prior_components is not None and args.prior_components < 1:
        parser.error('--prior-components must be at least 1')
    if args.objective == 'beta_tc' and args.prior != 'standard':
        # Its dimension-wise KL is KL(q(z_j) || N(0, 1)) per dimension, which a mixture prior has no factors for.
        parser.error('--objective beta_tc needs --prior standard')
    if args.stochastic_layers == 2 and args.prior != 'standard':
        parser.error('--stochastic-layers 2 needs --prior standard')
    if args.stochastic_layers == 2 and args.objective not in ('elbo', 'iwae'):
        parser.error('--stochastic-layers 2 trains with --objective elbo or iwae only')

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the weights and the training noise
    pool = read_idx_images('train-images-idx3-ubyte')
    keep = torch.randperm(len(pool), generator=torch.Generator().manual_seed(args.seed))[:round(TRAIN_FRACTION * len(pool))]
    train = pool[keep[:args.train_limit] if args.train_limit > 0 else keep]
    test = read_idx_images('t10k-images-idx3-ubyte')
    test = torch.bernoulli(test, generator=torch.Generator().manual_seed(TEST_BINARIZE_SEED))
    if args.eval_limit > 0:
        test = test[:args.eval_limit]

    model = TwoLayerVAE() if args.stochastic_layers == 2 else BurdaVAE()
    # After the model, so that its initial weights are the same whatever the prior.
    if args.prior == 'vamp':
        prior = VampPrior(args.prior_components, train.shape[1])
    elif args.prior == 'mog':
        prior = MogPrior(args.prior_components, model.mu.out_features)
    else:
        prior = StandardPrior()
    # The standard prior adds no parameters: the same Adam over the same list as before there were priors.
    optimizer = torch.optim.Adam(list(model.parameters()) + list(prior.parameters()), lr=args.lr, eps=args.adam_eps)
    generator = torch.Generator().manual_seed(args.seed)  # the data order and the dynamic binarization
    started, step = time.perf_counter(), 0
    loss = recon = kl = None
    for epoch in range(1, args.epochs + 1):
        epoch_started = time.perf_counter()
        (loss, recon, kl), step = train_epoch(model, prior, optimizer, train, args, generator, step)
        print(f'epoch {epoch}/{args.epochs}: loss {loss:.2f} recon {recon:.2f} kl {kl:.2f} '
              f'({time.perf_counter() - epoch_started:.1f} s)', file=sys.stderr, flush=True)
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    eval_generator = torch.Generator().manual_seed(args.seed)
    neg_elbo, test_recon, test_kl = test_neg_elbo(model, prior, test, eval_generator)
    iwae_nll = importance_weighted_nll(model, prior, test, args.eval_k, eval_generator, args.eval_memory_mb)
    eval_seconds = time.perf_counter() - started

    result = {'impl': 'pytorch', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
              'objective': args.objective, 'k': k, 'prior': args.prior, 'prior_components': args.prior_components,
              'stochastic_layers': args.stochastic_layers, 'seed': args.seed, 'epochs': args.epochs,
              'batch_size': args.batch_size, 'lr': args.lr, 'adam_eps': args.adam_eps, 'train_images': len(train), 'train_seconds': train_seconds,
              'train_loss': loss, 'train_recon': recon, 'train_kl': kl, 'eval_images': len(test),
              'eval_seconds': eval_seconds, 'test_neg_elbo': neg_elbo, 'test_recon': test_recon, 'test_kl': test_kl,
              'test_iwae_nll': iwae_nll, 'eval_k': args.eval_k, 'load_avg': os.getloadavg()[0]}
    if args.objective == 'beta_tc':
        result.update(mi=args.mi, tc=args.tc, dim_kl=args.dim_kl)
    if args.objective == 'capacity':
        result.update(gamma=args.gamma, max_nats=args.max_nats, anneal_steps=args.anneal_steps,
                      capacity_nats=args.max_nats * min(1.0, (step - 1) / args.anneal_steps))
    print(json.dumps(result))


if __name__ == '__main__':
    main()
