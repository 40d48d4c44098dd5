// `vae run` and `vae sync` as a user runs them (real CLI, real MNIST, one real MLflow server for this file): what
// reaches MLflow live, after SIGTERM, with no server at all, and with a server that goes away mid-run.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MetricPoint } from '../src/record/entries.ts';
import { RUN_ARTIFACTS, RunRecord } from '../src/record/run-record.ts';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import type { Metric, Run } from '../src/tracking/mlflow-records.ts';
import { vae } from './support/cli.ts';
import { scratchFolders } from './support/scratch.ts';
import { freePort, startTestMlflow, testClient, type TestMlflow } from './support/mlflow-server.ts';
import { onlyRunDir, TINY_RUN } from './support/run-record.ts';
import { signalPastStep } from './support/signals.ts';

const SPEC = 'experiments/vae-mnist.yaml';
const OFF_LINE = /^\[mlflow\] .*MLflow logging is off.*$/gm;

let server: TestMlflow;
let client: MlflowClient;

before(async () => {
  server = await startTestMlflow();
  client = testClient(server);
});

after(async () => {
  await server?.dispose();
});

const runsDir = scratchFolders('vae-mlflow-run-');

const tags = (run: Run) => Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
const byStepThenTime = (a: MetricPoint | Metric, b: MetricPoint | Metric) =>
  a.step - b.step || a.timestamp - b.timestamp || a.value - b.value;

function localSeries(runDir: string): Map<string, MetricPoint[]> {
  const series = new Map<string, MetricPoint[]>();
  for (const p of new RunRecord(runDir).readMetrics()) series.set(p.key, [...(series.get(p.key) ?? []), p]);
  return series;
}

/**
 * The MLflow run holds exactly the local record: its params and tags, every metric point once (no more, no fewer),
 * every artifact at its size, the dataset input, and the final status.
 */
async function assertMirrorsRecord(runDir: string, runId: string, status = 'FINISHED'): Promise<Run> {
  const run = await client.getRun(runId);
  assert.equal(run.info.status, status);
  assert.equal(run.info.experiment_id, (await client.getExperimentByName('vae-mnist'))?.experiment_id);
  assert.deepEqual(Object.fromEntries(run.data.params.map((p) => [p.key, p.value])), new RunRecord(runDir).readParams());
  const remoteTags = tags(run);
  for (const [key, value] of Object.entries(new RunRecord(runDir).readTags())) assert.equal(remoteTags[key], value, `tag ${key}`);

  const local = localSeries(runDir);
  assert.deepEqual(run.data.metrics.map((m) => m.key).sort(), [...local.keys()].sort(), 'the same metric keys');
  for (const [key, points] of local) {
    const history = (await client.getMetricHistory(runId, key)).sort(byStepThenTime);
    assert.deepEqual(history, [...points].sort(byStepThenTime), `history of ${key}`);
  }

  const remote = await client.listAllArtifacts(runId);
  assert.deepEqual(remote.map((f) => f.path).sort(), new RunRecord(runDir).artifacts());
  for (const f of remote) assert.equal(f.file_size, statSync(join(runDir, f.path)).size, `size of ${f.path}`);

  const summary = new RunRecord(runDir).readSummary()!;
  assert.deepEqual(
    run.inputs.dataset_inputs.map(({ dataset, tags: t }) => [
      dataset.name,
      dataset.digest,
      dataset.source_type,
      t.find((x) => x.key === 'mlflow.data.context')?.value,
    ]),
    [['mnist', summary.data.digest, 'local', 'training']],
  );
  return run;
}

