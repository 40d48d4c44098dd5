// Training never waits for the tracking server: the background queue that sends a run's MLflow requests (unit tests
// with fake sends), then real `vae run`s against a server that accepts connections and never answers, completed
// afterwards by `vae sync` (real CLI, real MNIST, a real MLflow server behind a proxy that can start swallowing).
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { MetricPoint } from '../src/record/entries.ts';
import { RunRecord } from '../src/record/run-record.ts';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import { LOG_BATCH_LIMITS } from '../src/tracking/mlflow-log-batch.ts';
import { LoggingQueue } from '../src/tracking/mlflow-queue.ts';
import type { Metric } from '../src/tracking/mlflow-records.ts';
import { vae } from './support/cli.ts';
import { scratchFolders } from './support/scratch.ts';
import { startTestMlflow, testClient, type TestMlflow } from './support/mlflow-server.ts';
import { startSwallowingProxy } from './support/swallowing-proxy.ts';
import { onlyRunDir, TINY_RUN } from './support/run-record.ts';

const point = (step: number): Metric => ({ key: 'train/loss', value: 1 / step, step, timestamp: 1_750_000_000_000 + step });
const never = () => new Promise<void>(() => {});

/** A queue whose metric sends are recorded (and may be held with `hold`); `stops` collects what it said on stopping. */
function recordingQueue(options: { capacity?: number; hold?: boolean } = {}) {
  const sent: string[] = [];
  const stops: string[] = [];
  const queue = new LoggingQueue({
    capacity: options.capacity,
    sendMetrics: async (points) => {
      sent.push(`metrics ${points[0].step}..${points.at(-1)!.step}`);
      if (options.hold) await never();
    },
    onStop: (reason) => stops.push(reason),
  });
  return { queue, sent, stops };
}

describe('LoggingQueue', () => {
  it('sends in order, merging consecutive metric points into batches within the log-batch limit', async () => {
    const { queue, sent, stops } = recordingQueue();
    const job = (name: string) => async () => void sent.push(name);
    queue.add(job('create run'));
    for (let step = 1; step <= 1500; step++) queue.addMetrics([point(step)]);
    queue.add(job('tags'));
    queue.addMetrics([point(1501), point(1502)]);
    queue.add(job('end'));
    await queue.drain(60_000);
    // The first batch is taken as soon as the worker reaches it: everything queued by then, at most the limit.
    assert.equal(LOG_BATCH_LIMITS.metrics, 1000);
    assert.deepEqual(sent, ['create run', 'metrics 1..1000', 'metrics 1001..1500', 'tags', 'metrics 1501..1502', 'end']);
    assert.deepEqual(stops, []);
  });

  it('stops at the first job that fails for good, says why once, and drops the rest', async () => {
    const { queue, sent, stops } = recordingQueue();
    queue.add(async () => {
      throw new Error('cannot reach MLflow');
    });
    queue.addMetrics([point(1)]);
    await queue.drain(60_000);
    queue.addMetrics([point(2)]);
    await queue.drain(60_000);
    assert.deepEqual(sent, []);
    assert.deepEqual(stops, ['cannot reach MLflow']);
    assert.equal(queue.signal.aborted, true);
  });

  it('stops when full: a server that never answers costs the caller nothing and holds no more than the capacity', async () => {
    const { queue, sent, stops } = recordingQueue({ capacity: 3, hold: true });
    for (let step = 1; step <= 10; step++) queue.addMetrics([point(step)]);
    // The first job is in flight (held), three wait, the fifth finds the queue full.
    assert.deepEqual(sent, ['metrics 1..1']);
    assert.deepEqual(stops, ['3 logging calls were waiting for the server']);
    assert.equal(queue.signal.aborted, true, 'the request in flight is cancelled');
    await queue.drain(60_000);
  });

  it('gives up at the end after the bounded wait, cancelling the request in flight', async () => {
    const { queue, stops } = recordingQueue({ hold: true });
    queue.addMetrics([point(1)]);
    queue.add(async () => {});
    await queue.drain(10);
    assert.deepEqual(stops, ['2 logging calls were still queued 0.01 s after the run ended']);
    assert.equal(queue.signal.aborted, true);
  });
});

/** A TCP server that accepts every connection and never says a word. */
async function startSilentServer() {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    sockets,
    close: () => new Promise<void>((done) => (sockets.forEach((s) => s.destroy()), server.close(() => done()))),
  };
}

const SPEC = 'experiments/vae-mnist.yaml';
const OFF_LINE = /^\[mlflow\] MLflow logging is off for the rest of this run \((.*)\).*$/gm;
// The end of a run waits 2 s for the queue instead of 30, so a hung server costs this file little time.
const SHORT_DRAIN = { VAE_MLFLOW_DRAIN_SECONDS: '2' };

let server: TestMlflow;
let client: MlflowClient;
const runsDir = scratchFolders('vae-outage-');

