"""vae-lab's training objectives in PyTorch, on the Burda et al. (2015) model and data, for a side-by-side table.

The model of experiments/iwae-mnist.yaml and iwae-k5-mnist.yaml: 784-200-200-50 with tanh, separate linear heads
for mu and logvar, decoder 50-200-200-784 giving Bernoulli logits, PyTorch's default init (vae-lab draws from the same
U(+-1/sqrt(fan_in))). Dynamically binarized MNIST: each epoch every pixel is a fresh Bernoulli(grey level) draw.

  --objective elbo      recon + KL (analytic), the plain VAE
  --objective iwae      -log (1/k) sum_i p(x, z_i) / q(z_i|x) over --k draws per example (k = 1 is the ELBO)
  --objective beta_tc   recon + --mi x MI + --tc x TC + --dim-kl x dimension-wise KL, by minibatch-weighted sampling
  --objective capacity  recon + --gamma x |KL - C|, C = --max-nats x min(1, step / --anneal-steps), step from 0
  --epochs N           train N epochs on a seeded 59,600 of the 60,000 (the spec's split 0.99333), batch 20, Adam 1e-3
  --train-limit N      ...on the first N of those instead (smoke tests; also β-TCVAE's N)
  --eval-k K           importance samples per test image for the bound (default 5000, Burda et al.'s)
  --eval-limit N       evaluate on the first N test images only
  --threads N          torch.set_num_threads (default 2, this machine's cores)

Every loss is as src/model/loss.ts, vae.ts and objective.ts compute it: per-example sums over pixels and latents,
averaged over the batch once. The test set is binarized once with a fixed seed (the same images for every run and
seed) and evaluated after training: the negative ELBO with one sample per image and the analytic KL, and the
importance-weighted bound of src/eval/iwae.ts, its k samples in chunks with a running log-sum-exp. Prints a progress
line per epoch on stderr and one JSON line at the end, every number per example in nats.
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


def bernoulli_nll(logits, x):
    """Per example (summed over the last axis); x broadcasts against logits' leading axes."""
    return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction='none').sum(-1)


def kl_to_standard_normal(mu, logvar):
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


def log_normal(z, mean, logvar):
    """log N(z | mean, exp(logvar)) of each element, as loss.ts's logNormal."""
    return -0.5 * (LOG_2PI + logvar + (z - mean).pow(2) / torch.exp(logvar))


def log_weights(model, x, k, generator=None):
    """log p(x|z_i) + log p(z_i) - log q(z_i|x) as [batch, k], with the per-example recon (mean over k) and KL."""
    mu, logvar = model.encode(x)
    eps = torch.randn(mu.shape[0], k, mu.shape[1], generator=generator)
    z = mu.unsqueeze(1) + torch.exp(0.5 * logvar).unsqueeze(1) * eps
    recon = bernoulli_nll(model.decode(z), x.unsqueeze(1))
    log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
    # (z - mu) / sigma is eps itself, as in vae.ts's importanceWeights.
    log_qz = -0.5 * (eps.pow(2) + logvar.unsqueeze(1) + LOG_2PI).sum(-1)
    return -recon + log_pz - log_qz, recon.mean(1), kl_to_standard_normal(mu, logvar)


def beta_tc_terms(z, mu, logvar, dataset_size):
    """loss.ts's betaTcTerms: MI, TC and dimension-wise KL, batch means, q(z) by minibatch-weighted sampling."""
    log_nm = math.log(dataset_size * z.shape[0])
    pairs = log_normal(z.unsqueeze(1), mu.unsqueeze(0), logvar.unsqueeze(0))  # [i, m, j]: log q(z_ij | x_m)
    log_qz = torch.logsumexp(pairs.sum(2), 1) - log_nm
    log_qz_product = (torch.logsumexp(pairs, 1) - log_nm).sum(1)
    log_qzx = log_normal(z, mu, logvar).sum(1)
    log_pz = log_normal(z, torch.zeros(()), torch.zeros(())).sum(1)
    return (log_qzx - log_qz).mean(), (log_qz - log_qz_product).mean(), (log_qz_product - log_pz).mean()


def batch_loss(model, x, args, step, dataset_size):
    """(loss, recon, kl), each a mean over the batch of per-example sums, as vae.ts's batchLoss."""
    if args.objective == 'iwae':
        log_w, recon, kl = log_weights(model, x, args.k)
        bound = (torch.logsumexp(log_w, 1) - math.log(args.k)).mean()
        return -bound, recon.mean(), kl.mean()
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    recon = bernoulli_nll(model.decode(z), x).mean()
    kl = kl_to_standard_normal(mu, logvar).mean()
    if args.objective == 'beta_tc':
        mi, tc, dim_kl = beta_tc_terms(z, mu, logvar, dataset_size)
        part = args.mi * mi + args.tc * tc + args.dim_kl * dim_kl
    elif args.objective == 'capacity':
        part = args.gamma * (kl - args.max_nats * min(1.0, step / args.anneal_steps)).abs()
    else:
        part = kl
    return recon + part, recon, kl


