// A model option (a learned prior, a second stochastic layer) end to end: a short `vae run` on 2,000 real MNIST
// digits, checked the way every option is: it trains through the graph step, saves its extra networks beside the
// encoder and decoder, its loss falls, its bound is below its ELBO, and `vae sample` reads the run back.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type NetworkName, RunRecord } from '../../src/record/run-record.ts';
import { vae as cli } from './cli.ts';
import { onlyRunDir } from './run-record.ts';
import { scratchFolders } from './scratch.ts';

/** Temporary folders, removed when this file's tests end. */
const scratch = scratchFolders('vae-model-option-');

/** Returns the run's output and test metrics for the option's own checks. */
export async function checkModelOptionRun(
  overrides: string[],
  extraNetworks: NetworkName[],
): Promise<{ stderr: string; metrics: Record<string, number> }> {
  const runsDir = scratch();
  const budget = ['data.limit=2000', 'train.epochs=3', 'eval.iwae_samples=5'];
  const run = await cli(['run', 'experiments/vae-mnist.yaml', ...overrides, ...budget, '--no-mlflow', '--runs-dir', runsDir]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /training step: one TensorFlow graph per step/);
  assert.match(run.stderr, /^test: -ELBO [\d.]+ nats per example \(recon [\d.]+, KL [\d.]+, estimated from one sample\)$/m);
  const record = new RunRecord(onlyRunDir(runsDir));
  for (const file of extraNetworks.flatMap((n) => RunRecord.networkFiles(n))) assert.ok(existsSync(record.path(file)), file);
  const loss = record
    .readMetrics()
    .filter((m) => m.key === 'train/loss')
    .map((m) => m.value);
  assert.ok(loss[2] < loss[0], `train/loss per epoch: ${loss}`);
  const metrics = record.readSummary()!.metrics;
  assert.ok(metrics['test/iwae_nll'] < metrics['test/neg_elbo'], `${metrics['test/iwae_nll']} vs ${metrics['test/neg_elbo']}`);
  const out = join(runsDir, 'samples.png');
  const sampled = await cli(['sample', record.dir, '--n', '9', '--out', out]);
  assert.equal(sampled.code, 0, sampled.stderr);
  assert.ok(existsSync(out));
  return { stderr: run.stderr, metrics };
}