/** Every local metric point is in the MLflow run exactly once, and the run ended as its record says. */
async function assertCompletedOnce(runDir: string, runId: string): Promise<void> {
  const record = new RunRecord(runDir);
  const run = await client.getRun(runId);
  assert.equal(run.info.status, record.readRun().status);
  const order = (a: MetricPoint, b: MetricPoint) => a.step - b.step || a.timestamp - b.timestamp || a.value - b.value;
  const local = new Map<string, MetricPoint[]>();
  for (const p of record.readMetrics()) local.set(p.key, [...(local.get(p.key) ?? []), p]);
  for (const [key, points] of local) {
    const remote = (await client.getMetricHistory(runId, key)).map(({ key, value, step, timestamp }) => ({ key, value, step, timestamp }));
    assert.deepEqual(remote.sort(order), points.sort(order), `history of ${key}`);
  }
  assert.deepEqual(Object.fromEntries(run.data.params.map((p) => [p.key, p.value])), record.readParams());
  const modelId = record.readMlflow()?.model_id;
  assert.equal(modelId && (await client.findLoggedModel(modelId))?.status, 'LOGGED_MODEL_READY');
}

/** Syncs twice: the first completes the run, the second finds nothing left to send. */
async function syncTwice(runDir: string, trackingUri: string): Promise<string> {
  const env = { MLFLOW_TRACKING_URI: trackingUri };
  const first = await vae(['sync', runDir], { env });
  assert.equal(first.code, 0, first.stderr);
  const runId = new RunRecord(runDir).readMlflow()!.run_id;
  const second = await vae(['sync', runDir], { env });
  assert.equal(second.code, 0, second.stderr);
  assert.ok(second.stderr.includes(`MLflow run ${runId}; uploaded 0 params, 0 metric points, 0 artifacts`), second.stderr);
  return runId;
}

/** The run trained to its end and recorded everything locally, and said once that MLflow is off and how to sync. */
function assertFinishedLocally(result: { code: number | null; stderr: string }, runDir: string): string {
  assert.equal(result.code, 0, result.stderr);
  const offline = [...result.stderr.matchAll(OFF_LINE)];
  assert.equal(offline.length, 1, result.stderr);
  assert.ok(result.stderr.includes(`npx vae sync ${runDir}`), result.stderr);
  const record = new RunRecord(runDir);
  assert.equal(record.readRun().status, 'FINISHED');
  assert.equal(record.readSummary()!.status, 'FINISHED');
  const epochs = record
    .readMetrics()
    .filter((p) => p.key === 'train/loss')
    .map((p) => p.step);
  assert.deepEqual(epochs, [1, 2]);
  assert.ok(record.artifacts().includes('model/decoder/weights.bin'));
  return offline[0][1];
}

describe('a tracking server that stops answering', { timeout: 300_000 }, () => {
  before(async () => {
    server = await startTestMlflow();
    client = testClient(server);
  });

  after(async () => {
    await server?.dispose();
  });

  it('after the run was created: training runs to its end, the process exits, and vae sync completes the run once', async () => {
    const proxy = await startSwallowingProxy(server.url, { swallowAfter: 'mlflow/runs/create' });
    try {
      const dir = runsDir();
      const result = await vae(['run', SPEC, ...TINY_RUN, '--runs-dir', dir], { env: { MLFLOW_TRACKING_URI: proxy.url, ...SHORT_DRAIN } });
      const runDir = onlyRunDir(dir);
      const reason = assertFinishedLocally(result, runDir);
      // The queue was still stuck on a request the proxy holds when training had ended.
      assert.ok(proxy.held.length >= 1, 'a request was held');
      assert.match(reason, /still queued 2 s after the run ended/);
      const runId = new RunRecord(runDir).readMlflow()!.run_id;
      assert.equal((await client.getRun(runId)).info.status, 'RUNNING', 'MLflow never heard the end');

      proxy.forward();
      assert.equal(await syncTwice(runDir, proxy.url), runId, 'sync completes the same MLflow run');
      await assertCompletedOnce(runDir, runId);
    } finally {
      await proxy.close();
    }
  });

  it('from the first request: the run ends in bounded time with no MLflow run, and vae sync creates it once', async () => {
    const silent = await startSilentServer();
    try {
      const dir = runsDir();
      const result = await vae(['run', SPEC, ...TINY_RUN, '--runs-dir', dir], { env: { MLFLOW_TRACKING_URI: silent.url, ...SHORT_DRAIN } });
      const runDir = onlyRunDir(dir);
      assertFinishedLocally(result, runDir);
      assert.ok(silent.sockets.length >= 1, 'the run connected to the silent server');
      assert.equal(new RunRecord(runDir).readMlflow(), null);

      const runId = await syncTwice(runDir, server.url);
      await assertCompletedOnce(runDir, runId);
    } finally {
      await silent.close();
    }
  });
});
