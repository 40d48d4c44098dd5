"""Checks of bench/pytorch_objectives.py's priors and two-layer model, on random inputs (no MNIST needed).

  .venv/bin/python bench/check_pytorch_objectives.py

  1. mog with K = 1, mean 0 and log-variance 0 is the standard prior's log p(z) (to 1e-5 in float64)
  2. the expanded-square pairwise log N is the brute-force [n, K, D] one, log-variances from -6 to 2 (to 1e-4 in
     float64; float32 to a relative 1e-6, its rounding), and beside a narrow component (log-variance -14)
  3. vamp's log p(z) is a loop over its components of the model's encoder on the pseudo-inputs
  4. with the same noise, IWAE k = 1 is the ELBO: two layers, and one layer with vamp and with mog (sampled KL)
  5. the loss's gradient reaches vamp's pseudo-inputs, the encoder through them, and every mog parameter
  6. the combinations the script refuses are refused

Prints one line per check with the largest difference, and raises on a failure.
"""
import argparse
import math
import os
import subprocess
import sys

import torch

from pytorch_objectives import (BurdaVAE, MogPrior, StandardPrior, TwoLayerVAE, VampPrior, batch_loss,
                                log_normal, log_normal_pairs)

torch.set_num_threads(1)


def report(name, difference, tolerance):
    print(f'{name}: max |difference| {difference:.3g} (tolerance {tolerance:g})')
    assert difference <= tolerance, name


def check_mog_one_component():
    torch.manual_seed(0)
    prior = MogPrior(1, 50)
    with torch.no_grad():
        prior.means.zero_()
    z = 2 * torch.randn(64, 7, 50)  # the [batch, k, D] of log_weights
    for dtype in (torch.float64, torch.float32):
        prior.to(dtype)
        mog = prior.log_prob(z.to(dtype), prior.components(None))
        standard = StandardPrior().log_prob(z.to(dtype), None)
        difference = (mog - standard).abs().max().item()
        if dtype == torch.float64:
            report('1. mog K=1 (mean 0, logvar 0) vs standard log p(z), float64', difference, 1e-5)
        else:
            # The same sums in another order (a matrix product against ones, D log 2pi at once): in float32 that
            # is rounding of values near -150, whose spacing is 1.5e-5, so held to a relative 1e-6 instead.
            print(f'   float32: max |difference| {difference:.3g} on values from {standard.min().item():.4g} '
                  f'to {standard.max().item():.4g}')
            report('1. the same, float32 (relative)', ((mog - standard).abs() / standard.abs()).max().item(), 1e-6)


