// Against a real MLflow server (one for this file): the client, the live tracker, offline fallback and sync.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import type { MetricPoint } from '../src/record/entries.ts';
import { RUN_ARTIFACTS, RunRecord } from '../src/record/run-record.ts';
import { LOGGED_IMAGES_TAG, steppedImage } from '../src/tracking/images.ts';
import { LocalRunRecord } from '../src/tracking/local.ts';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import type { Run } from '../src/tracking/mlflow-records.ts';
import { MlflowTracker } from '../src/tracking/mlflow-tracker.ts';
import { syncRun } from '../src/tracking/sync.ts';
import { TrackerFanout, type Tracker } from '../src/tracking/tracker.ts';
import { freePort, startTestMlflow, testClient, type TestMlflow } from './support/mlflow-server.ts';

let server: TestMlflow;
let client: MlflowClient;
let scratch: string;
const fastRetry = { retries: 1, backoffMs: 10, maxBackoffMs: 10, jitterMs: 0 };

before(async () => {
  server = await startTestMlflow();
  client = testClient(server);
  scratch = mkdtempSync(join(tmpdir(), 'vae-mlflow-runs-'));
});

after(async () => {
  await server?.dispose();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const uniqueName = (what: string) => `vae-test-${what}-${randomUUID().slice(0, 8)}`;

function pngFile(dir: string, name: string, width: number, height: number): string {
  const png = new PNG({ width, height });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([i % 251, 0, 0, 255], i);
  const path = join(dir, name);
  writeFileSync(path, PNG.sync.write(png));
  return path;
}

const PARAMS = { 'model.latent_dim': '2', 'train.epochs': '3', 'model.encoder.hidden': '[400]', 'data.dataset': 'mnist' };
const KEYS = ['train/loss', 'val/loss'];

function epochPoints(epoch: number): MetricPoint[] {
  return KEYS.map((key, k) => ({
    key,
    value: 100 / (epoch + 1) + k + 0.125,
    step: epoch,
    timestamp: 1_750_000_000_000 + epoch * 1000 + k,
  }));
}

/** What `vae run` does, in miniature: params, three epochs of metrics, two stepped images, a text artifact. */
async function fakeRun(tracker: Tracker, experiment: string, hooks: { afterEpoch?: (epoch: number) => Promise<void> } = {}): Promise<void> {
  await tracker.start({
    experiment,
    runName: 'fake-run',
    params: PARAMS,
    tags: { 'mlflow.source.type': 'LOCAL', 'vae.backend': 'cpu' },
    startTime: Date.now(),
  });
  const spec = join(scratch, `${randomUUID()}.yaml`);
  writeFileSync(spec, 'name: fake-run\nmodel: { latent_dim: 2 }\n');
  await tracker.logArtifact(spec, RUN_ARTIFACTS.writtenSpec);
  const png = pngFile(scratch, `${randomUUID()}.png`, 300, 60);
  for (let epoch = 0; epoch < 3; epoch++) {
    await tracker.logMetrics(epochPoints(epoch));
    if (epoch > 0) await tracker.logImage(png, steppedImage('val/recon', epoch));
    await hooks.afterEpoch?.(epoch);
  }
  await tracker.end('FINISHED', Date.now());
}

/** The tracker creates its MLflow run in the background; a test that breaks something after that waits for it. */
async function runCreated(mlflow: MlflowTracker): Promise<void> {
  while (!mlflow.runId) await new Promise((done) => setTimeout(done, 20));
}

function newRunDir(): string {
  return join(scratch, randomUUID());
}

function tagMap(run: Run): Record<string, string> {
  return Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
}

/** The MLflow run holds exactly what the local record holds: params, every point once, every artifact once. */
async function assertMirrors(runDir: string, runId: string): Promise<void> {
  const run = await client.getRun(runId);
  assert.deepEqual(Object.fromEntries(run.data.params.map((p) => [p.key, p.value])), PARAMS);
  for (const key of KEYS) {
    const history = (await client.getMetricHistory(runId, key)).sort((a, b) => a.step - b.step);
    const expected = [0, 1, 2].map((e) => epochPoints(e).find((p) => p.key === key)!);
    assert.deepEqual(history, expected, `history of ${key}`);
  }
  const remote = (await client.listAllArtifacts(runId)).map((f) => f.path).sort();
  assert.deepEqual(remote, new RunRecord(runDir).artifacts());
  assert.equal(tagMap(run)[LOGGED_IMAGES_TAG], 'True');
  assert.equal(tagMap(run)['mlflow.runName'], 'fake-run');
  assert.equal(run.info.run_name, 'fake-run');
  assert.equal(run.info.status, 'FINISHED');
  assert.ok(run.info.end_time && run.info.end_time >= run.info.start_time);
}

describe('MlflowClient against a real server', () => {
  it('round-trips an experiment, a run, batches over the limits and artifacts', async () => {
    const name = uniqueName('client');
    const experimentId = await client.getOrCreateExperiment(name);
    assert.equal(await client.getOrCreateExperiment(name), experimentId);
    const info = await client.createRun({ experimentId, runName: 'round-trip', startTime: Date.now(), tags: { 'vae.test': 'yes' } });
    assert.match(info.artifact_uri, /^mlflow-artifacts:/);

    const params = Array.from({ length: 150 }, (_, i) => ({ key: `p.${i}`, value: String(i) }));
    const metrics = Array.from({ length: 2500 }, (_, i) => ({
      key: 'train/loss',
      value: 1 / (i + 1),
      step: i,
      timestamp: 1_750_000_000_000 + i,
    }));
    await client.logBatch(info.run_id, { params, metrics });
    const history = await client.getMetricHistory(info.run_id, 'train/loss');
    assert.equal(history.length, 2500);
    assert.deepEqual(
      history.sort((a, b) => a.step - b.step),
      metrics,
    );
    const run = await client.getRun(info.run_id);
    assert.equal(run.data.params.length, 150);
    assert.equal(tagMap(run)['mlflow.runName'], 'round-trip');

    await client.logInputs(info.run_id, [
      { name: 'mnist', digest: 'a'.repeat(36), source_type: 'local', source: 'mnist-data', context: 'training' },
    ]);
    await client.uploadArtifact(info.artifact_uri, 'notes/hello world.txt', Buffer.from('hello'));
    await client.uploadArtifact(info.artifact_uri, 'notes.json', Buffer.from('{}'));
    assert.deepEqual(await client.listAllArtifacts(info.run_id), [
      { path: 'notes/hello world.txt', is_dir: false, file_size: 5 },
      { path: 'notes.json', is_dir: false, file_size: 2 },
    ]);

    await client.updateRun(info.run_id, 'FINISHED', Date.now());
    const found = await client.searchRuns({ experimentIds: [experimentId], filter: "tags.`vae.test` = 'yes'" });
    assert.deepEqual(
      found.runs.map((r) => [r.info.run_id, r.info.status]),
      [[info.run_id, 'FINISHED']],
    );
  });
});

describe('MlflowTracker beside the local record', () => {
  it('mirrors params, metrics, stepped images and artifacts, and records the MLflow identity', async () => {
    const runDir = newRunDir();
    const warnings: string[] = [];
    const mlflow = new MlflowTracker(client, runDir, { warn: (line) => warnings.push(line) });
    await fakeRun(new TrackerFanout([new LocalRunRecord(runDir, 'r1'), mlflow]), uniqueName('tracker'));

    assert.deepEqual(warnings, []);
    const identity = new RunRecord(runDir).readMlflow();
    assert.deepEqual(identity, { tracking_uri: server.url, experiment_id: identity?.experiment_id, run_id: mlflow.runId });
    await assertMirrors(runDir, mlflow.runId!);

    const images = new RunRecord(runDir).artifacts().filter((p) => p.startsWith('images/'));
    assert.equal(images.length, 4);
    for (const path of images)
      assert.match(path, /^images\/val~recon\+step\+[12]\+timestamp\+\d+\+[g-z][0-9a-f-]{35}(\+compressed)?\.png$/);

    // Syncing a run the tracker already mirrored sends nothing.
    const again = await syncRun(runDir, client);
    assert.deepEqual(again, {
      runId: mlflow.runId,
      experimentId: identity!.experiment_id,
      created: false,
      params: 0,
      metricPoints: 0,
      artifacts: 0,
    });
  });

  it('records an error message with a FAILED run', async () => {
    const runDir = newRunDir();
    const mlflow = new MlflowTracker(client, runDir);
    const tracker = new TrackerFanout([new LocalRunRecord(runDir, 'r2'), mlflow]);
    await tracker.start({ experiment: uniqueName('failed'), runName: 'boom', params: {}, tags: {}, startTime: Date.now() });
    await tracker.end('FAILED', Date.now(), 'out of memory');
    const run = await client.getRun(mlflow.runId!);
    assert.equal(run.info.status, 'FAILED');
    assert.equal(tagMap(run)['vae.error'], 'out of memory');
    assert.equal(new RunRecord(runDir).readTags()['vae.error'], 'out of memory');
  });

  it('ends the MLflow run FAILED even when the local record can no longer be written', async () => {
    const runDir = newRunDir();
    const mlflow = new MlflowTracker(client, runDir);
    const tracker = new TrackerFanout([new LocalRunRecord(runDir, 'r3'), mlflow]);
    await tracker.start({ experiment: uniqueName('disk-gone'), runName: 'disk', params: {}, tags: {}, startTime: Date.now() });
    await runCreated(mlflow);
    // The run folder turns into a file: every write into it fails, as on a disk that died.
    rmSync(runDir, { recursive: true });
    writeFileSync(runDir, '');
    await assert.rejects(tracker.end('FAILED', Date.now(), 'disk gone'), { code: 'ENOTDIR' });
    const run = await client.getRun(mlflow.runId!);
    assert.equal(run.info.status, 'FAILED');
    assert.equal(tagMap(run)['vae.error'], 'disk gone');
  });
});

describe('no server, then sync', () => {
  it('goes offline after one warning, keeps the local record complete, and sync uploads it once', async () => {
    const runDir = newRunDir();
    const down = new MlflowClient({ trackingUri: `http://127.0.0.1:${await freePort()}`, retry: fastRetry });
    const warnings: string[] = [];
    const mlflow = new MlflowTracker(down, runDir, { warn: (line) => warnings.push(line) });
    await fakeRun(new TrackerFanout([new LocalRunRecord(runDir, 'r3'), mlflow]), uniqueName('offline'));

    assert.equal(mlflow.isOffline, true);
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0], /MLflow logging is off/);
    assert.ok(warnings[1].includes(`npx vae sync ${runDir}`), 'the end of the run says how to upload it');
    assert.equal(new RunRecord(runDir).readMlflow(), null);
    assert.equal(new RunRecord(runDir).readMetrics().length, 6);
    assert.equal(new RunRecord(runDir).readRun().status, 'FINISHED');

    const first = await syncRun(runDir, client);
    assert.equal(first.created, true);
    assert.deepEqual([first.params, first.metricPoints, first.artifacts], [4, 6, 5]);
    assert.equal(new RunRecord(runDir).readMlflow()?.run_id, first.runId);
    await assertMirrors(runDir, first.runId);

    const second = await syncRun(runDir, client);
    assert.deepEqual(second, { ...first, created: false, params: 0, metricPoints: 0, artifacts: 0 });
    await assertMirrors(runDir, first.runId);
  });
});