describe('vae run logging to a real MLflow server', () => {
  it('mirrors a tiny run live: params, tags, metric histories, artifacts, stepped images, dataset', { timeout: 60_000 }, async () => {
    const dir = runsDir();
    const result = await vae(['run', SPEC, ...TINY_RUN, '--runs-dir', dir], { env: { MLFLOW_TRACKING_URI: server.url } });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /\[mlflow\]/, 'no MLflow warnings when the server is up');
    const runDir = onlyRunDir(dir);
    const identity = new RunRecord(runDir).readMlflow();
    assert.equal(identity?.tracking_uri, server.url);

    const run = await assertMirrorsRecord(runDir, identity!.run_id);
    assert.equal(run.info.run_name, 'vae-mnist');
    const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
    assert.deepEqual([params['model.latent_dim'], params['train.epochs'], params['data.limit']], ['20', '2', '320']);
    const t = tags(run);
    assert.equal(t['mlflow.runName'], 'vae-mnist');
    assert.equal(t['mlflow.source.name'], SPEC);
    assert.equal(t['mlflow.loggedImages'], 'True');

    const trainLoss = await client.getMetricHistory(run.info.run_id, 'train/loss');
    const localTrainLoss = new RunRecord(runDir).readMetrics().filter((p) => p.key === 'train/loss');
    assert.deepEqual(trainLoss.map((m) => m.step).sort(), [1, 2], 'one train/loss point per epoch');
    assert.deepEqual(
      trainLoss.sort(byStepThenTime).map((m) => m.value),
      localTrainLoss.map((p) => p.value),
    );
    assert.equal(
      (await client.getMetricHistory(run.info.run_id, 'test/neg_elbo')).length,
      1,
      'linking the model to its metrics logs no second point',
    );
    assert.ok((await client.getMetricHistory(run.info.run_id, 'train/running_loss')).length >= 2);

    const paths = (await client.listAllArtifacts(run.info.run_id)).map((f) => f.path);
    for (const p of [RUN_ARTIFACTS.writtenSpec, ...RunRecord.trainedModelFiles()]) {
      assert.ok(paths.includes(p), `artifact ${p} in ${paths.join(', ')}`);
    }
    // The final sample grid, at images/samples.png or in a folder below images/ (see test/mlflow-ui.test.ts for why).
    assert.ok(
      paths.some((p) => /^images\/(.+\/)?samples\.png$/.test(p)),
      `final samples.png in ${paths.join(', ')}`,
    );
    for (const key of ['samples', 'reconstructions']) {
      for (const step of [1, 2]) {
        const stem = new RegExp(`^images/${key}\\+step\\+${step}\\+timestamp\\+\\d+\\+[g-z][0-9a-f-]{35}`);
        assert.equal(paths.filter((p) => stem.test(p) && p.endsWith('+compressed.png')).length, 1, `${key} thumbnail at step ${step}`);
        assert.equal(paths.filter((p) => stem.test(p) && !p.endsWith('+compressed.png')).length, 1, `${key} image at step ${step}`);
      }
    }

    // The trained model is an MLflow 3 logged model of the run, with the run's params and final metrics.
    const modelId = identity!.model_id!;
    assert.match(modelId, /^m-[0-9a-f]{32}$/);
    assert.ok(
      result.stderr.includes(
        `View model vae-mnist at: ${server.url}/#/experiments/${identity!.experiment_id}/models/${modelId}?workflowType=machine_learning\n`,
      ),
      result.stderr,
    );
    const api = async (path: string) => (await fetch(`${server.url}/api/2.0/mlflow/${path}`)).json();
    const { model } = await api(`logged-models/${modelId}`);
    assert.deepEqual([model.info.name, model.info.status, model.info.source_run_id], ['vae-mnist', 'LOGGED_MODEL_READY', run.info.run_id]);
    assert.deepEqual(
      model.data.params,
      run.data.params
        .slice()
        .sort((a, b) => a.key.localeCompare(b.key))
        .map(({ key, value }) => ({ key, value })),
    );
    const modelMetrics = Object.fromEntries(model.data.metrics.map((m: { key: string; value: number }) => [m.key, m.value]));
    const summary = new RunRecord(runDir).readSummary()!;
    for (const key of ['test/neg_elbo', 'test/iwae_nll', 'test/active_units']) assert.equal(modelMetrics[key], summary.metrics[key], key);
    assert.deepEqual((await api(`runs/get?run_id=${run.info.run_id}`)).run.outputs.model_outputs, [{ model_id: modelId, step: 2 }]);
    const files = await api(`logged-models/${modelId}/artifacts/directories?artifact_directory_path=encoder`);
    assert.deepEqual(files.files.map((f: { path: string }) => f.path).sort(), ['encoder/model.json', 'encoder/weights.bin']);
  });

  it('SIGTERM mid-run exits 143 and marks the MLflow run KILLED', { timeout: 90_000 }, async () => {
    const dir = runsDir();
    const watcher = signalPastStep(dir, 50, 'SIGTERM');
    const result = await vae(['run', SPEC, 'train.epochs=2', '--runs-dir', dir], {
      env: { MLFLOW_TRACKING_URI: server.url },
      onStderr: watcher.onStderr,
    });
    watcher.stop();
    assert.equal(result.code, 143, result.stderr);
    const runDir = onlyRunDir(dir);
    assert.equal(new RunRecord(runDir).readRun().status, 'KILLED');
    const run = await client.getRun(new RunRecord(runDir).readMlflow()!.run_id);
    assert.equal(run.info.status, 'KILLED');
    assert.ok(run.info.end_time && run.info.end_time >= run.info.start_time);
  });

  it('with no server: one warning, a complete local record, and vae sync uploads it once', { timeout: 60_000 }, async () => {
    const dir = runsDir();
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const result = await vae(['run', SPEC, ...TINY_RUN, '--runs-dir', dir], { env: { MLFLOW_TRACKING_URI: nobody } });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr.match(OFF_LINE)?.length, 1, result.stderr);
    // The first request fails over after a short retry (START_RETRY), not the ~35 s of the full policy.
    assert.ok(seconds < 25, `the run took ${seconds} s with no server`);

    const runDir = onlyRunDir(dir);
    assert.ok(result.stderr.includes(`npx vae sync ${runDir}`), 'the warning says how to upload later');
    assert.equal(new RunRecord(runDir).readMlflow(), null);
    assert.equal(new RunRecord(runDir).readRun().status, 'FINISHED');
    assert.equal(new RunRecord(runDir).readSummary()!.status, 'FINISHED');
    assert.equal(new RunRecord(runDir).readDatasets().length, 1);
    assert.deepEqual(
      new RunRecord(runDir)
        .readMetrics()
        .filter((p) => p.key === 'train/loss')
        .map((p) => p.step),
      [1, 2],
    );
    assert.ok(new RunRecord(runDir).artifacts().includes('model/decoder/weights.bin'));

    const env = { MLFLOW_TRACKING_URI: server.url };
    const first = await vae(['sync', runDir], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /MLflow run [0-9a-f]{32} \(created\)/);
    const { run_id: runId, experiment_id: experimentId, model_id: modelId } = new RunRecord(runDir).readMlflow()!;
    await assertMirrorsRecord(runDir, runId);
    // The logged model the live run could not create.
    const models = async () =>
      (
        await (
          await fetch(`${server.url}/api/2.0/mlflow/logged-models/search`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ experiment_ids: [experimentId] }),
          })
        ).json()
      ).models.filter((m: { info: { source_run_id: string } }) => m.info.source_run_id === runId);
    const [model] = await models();
    assert.deepEqual([model.info.model_id, model.info.status], [modelId, 'LOGGED_MODEL_READY']);
    assert.equal(
      model.data.metrics.find((m: { key: string }) => m.key === 'test/neg_elbo').value,
      new RunRecord(runDir).readSummary()!.metrics['test/neg_elbo'],
    );

    const second = await vae(['sync', runDir], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.ok(second.stderr.includes(`MLflow run ${runId}; uploaded 0 params, 0 metric points, 0 artifacts`), second.stderr);
    assert.equal(new RunRecord(runDir).readMlflow()!.run_id, runId);
    await assertMirrorsRecord(runDir, runId);
    assert.equal((await models()).length, 1, 'syncing again logs no second model');
  });

  it(
    'server stopped mid-run: the run finishes locally, and sync after a restart completes the same MLflow run',
    { timeout: 120_000 },
    async (t) => {
      if (!server.owned) return t.skip('needs a server this test started (MLFLOW_TEST_TRACKING_URI is set)');
      const dir = runsDir();
      let stopping: Promise<void> | null = null;
      let stoppedAt = 0;
      let offAt = 0;
      try {
        const result = await vae(['run', SPEC, 'data.limit=1500', 'train.epochs=3', 'train.batch_size=32', '--runs-dir', dir], {
          // Three retries (~7 s) instead of the default five (~35 s measured) keep this test short; same code path.
          env: { MLFLOW_TRACKING_URI: server.url, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '3' },
          onStderr: (text) => {
            if (!stopping && /^epoch 1 \|/m.test(text)) stopping = server.stop().then(() => void (stoppedAt = Date.now()));
            if (!offAt && OFF_LINE.test(text)) offAt = Date.now();
            OFF_LINE.lastIndex = 0;
          },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.ok(stopping, `the run printed its first epoch line: ${result.stderr}`);
        assert.equal(result.stderr.match(OFF_LINE)?.length, 1, result.stderr);
        t.diagnostic(`MLflow went offline ${((offAt - stoppedAt) / 1000).toFixed(1)} s after the server had stopped`);
      } finally {
        await stopping;
        await server.start();
      }

      const runDir = onlyRunDir(dir);
      const runId = new RunRecord(runDir).readMlflow()!.run_id;
      assert.equal(new RunRecord(runDir).readRun().status, 'FINISHED');
      const before = await client.getRun(runId);
      assert.equal(before.info.status, 'RUNNING', 'the server never heard the end of the run');
      assert.ok((await client.getMetricHistory(runId, 'train/loss')).length < 3, 'the server missed some epochs');

      const sync = await vae(['sync', runDir], { env: { MLFLOW_TRACKING_URI: server.url } });
      assert.equal(sync.code, 0, sync.stderr);
      assert.ok(sync.stderr.includes(`MLflow run ${runId}; uploaded 0 params`), sync.stderr);
      assert.equal(new RunRecord(runDir).readMlflow()!.run_id, runId, 'the same MLflow run, completed');
      await assertMirrorsRecord(runDir, runId);
    },
  );

  it('vae sync on a folder that is not a run exits 2 and says so', async () => {
    const dir = runsDir();
    const result = await vae(['sync', dir], { env: { MLFLOW_TRACKING_URI: server.url } });
    assert.equal(result.code, 2, result.stderr);
    assert.ok(result.stderr.includes(`${dir}: not a run record;`), result.stderr);
  });
});
