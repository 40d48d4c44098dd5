import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { parse } from 'yaml';
import { RUN_ARTIFACTS, RunRecord } from '../src/record/run-record.ts';
import { vae } from './support/cli.ts';
import { onlyRunDir } from './support/run-record.ts';
import { signalPastStep } from './support/signals.ts';
import { scratchFolders } from './support/scratch.ts';

/** Temporary folders, removed when this file's tests end. */
const scratch = scratchFolders('vae-run-');

// Small slices of real MNIST: a few hundred images, so each run takes seconds on any backend.
const TINY = ['data.limit=320', 'data.split.train=0.75', 'data.split.val=0.25', 'train.batch_size=32', 'tracking.log_every_steps=2'];

interface Metric {
  key: string;
  value: number;
  step: number;
}

async function tinyRun(spec: string, overrides: string[]): Promise<{ runDir: string; stderr: string; metrics: Metric[] }> {
  const runsDir = scratch();
  const result = await vae(['run', spec, ...overrides, '--runs-dir', runsDir, '--no-mlflow']);
  assert.equal(result.code, 0, result.stderr);
  const experimentDir = join(runsDir, readdirSync(runsDir)[0]);
  const runDir = join(experimentDir, readdirSync(experimentDir)[0]);
  const metrics = new RunRecord(runDir).readMetrics();
  return { runDir, stderr: result.stderr, metrics };
}

const series = (metrics: Metric[], key: string) => metrics.filter((m) => m.key === key).map((m) => m.value);