describe('server stopped mid-run', () => {
  it('finishes the run locally, and sync after a restart completes the same MLflow run without duplicates', async (t) => {
    if (!server.owned) return t.skip('needs a server this test started (MLFLOW_TEST_TRACKING_URI is set)');
    const runDir = newRunDir();
    const flaky = new MlflowClient({ trackingUri: server.url, retry: fastRetry });
    const warnings: string[] = [];
    const mlflow = new MlflowTracker(flaky, runDir, { warn: (line) => warnings.push(line) });
    try {
      await fakeRun(new TrackerFanout([new LocalRunRecord(runDir, 'r4'), mlflow]), uniqueName('midrun'), {
        afterEpoch: async (epoch) => {
          if (epoch !== 0) return;
          await runCreated(mlflow);
          await server.stop();
        },
      });
    } finally {
      await server.start();
    }
    assert.equal(warnings.length, 2, warnings.join('\n'));
    const runId = mlflow.runId!;
    assert.equal(new RunRecord(runDir).readMlflow()?.run_id, runId);
    assert.equal((await client.getRun(runId)).info.status, 'RUNNING');

    const first = await syncRun(runDir, client);
    assert.deepEqual([first.runId, first.created], [runId, false]);
    // At least what was queued after the stop: epochs 1 and 2 (2 points and an image with its thumbnail each).
    assert.ok(first.metricPoints >= 4 && first.artifacts >= 4, JSON.stringify(first));
    await assertMirrors(runDir, runId);
    const second = await syncRun(runDir, client);
    assert.deepEqual([second.metricPoints, second.artifacts], [0, 0]);
    await assertMirrors(runDir, runId);
  });
});