def check_pairs():
    torch.manual_seed(1)
    n, k, d = 300, 40, 50
    for dtype in (torch.float32, torch.float64):
        z = (3 * torch.randn(n, d)).to(dtype)
        mean = (2 * torch.randn(k, d)).to(dtype)
        logvar = (-6 + 8 * torch.rand(k, d)).to(dtype)
        brute = log_normal(z.unsqueeze(1), mean.unsqueeze(0), logvar.unsqueeze(0)).sum(-1)
        expanded = log_normal_pairs(z, mean, logvar)
        difference = (expanded - brute).abs().max().item()
        relative = ((expanded - brute).abs() / brute.abs()).max().item()
        print(f'   {dtype}: values from {brute.min().item():.4g} to {brute.max().item():.4g}, '
              f'largest absolute difference {difference:.3g}, largest relative {relative:.3g}')
        if dtype == torch.float64:
            report('2. expanded-square pairwise log N vs brute-force [n, K, D], float64', difference, 1e-4)
        else:
            # float32 carries about 7 digits, and the expanded square cancels terms as large as z^2 / v (up to
            # 9 x 400 per dimension here): the absolute difference scales with the values, so it is held to a
            # relative 1e-6 rather than to 1e-4 nats.
            report('2. expanded-square pairwise log N vs brute-force [n, K, D], float32 (relative)', relative, 1e-6)
    # Values of the size training sees: z and the means within a few units, log-variances near 0.
    z, mean, logvar = torch.randn(300, 50), torch.randn(40, 50), torch.randn(40, 50) * 0.5
    brute = log_normal(z.unsqueeze(1), mean.unsqueeze(0), logvar.unsqueeze(0)).sum(-1)
    report('2. the same, float32, z and means N(0, 1), logvar N(0, 0.25)',
           (log_normal_pairs(z, mean, logvar) - brute).abs().max().item(), 1e-4)
    # Beside a narrow component (log-variance -14, means of size 2, z half a standard deviation from it), where a
    # float32 expansion is off by tens of nats: the float64 sums hold it to float32's rounding of the result.
    mean = 2 * torch.randn(3, 50)
    logvar = torch.cat([torch.full((1, 50), -14.0), -6 + 8 * torch.rand(2, 50)])
    z = mean[:1] + 0.5 * math.exp(-7) * torch.randn(4, 50)
    brute = log_normal(z.double().unsqueeze(1), mean.double().unsqueeze(0), logvar.double().unsqueeze(0)).sum(-1)
    relative = ((log_normal_pairs(z, mean, logvar).double() - brute).abs() / brute.abs().clamp(min=1)).max().item()
    report('2. the same, float32 inputs beside a narrow component (relative)', relative, 1e-6)


def show_float32_cancellation():
    """Not a check: how far float32 takes each form from the float64 value where the expanded square cancels most,
    z within 0.05 of a narrow (log-variance -6) component's mean of size 3, the pair a log-sum-exp is ruled by."""
    torch.manual_seed(7)
    mean = 3 * torch.randn(40, 50, dtype=torch.float64)
    logvar = torch.full((40, 50), -6.0, dtype=torch.float64)
    own = torch.randint(40, (300,))
    z = mean[own] + 0.05 * torch.randn(300, 50, dtype=torch.float64)
    rows = torch.arange(300)
    truth = log_normal(z.unsqueeze(1), mean.unsqueeze(0), logvar.unsqueeze(0)).sum(-1)[rows, own]
    z32, mean32, logvar32 = z.float(), mean.float(), logvar.float()
    expanded = log_normal_pairs(z32, mean32, logvar32)[rows, own].double()
    brute = log_normal(z32.unsqueeze(1), mean32.unsqueeze(0), logvar32.unsqueeze(0)).sum(-1)[rows, own].double()
    print(f'   (float32 near a narrow component, log N from {truth.min().item():.4g} to {truth.max().item():.4g}: '
          f'expanded off by up to {(expanded - truth).abs().max().item():.3g}, '
          f'brute force by {(brute - truth).abs().max().item():.3g})')


def check_vamp():
    torch.manual_seed(2)
    model, prior = BurdaVAE(), VampPrior(500, 784)
    z = torch.randn(32, 3, 50, dtype=torch.float64)
    model, prior = model.double(), prior.double()
    with torch.no_grad():
        fast = prior.log_prob(z, prior.components(model))
        terms = []
        for u in torch.clamp(prior.pseudo_inputs, 0, 1):
            mu, logvar = model.encode(u)
            terms.append(log_normal(z, mu, logvar).sum(-1))
        brute = torch.logsumexp(torch.stack(terms), 0) - math.log(len(terms))
    report('3. vamp K=500 log p(z) vs a loop over components, float64', (fast - brute).abs().max().item(), 1e-9)
    prior.float()
    with torch.no_grad():
        fast = prior.log_prob(z.float(), prior.components(model.float()))
    report('3. the same, float32 against the float64 loop', (fast.double() - brute).abs().max().item(), 1e-4)