def train_epoch(model, optimizer, train, args, generator, first_step):
    """One pass in a fresh seeded order, each batch binarized afresh; per-example means of (loss, recon, kl)."""
    model.train()
    order = torch.randperm(len(train), generator=generator)
    sums = torch.zeros(3)
    step = first_step
    for start in range(0, len(train), args.batch_size):
        x = torch.bernoulli(train[order[start:start + args.batch_size]], generator=generator)
        optimizer.zero_grad()
        loss, recon, kl = batch_loss(model, x, args, step, len(train))
        loss.backward()
        optimizer.step()
        sums += torch.stack([loss.detach(), recon.detach(), kl.detach()]) * len(x)
        step += 1
    return (sums / len(train)).tolist(), step


@torch.no_grad()
def test_neg_elbo(model, test, generator, batch_size=1000):
    """One sample per image, analytic KL: (neg ELBO, recon, kl) per example."""
    model.eval()
    recon_sum = kl_sum = 0.0
    for start in range(0, len(test), batch_size):
        x = test[start:start + batch_size]
        mu, logvar = model.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator)
        recon_sum += bernoulli_nll(model.decode(z), x).sum().item()
        kl_sum += kl_to_standard_normal(mu, logvar).sum().item()
    recon, kl = recon_sum / len(test), kl_sum / len(test)
    return recon + kl, recon, kl


@torch.no_grad()
def importance_weighted_nll(model, test, k, generator, memory_mb):
    """-log p(x) by the k-sample bound, per example. As src/eval/iwae.ts: chunks of decoder passes sized to
    memory_mb (the output and about four pixel-sized intermediates each, float32), a running (max, sum) per example."""
    model.eval()
    rows_per_chunk = max(1, memory_mb * 2 ** 20 // (4 * 5 * test.shape[1]))
    examples_per_batch = max(1, min(len(test), rows_per_chunk // min(k, rows_per_chunk)))
    samples_per_chunk = max(1, min(k, rows_per_chunk // examples_per_batch))
    total = 0.0
    for start in range(0, len(test), examples_per_batch):
        x = test[start:start + examples_per_batch]
        running_max = torch.full((len(x),), -math.inf)
        running_sum = torch.zeros(len(x))
        for done in range(0, k, samples_per_chunk):
            log_w = log_weights(model, x, min(samples_per_chunk, k - done), generator)[0]
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
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--batch-size', type=int, default=20)
    parser.add_argument('--lr', type=float, default=1e-3)
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

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the weights and the training noise
    pool = read_idx_images('train-images-idx3-ubyte')
    keep = torch.randperm(len(pool), generator=torch.Generator().manual_seed(args.seed))[:round(TRAIN_FRACTION * len(pool))]
    train = pool[keep[:args.train_limit] if args.train_limit > 0 else keep]
    test = read_idx_images('t10k-images-idx3-ubyte')
    test = torch.bernoulli(test, generator=torch.Generator().manual_seed(TEST_BINARIZE_SEED))
    if args.eval_limit > 0:
        test = test[:args.eval_limit]

    model = BurdaVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed)  # the data order and the dynamic binarization
    started, step = time.perf_counter(), 0
    loss = recon = kl = None
    for epoch in range(1, args.epochs + 1):
        epoch_started = time.perf_counter()
        (loss, recon, kl), step = train_epoch(model, optimizer, train, args, generator, step)
        print(f'epoch {epoch}/{args.epochs}: loss {loss:.2f} recon {recon:.2f} kl {kl:.2f} '
              f'({time.perf_counter() - epoch_started:.1f} s)', file=sys.stderr, flush=True)
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    eval_generator = torch.Generator().manual_seed(args.seed)
    neg_elbo, test_recon, test_kl = test_neg_elbo(model, test, eval_generator)
    iwae_nll = importance_weighted_nll(model, test, args.eval_k, eval_generator, args.eval_memory_mb)
    eval_seconds = time.perf_counter() - started

    result = {'impl': 'pytorch', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
              'objective': args.objective, 'k': k, 'seed': args.seed, 'epochs': args.epochs,
              'batch_size': args.batch_size, 'lr': args.lr, 'train_images': len(train), 'train_seconds': train_seconds,
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
