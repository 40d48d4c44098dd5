// Training objectives other than the ELBO, end to end on a slice of real MNIST through the graph step.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunRecord } from '../src/record/run-record.ts';
import { vae } from './support/cli.ts';

describe('training objectives', () => {
  it('controlled capacity: the KL follows C up to max_nats, and the run logs C and the plain ELBO on the test set', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'vae-capacity-'));
    const capacity = ['loss.objective=capacity', 'loss.capacity.gamma=100', 'loss.capacity.max_nats=10', 'loss.capacity.anneal_steps=30'];
    // 2,000 digits in batches of 128: 16 steps an epoch, so C reaches 10 nats in epoch 2 and stays.
    const budget = ['data.limit=2000', 'train.epochs=4', 'eval.iwae_samples=0', '--no-mlflow', '--runs-dir', runsDir];
    const result = await vae(['run', 'experiments/vae-mnist.yaml', ...capacity, ...budget]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /model 784-400-20 \| bce \+ 100 x \|KL - C\|, C up to 10 nats over 30 steps \|/);
    assert.match(result.stderr, /training step: one TensorFlow graph per step/);

    const experiment = join(runsDir, readdirSync(runsDir)[0]);
    const record = new RunRecord(join(experiment, readdirSync(experiment)[0]));
    const series = (key: string) =>
      record
        .readMetrics()
        .filter((m) => m.key === key)
        .map((m) => m.value);
    assert.deepEqual(series('train/capacity_nats'), [10 * (15 / 30), 10, 10, 10]);
    const kl = series('train/kl');
    // The plain ELBO's KL settles near 6 nats at this budget (measured: 5.76 in epoch 4); C = 10 holds it near 10.
    assert.ok(Math.abs(kl[3] - 10) < 1, `train/kl per epoch: ${kl}`);
    assert.ok(kl[0] < kl[3], `the KL rises with C: ${kl}`);
    const summary = record.readSummary()!;
    assert.ok(Math.abs(summary.metrics['test/kl'] - 10) < 1.5, `test/kl ${summary.metrics['test/kl']}`);
    assert.ok(summary.metrics['test/neg_elbo'] > summary.metrics['test/recon'], 'the test metric is the plain negative ELBO');
  });
  it('β-TCVAE trains through the graph step; its test metric is the plain negative ELBO', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'vae-beta-tc-'));
    const budget = ['data.limit=2000', 'train.epochs=3', 'eval.iwae_samples=0', '--no-mlflow', '--runs-dir', runsDir];
    const result = await vae(['run', 'experiments/vae-mnist.yaml', 'loss.objective=beta_tc', ...budget]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /\| bce \+ 1 x MI \+ 6 x TC \+ 1 x dimension-wise KL \(β-TCVAE\) \|/);
    assert.match(result.stderr, /training step: one TensorFlow graph per step/);
    const experiment = join(runsDir, readdirSync(runsDir)[0]);
    const record = new RunRecord(join(experiment, readdirSync(experiment)[0]));
    const series = (key: string) =>
      record
        .readMetrics()
        .filter((m) => m.key === key)
        .map((m) => m.value);
    const loss = series('train/loss');
    assert.ok(loss[2] < loss[0], `train/loss per epoch: ${loss}`);
    // Its three terms each epoch, which with weights 1, 6 and 1 make up train/loss beside the reconstruction.
    const [mi, tc, dimKl, recon] = ['train/mi', 'train/tc', 'train/dim_kl', 'train/recon'].map(series);
    assert.equal(tc.length, 3);
    loss.forEach((l, i) => assert.ok(Math.abs(recon[i] + mi[i] + 6 * tc[i] + dimKl[i] - l) < 1e-3 * l, `epoch ${i + 1}: ${l}`));
    const metrics = record.readSummary()!.metrics;
    assert.ok(Math.abs(metrics['test/neg_elbo'] - metrics['test/recon'] - metrics['test/kl']) < 1e-3);
  });

  it('IWAE trains on its bound: train/loss and val/loss are the k-sample bound, below the mean ELBO of the draws', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'vae-iwae-'));
    const iwae = ['loss.objective=iwae', 'loss.iwae.samples=5'];
    const budget = ['data.limit=2000', 'data.split.train=0.8', 'data.split.val=0.2', 'train.epochs=3', 'eval.iwae_samples=5'];
    const result = await vae(['run', 'experiments/vae-mnist.yaml', ...iwae, ...budget, '--no-mlflow', '--runs-dir', runsDir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /model 784-400-20 \| bce, importance-weighted bound with k = 5 \(IWAE\) \|/);
    assert.match(result.stderr, /training step: one TensorFlow graph per step/);
    const experiment = join(runsDir, readdirSync(runsDir)[0]);
    const record = new RunRecord(join(experiment, readdirSync(experiment)[0]));
    const series = (key: string) =>
      record
        .readMetrics()
        .filter((m) => m.key === key)
        .map((m) => m.value);
    assert.deepEqual(series('train/iwae_samples'), [5, 5, 5]);
    const [loss, recon, kl] = [series('train/loss'), series('train/recon'), series('train/kl')];
    loss.forEach((l, i) => assert.ok(l < recon[i] + kl[i], `epoch ${i + 1}: bound ${l}, mean ELBO ${recon[i] + kl[i]}`));
    assert.ok(loss[2] < loss[0], `train/loss per epoch: ${loss}`);
    const [valLoss, valRecon, valKl] = [series('val/loss'), series('val/recon'), series('val/kl')];
    assert.equal(valLoss.length, 3);
    valLoss.forEach((l, i) => assert.ok(l < valRecon[i] + valKl[i], `epoch ${i + 1}: val bound ${l}, val ELBO ${valRecon[i] + valKl[i]}`));
    const metrics = record.readSummary()!.metrics;
    assert.ok(
      metrics['test/iwae_nll'] < metrics['test/neg_elbo'],
      `test/iwae_nll ${metrics['test/iwae_nll']}, test/neg_elbo ${metrics['test/neg_elbo']}`,
    );
  });
});
