// Training objectives other than the ELBO, end to end on a slice of real MNIST through the graph step.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunRecord } from '../src/record/run-record.ts';
import { vae } from './support/cli.ts';
import { onlyRunDir } from './support/run-record.ts';
import { scratchFolders } from './support/scratch.ts';

/** Temporary folders, removed when this file's tests end. */
const scratch = scratchFolders('vae-objective-');

/**
 * `vae run experiments/vae-mnist.yaml` with `args` into a runs folder of its own, which must succeed and must train
 * through the graph step; returns its stderr, its record and each metric's values per epoch.
 */
async function trainedRun(name: string, args: string[]) {
  const runsDir = join(scratch(), name);
  const result = await vae(['run', 'experiments/vae-mnist.yaml', ...args, '--no-mlflow', '--runs-dir', runsDir]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /training step: one TensorFlow graph per step/);
  const record = new RunRecord(onlyRunDir(runsDir));
  const series = (key: string) =>
    record
      .readMetrics()
      .filter((m) => m.key === key)
      .map((m) => m.value);
  return { stderr: result.stderr, record, series };
}

describe('training objectives', () => {
  it('controlled capacity: the KL follows C up to max_nats, and the run logs C and the plain ELBO on the test set', async () => {
    const capacity = ['loss.objective=capacity', 'loss.capacity.gamma=100', 'loss.capacity.max_nats=10', 'loss.capacity.anneal_steps=30'];
    // 2,000 digits in batches of 128: 16 steps an epoch, so C reaches 10 nats in epoch 2 and stays.
    const budget = ['data.limit=2000', 'train.epochs=4', 'eval.iwae_samples=0'];
    const { stderr, record, series } = await trainedRun('capacity', [...capacity, ...budget]);
    assert.match(stderr, /model 784-400-20 \| bce \+ 100 x \|KL - C\|, C up to 10 nats over 30 steps \|/);
    assert.deepEqual(series('train/capacity_nats'), [10 * (15 / 30), 10, 10, 10]);
    const kl = series('train/kl');
    // The plain ELBO's KL settles near 6 nats at this budget (measured: 5.76 in epoch 4); C = 10 holds it near 10.
    assert.ok(Math.abs(kl[3] - 10) < 1, `train/kl per epoch: ${kl}`);
    assert.ok(kl[0] < kl[3], `the KL rises with C: ${kl}`);
    const summary = record.readSummary()!;
    assert.ok(Math.abs(summary.metrics['test/kl'] - 10) < 1.5, `test/kl ${summary.metrics['test/kl']}`);
    assert.ok(summary.metrics['test/neg_elbo'] > summary.metrics['test/recon'], 'the test metric is the plain negative ELBO');
  });
  it("the schedules start from nothing: the first step trains with C = 0, and with a warm-up's beta = 0", async () => {
    // One seed gives every run the same weights, first batch and noise, so the first step's loss (the running loss
    // after one step) tells which C or beta that step had: gamma = 1 and C = 0 cost |KL| = KL, the ELBO; beta = 0
    // costs the reconstruction alone. The pairs agree to the last bit; a schedule one step ahead moves the first
    // loss by 10 nats (C = 10) or 0.02 (beta = 1/4 of an untrained VAE's small KL).
    const budget = ['data.limit=256', 'train.batch_size=64', 'train.epochs=1', 'tracking.log_every_steps=1', 'eval.iwae_samples=0'];
    const firstLoss = async (name: string, args: string[]) =>
      (await trainedRun(name, [...args, ...budget])).series('train/running_loss')[0];
    const capacity = ['loss.objective=capacity', 'loss.capacity.gamma=1', 'loss.capacity.max_nats=40', 'loss.capacity.anneal_steps=4'];
    const [annealed, elbo] = [await firstLoss('capacity-start', capacity), await firstLoss('elbo-start', [])];
    assert.ok(Math.abs(annealed - elbo) < 1e-3, `first step: capacity ${annealed}, ELBO ${elbo}`);
    const [warming, reconOnly] = [
      await firstLoss('warmup-start', ['loss.kl_warmup_epochs=1']),
      await firstLoss('beta0-start', ['loss.kl_weight=0']),
    ];
    assert.ok(Math.abs(warming - reconOnly) < 1e-3, `first step: warm-up ${warming}, beta = 0 ${reconOnly}`);
  });

  it('β-TCVAE trains through the graph step; its test metric is the plain negative ELBO', async () => {
    const budget = ['data.limit=2000', 'train.epochs=3', 'eval.iwae_samples=0'];
    const { stderr, record, series } = await trainedRun('beta-tc', ['loss.objective=beta_tc', ...budget]);
    assert.match(stderr, /\| bce \+ 1 x MI \+ 6 x TC \+ 1 x dimension-wise KL \(β-TCVAE\) \|/);
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
    const iwae = ['loss.objective=iwae', 'loss.iwae.samples=5'];
    const budget = ['data.limit=2000', 'data.split.train=0.8', 'data.split.val=0.2', 'train.epochs=3', 'eval.iwae_samples=5'];
    const { stderr, record, series } = await trainedRun('iwae', [...iwae, ...budget]);
    assert.match(stderr, /model 784-400-20 \| bce, importance-weighted bound with k = 5 \(IWAE\) \|/);
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