def elbo_and_iwae1(model, prior, objective_args):
    """The ELBO loss and the IWAE k = 1 loss from the same seed, so the same noise."""
    x = torch.bernoulli(torch.rand(20, 784, generator=torch.Generator().manual_seed(3)))
    losses = []
    for objective in ('elbo', 'iwae'):
        torch.manual_seed(4)
        args = argparse.Namespace(objective=objective, k=1, **objective_args)
        losses.append(batch_loss(model, prior, x, args, 0, 1000))
    return losses


def check_iwae_one_is_elbo():
    torch.manual_seed(5)
    cases = [('two layers', TwoLayerVAE(), StandardPrior()), ('vamp K=500', BurdaVAE(), VampPrior(500, 784)),
             ('mog K=10', BurdaVAE(), MogPrior(10, 50))]
    for name, model, prior in cases:
        (elbo, elbo_recon, elbo_kl), (iwae, iwae_recon, iwae_kl) = elbo_and_iwae1(model, prior, {})
        print(f'   {name}: ELBO loss {elbo.item():.6f} (recon {elbo_recon.item():.4f}, kl {elbo_kl.item():.4f}), '
              f'IWAE k=1 loss {iwae.item():.6f} (recon {iwae_recon.item():.4f}, kl {iwae_kl.item():.4f})')
        report(f'4. {name}: IWAE k=1 loss vs ELBO loss, same noise', abs(elbo.item() - iwae.item()), 1e-4)
        assert torch.equal(elbo_recon, iwae_recon) and torch.equal(elbo_kl, iwae_kl), name


def check_gradients():
    torch.manual_seed(6)
    model, vamp = BurdaVAE(), VampPrior(500, 784)
    # Pseudo-inputs inside (0, 1), where hardtanh passes the gradient (N(0.05, 0.01) leaves almost all there).
    x = torch.bernoulli(torch.rand(20, 784))
    loss = batch_loss(model, vamp, x, argparse.Namespace(objective='elbo'), 0, 1000)[0]
    # The encoder's gradient through the pseudo-inputs alone: the KL's log p(z) term with z held fixed.
    model.zero_grad()
    z = torch.randn(20, 50)
    vamp.log_prob(z, vamp.components(model)).sum().backward()
    encoder_through_prior = model.enc[0].weight.grad.abs().sum().item()
    vamp.pseudo_inputs.grad = None
    loss.backward()
    grad_w = vamp.pseudo_inputs.grad.abs().sum().item()
    print(f'5. vamp: |dloss/dW| summed {grad_w:.4g}; |d log p(z)/d encoder weight| through the pseudo-inputs '
          f'{encoder_through_prior:.4g}')
    assert grad_w > 0 and encoder_through_prior > 0
    mog = MogPrior(10, 50)
    batch_loss(BurdaVAE(), mog, x, argparse.Namespace(objective='iwae', k=3), 0, 1000)[0].backward()
    grads = {name: p.grad.abs().sum().item() for name, p in mog.named_parameters()}
    print(f'5. mog: summed |gradient| {grads}')
    assert all(g > 0 for g in grads.values())


def check_refusals():
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pytorch_objectives.py')
    for flags in (['--objective', 'beta_tc', '--prior', 'vamp'], ['--objective', 'beta_tc', '--prior', 'mog'],
                  ['--stochastic-layers', '2', '--prior', 'vamp'], ['--stochastic-layers', '2', '--prior', 'mog'],
                  ['--stochastic-layers', '2', '--objective', 'beta_tc'],
                  ['--stochastic-layers', '2', '--objective', 'capacity'], ['--prior-components', '5']):
        done = subprocess.run([sys.executable, script, *flags], capture_output=True, text=True)
        message = done.stderr.strip().splitlines()[-1]
        print(f'6. {" ".join(flags)}: exit {done.returncode}, "{message}"')
        assert done.returncode == 2 and 'error' in message, flags


if __name__ == '__main__':
    check_mog_one_component()
    check_pairs()
    show_float32_cancellation()
    check_vamp()
    check_iwae_one_is_elbo()
    check_gradients()
    check_refusals()
    print('all checks passed')
