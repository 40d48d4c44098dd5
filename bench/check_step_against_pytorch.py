"""vae-lab's graph training step against bench/pytorch_objectives.py's, from the same weights, data and noise.

  .venv/bin/python bench/check_step_against_pytorch.py [experiments/iwae-2layer-mnist.yaml ...]

For each spec (Burda et al.'s architectures, one or two stochastic layers, ELBO or IWAE), bench/step-for-pytorch.ts
writes vae-lab's initial weights, 6 batches of binarized MNIST test digits, each step's noise, step 0's loss terms
and gradients, each Adam step's loss and the weights after 6 steps. This script loads the same weights into
pytorch_objectives.py's model, feeds the same batches and noise to its batch_loss (the loss the PyTorch table trains
with) and Adam (epsilon 1e-7, TensorFlow's), and prints the differences:
  - loss, recon and KL at step 0, relative to the loss;
  - each gradient, relative to its largest entry (the worst over all parameters);
  - the loss of each of the 6 steps;
  - the weights after 6 steps, relative to each parameter's largest entry.
Exits 1 when a loss term or a gradient differs by more than 1e-4 (relative), the graph-step test's tolerance.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch

from pytorch_objectives import BurdaVAE, StandardPrior, TwoLayerVAE, batch_loss

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 1e-4


def layers(model):
    """vae-lab's layer names (src/model/networks.ts) to the PyTorch model's nn.Linear."""
    if isinstance(model, TwoLayerVAE):
        return {'enc_dense_0': model.enc1[0], 'enc_dense_1': model.enc1[2], 'mu': model.mu1, 'logvar': model.logvar1,
                'dec_dense_0': model.dec1[0], 'dec_dense_1': model.dec1[2], 'x_params': model.dec1[4],
                'top_encoder_dense_0': model.enc2[0], 'top_encoder_dense_1': model.enc2[2],
                'top_encoder_mean': model.mu2, 'top_encoder_logvar': model.logvar2,
                'top_decoder_dense_0': model.dec2[0], 'top_decoder_dense_1': model.dec2[2],
                'top_decoder_mean': model.prior_mu1, 'top_decoder_logvar': model.prior_logvar1}
    return {'enc_dense_0': model.enc[0], 'enc_dense_1': model.enc[2], 'mu': model.mu, 'logvar': model.logvar,
            'dec_dense_0': model.dec[0], 'dec_dense_1': model.dec[2], 'x_params': model.dec[4]}


def as_torch(values, shape, kind):
    """A vae-lab weight as PyTorch holds it: a dense kernel [in, out] is nn.Linear's weight transposed."""
    t = torch.tensor(values, dtype=torch.float32).reshape(shape)
    return t.T if kind == 'kernel' else t


def check(spec):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'step.json')
        subprocess.run(['npx', 'tsx', os.path.join(HERE, 'step-for-pytorch.ts'), spec, out], check=True)
        with open(out) as f:
            d = json.load(f)
    two_layers = any(w['name'].startswith('top_') for w in d['init'])
    model = TwoLayerVAE() if two_layers else BurdaVAE()
    by_name = layers(model)
    params = []  # (PyTorch's parameter, its name, and vae-lab's values of it as a PyTorch tensor)
    for w in d['init']:
        layer, kind = w['name'].split('/')
        p = by_name[layer].weight if kind == 'kernel' else by_name[layer].bias
        theirs = lambda values, shape=w['shape'], kind=kind: as_torch(values, shape, kind)
        value = theirs(w['values'])
        if p.shape != value.shape:
            sys.exit(f'{spec}: {w["name"]} is {list(value.shape)}, the PyTorch model\'s {list(p.shape)}: '
                     'the replay needs Burda et al.\'s architecture (bench/pytorch_objectives.py)')
        with torch.no_grad():
            p.copy_(value)
        params.append((p, w['name'], theirs))
    if len(params) != len(list(model.parameters())):
        sys.exit(f'{spec}: {len(params)} weights against the PyTorch model\'s {len(list(model.parameters()))}')
    args = argparse.Namespace(objective=d['objective'], k=d['k'])
    optimizer = torch.optim.Adam(model.parameters(), lr=d['lr'], eps=1e-7)
    failures = []
    print(f'{spec}: {d["objective"]}, k = {d["k"]}, {"two stochastic layers" if two_layers else "one stochastic layer"}')
    for s, step in enumerate(d['steps']):
        x = torch.tensor(step['x'], dtype=torch.float32).reshape(-1, 784)
        noise = torch.tensor(step['eps'], dtype=torch.float32).reshape(len(x), d['k'], -1)
        optimizer.zero_grad()
        terms = batch_loss(model, StandardPrior(), x, args, s, len(x), noise)
        terms[0].backward()
        if s == 0:
            ours = d['step0']['totals']
            worst = max(abs(t.item() - o) for t, o in zip(terms, ours)) / abs(ours[0])
            print(f'  step 0 loss, recon, kl: vae-lab {", ".join(f"{o:.5f}" for o in ours)}; '
                  f'PyTorch {", ".join(f"{t.item():.5f}" for t in terms)}; worst difference / loss {worst:.2e}')
            if worst > TOLERANCE:
                failures.append('loss terms')
            grads = [(name, (p.grad - theirs(g)).abs().max().item() / max(p.grad.abs().max().item(), 1e-30))
                     for (p, name, theirs), g in zip(params, d['step0']['grads'])]
            name, diff = max(grads, key=lambda g: g[1])
            print(f'  step 0 gradients ({len(grads)}): worst difference / largest entry {diff:.2e} ({name})')
            if diff > TOLERANCE:
                failures.append('gradients')
        optimizer.step()
        print(f'  step {s} loss: vae-lab {step["loss"]:.5f}, PyTorch {terms[0].item():.5f}')
    worst = max((p.detach() - theirs(a)).abs().max().item() / p.detach().abs().max().item()
                for (p, _, theirs), a in zip(params, d['after']))
    print(f'  weights after {len(d["steps"])} Adam steps: worst difference / largest entry {worst:.2e}')
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('specs', nargs='*', default=['experiments/iwae-mnist.yaml', 'experiments/iwae-k5-mnist.yaml',
                                                     'experiments/iwae-2layer-mnist.yaml',
                                                     'experiments/iwae-k5-2layer-mnist.yaml'])
    torch.set_num_threads(1)
    failures = [f'{spec}: {what}' for spec in parser.parse_args().specs for what in check(spec)]
    if failures:
        sys.exit('differ beyond 1e-4: ' + '; '.join(failures))
    print('all steps agree')


if __name__ == '__main__':
    main()