describe('vae run, end to end on real MNIST', () => {
  it('trains, evaluates and writes the whole run record', async () => {
    const { runDir, stderr, metrics } = await tinyRun('experiments/vae-mnist.yaml', [...TINY, 'train.epochs=2']);
    assert.match(stderr, /mnist: 240 train \/ 80 val \/ 320 test images of 28x28/);
    assert.match(stderr, /model 784-400-20 \| bce \+ 1 x KL \| backend (tensorflow|wasm|cpu)/);
    assert.match(stderr, /test: -ELBO \d+\.\d+ nats per example/);

    assert.equal(
      readFileSync(new RunRecord(runDir).path(RUN_ARTIFACTS.writtenSpec), 'utf8'),
      readFileSync('experiments/vae-mnist.yaml', 'utf8'),
    );
    const resolved = parse(readFileSync(new RunRecord(runDir).path(RUN_ARTIFACTS.resolvedSpec), 'utf8'));
    assert.deepEqual([resolved.data.limit, resolved.train.epochs, resolved.model.latent_dim], [320, 2, 20]);

    const trainLoss = series(metrics, 'train/loss');
    assert.equal(trainLoss.length, 2);
    assert.ok(trainLoss[1] < trainLoss[0], `train loss went down: ${trainLoss}`);
    const valLoss = series(metrics, 'val/loss');
    assert.ok(valLoss[1] < valLoss[0], `val loss went down: ${valLoss}`);
    for (const key of ['train/recon', 'train/kl', 'val/recon', 'val/kl', 'perf/examples_per_s', 'train/running_loss'])
      assert.ok(series(metrics, key).length > 0, key);
    const [recon, kl, loss] = ['train/recon', 'train/kl', 'train/loss'].map((k) => series(metrics, k)[1]);
    assert.ok(Math.abs(recon + kl - loss) < 1e-3 * loss, 'loss = recon + KL with beta 1');
    // Per example: an untrained model starts near 784 ln 2 = 543 nats, and never below 0.
    assert.ok(trainLoss[0] < 600 && trainLoss[1] > 50, `per-example scale: ${trainLoss}`);

    const summary = new RunRecord(runDir).readSummary()!;
    assert.equal(summary.status, 'FINISHED');
    assert.equal(summary.epochs_completed, 2);
    assert.ok(summary.metrics['test/neg_elbo'] > 50 && summary.metrics['test/neg_elbo'] < 600);
    assert.deepEqual([summary.data.train, summary.data.val, summary.data.test], [240, 80, 320]);
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(summary.backend));
    assert.equal(series(metrics, 'test/neg_elbo')[0], summary.metrics['test/neg_elbo']);
    assert.equal(new RunRecord(runDir).readRun().status, 'FINISHED');
    assert.equal(new RunRecord(runDir).readParams()['model.latent_dim'], '20');

    const samples = PNG.sync.read(readFileSync(join(runDir, 'images/final/samples.png')));
    assert.deepEqual([samples.width, samples.height], [8 * 58 + 2, 8 * 58 + 2], 'an 8x8 grid of 2x-scaled 28-pixel tiles');
    const recons = PNG.sync.read(readFileSync(join(runDir, 'images/final/reconstructions.png')));
    assert.deepEqual([recons.width, recons.height], [8 * 58 + 2, 8 * 58 + 2], '4 pairs of rows: inputs over reconstructions');
    for (const picture of ['traversals.png', 'neg-elbo-histogram.png'])
      assert.ok(PNG.sync.read(readFileSync(join(runDir, 'images/final', picture))).width > 100, picture);
    const images = readdirSync(join(runDir, 'images'));
    assert.equal(
      images.filter((f) => /^samples\+step\+\d\+timestamp\+\d+\+.+\.png$/.test(f) && !f.includes('compressed')).length,
      2,
      'a stepped sample grid per epoch',
    );
    for (const part of ['encoder', 'decoder']) {
      const model = JSON.parse(readFileSync(join(runDir, 'model', part, 'model.json'), 'utf8'));
      assert.equal(model.format, 'layers-model');
      assert.ok(readFileSync(join(runDir, 'model', part, 'weights.bin')).length > 4 * 20 * 400);
    }
  });

  it('two runs with one seed give the same metrics', async () => {
    const overrides = [...TINY, 'train.epochs=1', 'data.binarize=dynamic'];
    const [a, b] = await Promise.all([tinyRun('experiments/vae-mnist.yaml', overrides), tinyRun('experiments/vae-mnist.yaml', overrides)]);
    const comparable = (m: Metric[]) => m.filter((p) => !p.key.startsWith('perf/')).map(({ key, step, value }) => ({ key, step, value }));
    assert.ok(comparable(a.metrics).length >= 8);
    assert.deepEqual(comparable(a.metrics), comparable(b.metrics));
    const c = await tinyRun('experiments/vae-mnist.yaml', [...overrides, 'seed=2']);
    assert.notDeepEqual(comparable(a.metrics), comparable(c.metrics), 'another seed gives other numbers');
  });

  it('a conv VAE trains on the wasm backend (its filter gradient is ours)', async () => {
    const { stderr, metrics } = await tinyRun('experiments/vae-mnist-conv.yaml', [
      'data.limit=96',
      'train.epochs=1',
      'train.batch_size=32',
      '--backend',
      'wasm',
    ]);
    assert.match(stderr, /backend wasm/);
    assert.ok(series(metrics, 'test/neg_elbo')[0] > 0);
  });

  it('Fashion-MNIST with the Gaussian likelihood and KL warm-up', async () => {
    const { metrics } = await tinyRun('experiments/vae-fashion-mse.yaml', [...TINY, 'train.epochs=2']);
    assert.deepEqual(series(metrics, 'train/kl_weight'), [0.5, 1]);
    const loss = series(metrics, 'train/loss');
    assert.ok(loss[1] < loss[0], `${loss}`);
  });

  it('SIGTERM stops after the current step, records the run as KILLED and exits 143', async () => {
    const runsDir = scratch();
    // Two epochs of 469 steps: the signal goes at step 100, so the run is mid-epoch on any machine.
    const watcher = signalPastStep(runsDir, 50, 'SIGTERM');
    const result = await vae(['run', 'experiments/vae-mnist.yaml', 'train.epochs=2', '--runs-dir', runsDir, '--no-mlflow'], {
      onStderr: watcher.onStderr,
    });
    watcher.stop();
    assert.equal(result.code, 143, result.stderr);
    assert.match(result.stderr, /SIGTERM: finishing the current step/);
    const runDir = onlyRunDir(runsDir);
    assert.equal(new RunRecord(runDir).readRun().status, 'KILLED');
    assert.equal(new RunRecord(runDir).readSummary()!.status, 'KILLED');
  });
});
