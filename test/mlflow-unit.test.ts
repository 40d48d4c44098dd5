// The MLflow client's own logic against a fake fetch: retries, chunking, auth, error shapes, image naming.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { withFileLock } from '../src/tracking/file-lock.ts';
import { steppedImage, steppedImagePaths, thumbnailPng } from '../src/tracking/images.ts';
import { MlflowClient, proxiedArtifactPath } from '../src/tracking/mlflow-client.ts';
import { MlflowApiError, MlflowUnreachableError } from '../src/tracking/mlflow-errors.ts';
import { authorizationFromEnv } from '../src/tracking/mlflow-http.ts';
import { chunkLogBatch, LOG_BATCH_LIMITS } from '../src/tracking/mlflow-log-batch.ts';
import type { Metric } from '../src/tracking/mlflow-records.ts';
import { localMlflow, resolveTrackingUri } from '../src/tracking/mlflow-server.ts';
import { mlflowLinks } from '../src/tracking/mlflow-ui.ts';
import { freePort } from './support/mlflow-server.ts';
import { scratchFolders } from './support/scratch.ts';

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that plays back `replies` in order (an Error is thrown like a refused connection) and records calls. */
function fakeFetch(replies: (Response | Error)[]): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const reply = replies.shift();
    if (!reply) throw new Error('fake fetch: no reply left');
    if (reply instanceof Error) throw reply;
    return reply;
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

function client(fetch: typeof globalThis.fetch, sleeps: number[] = [], authorization?: string): MlflowClient {
  return new MlflowClient({
    trackingUri: 'http://mlflow.test/',
    authorization,
    fetch,
    retry: { retries: 3, backoffMs: 10, maxBackoffMs: 40, jitterMs: 5 },
    sleep: async (ms) => void sleeps.push(ms),
  });
}

const metric = (i: number): Metric => ({ key: 'train/loss', value: i / 3, step: i, timestamp: 1_700_000_000_000 + i });

describe('MlflowClient retries', () => {
  it('retries 503 and honours Retry-After, then succeeds', async () => {
    const { fetch, calls } = fakeFetch([
      json(503, {}, { 'retry-after': '2' }),
      json(200, { run: { info: { run_id: 'r', start_time: '5' } } }),
    ]);
    const sleeps: number[] = [];
    const run = await client(fetch, sleeps).getRun('r');
    assert.equal(run.info.start_time, 5);
    assert.equal(calls.length, 2);
    assert.deepEqual(sleeps, [2000]);
  });

  it('backs off exponentially with jitter on refused connections and gives up with MlflowUnreachableError', async () => {
    const refused = () => new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    const { fetch, calls } = fakeFetch([refused(), refused(), refused(), refused()]);
    const sleeps: number[] = [];
    await assert.rejects(client(fetch, sleeps).getRun('r'), (err: unknown) => {
      assert.ok(err instanceof MlflowUnreachableError);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
    assert.equal(calls.length, 4);
    assert.equal(sleeps.length, 3);
    [10, 20, 40].forEach((base, i) => assert.ok(sleeps[i] >= base && sleeps[i] < base + 5, `sleep ${i} = ${sleeps[i]}`));
  });

  for (const status of [408, 429, 500, 502, 504]) {
    it(`retries ${status}`, async () => {
      const { fetch, calls } = fakeFetch([json(status, {}), json(200, {})]);
      await client(fetch).updateRun('r', 'FINISHED', 1);
      assert.equal(calls.length, 2);
    });
  }

  it('does not retry a 400 and carries error_code and message', async () => {
    const { fetch, calls } = fakeFetch([json(400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'bad key' })]);
    await assert.rejects(client(fetch).updateRun('r', 'FINISHED'), (err: unknown) => {
      assert.ok(err instanceof MlflowApiError);
      assert.equal(err.status, 400);
      assert.equal(err.errorCode, 'INVALID_PARAMETER_VALUE');
      assert.match(err.message, /bad key/);
      return true;
    });
    assert.equal(calls.length, 1);
  });

  it('gives up at once, without retrying, when its signal aborts a request that hangs', async () => {
    const abort = new AbortController();
    let calls = 0;
    // A server that never answers: the request ends only when its signal aborts.
    const hanging = ((_url: string, init: RequestInit) => {
      calls += 1;
      return new Promise((_, fail) => init.signal!.addEventListener('abort', () => fail(init.signal!.reason)));
    }) as unknown as typeof fetch;
    const pending = client(hanging).withSignal(abort.signal).getRun('r');
    abort.abort();
    await assert.rejects(pending, MlflowUnreachableError);
    assert.equal(calls, 1);
  });
});

describe('getOrCreateExperiment', () => {
  it('re-reads the experiment when another process created it first', async () => {
    const { fetch, calls } = fakeFetch([
      json(404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no' }),
      json(400, { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'exists' }),
      json(200, { experiment: { experiment_id: '7', name: 'e' } }),
    ]);
    assert.equal(await client(fetch).getOrCreateExperiment('e'), '7');
    assert.deepEqual(
      calls.map((c) => c.init.method),
      ['GET', 'POST', 'GET'],
    );
  });
});

describe('authorization', () => {
  it('prefers basic auth over a token, else uses the bearer token, else nothing', () => {
    const basic = authorizationFromEnv({ MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p', MLFLOW_TRACKING_TOKEN: 't' });
    assert.equal(basic, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(authorizationFromEnv({ MLFLOW_TRACKING_TOKEN: 't' }), 'Bearer t');
    assert.equal(authorizationFromEnv({ MLFLOW_TRACKING_USERNAME: 'u' }), undefined);
  });

  it('turns credentials in the tracking URI into basic auth and drops them from the URI', async () => {
    const { fetch, calls } = fakeFetch([json(200, {})]);
    const c = new MlflowClient({ trackingUri: 'https://u%40x:p%3Aw@mlflow.example/', fetch });
    assert.equal(c.trackingUri, 'https://mlflow.example');
    await c.updateRun('r', 'FINISHED');
    assert.equal(calls[0].url, 'https://mlflow.example/api/2.0/mlflow/runs/update');
    assert.equal((calls[0].init.headers as Record<string, string>).Authorization, `Basic ${Buffer.from('u@x:p:w').toString('base64')}`);
  });

  it('sends the header on every request and keeps it out of error messages', async () => {
    const { fetch, calls } = fakeFetch([json(401, { error_code: 'UNAUTHENTICATED', message: 'nope' })]);
    const err = await client(fetch, [], 'Bearer s3cret')
      .getRun('r')
      .catch((e: Error) => e);
    assert.equal((calls[0].init.headers as Record<string, string>).Authorization, 'Bearer s3cret');
    assert.ok(err instanceof MlflowApiError);
    assert.doesNotMatch(`${err.message} ${err.stack}`, /s3cret/);
  });
});

describe('log-batch chunking', () => {
  it('splits 2500 metrics, 150 params and 250 tags within every limit, keeping order', () => {
    const metrics = Array.from({ length: 2500 }, (_, i) => metric(i));
    const params = Array.from({ length: 150 }, (_, i) => ({ key: `p.${i}`, value: String(i) }));
    const tags = Array.from({ length: 250 }, (_, i) => ({ key: `t.${i}`, value: String(i) }));
    const chunks = chunkLogBatch({ metrics, params, tags });
    for (const c of chunks) {
      assert.ok(c.metrics.length <= LOG_BATCH_LIMITS.metrics);
      assert.ok(c.params.length <= LOG_BATCH_LIMITS.params);
      assert.ok(c.tags.length <= LOG_BATCH_LIMITS.tags);
      assert.ok(c.metrics.length + c.params.length + c.tags.length <= LOG_BATCH_LIMITS.items);
    }
    assert.deepEqual(
      chunks.flatMap((c) => c.metrics),
      metrics,
    );
    assert.deepEqual(
      chunks.flatMap((c) => c.params),
      params,
    );
    assert.deepEqual(
      chunks.flatMap((c) => c.tags),
      tags,
    );
  });

  it('keeps each request body under 1 MB', async () => {
    const params = Array.from({ length: 100 }, (_, i) => ({ key: `p.${i}`, value: 'x'.repeat(6000) }));
    const tags = Array.from({ length: 100 }, (_, i) => ({ key: `t.${i}`, value: 'y'.repeat(8000) }));
    const { fetch, calls } = fakeFetch(Array.from({ length: 10 }, () => json(200, {})));
    await client(fetch).logBatch('r', { params, tags });
    assert.ok(calls.length >= 2);
    for (const c of calls) assert.ok(Buffer.byteLength(c.init.body as string) <= LOG_BATCH_LIMITS.bytes);
    const sent = calls.map((c) => JSON.parse(c.init.body as string) as { params: unknown[]; tags: unknown[] });
    assert.equal(
      sent.reduce((n, b) => n + b.params.length + b.tags.length, 0),
      200,
    );
  });

  it('sends non-finite metric values as proto3 JSON strings', async () => {
    const { fetch, calls } = fakeFetch([json(200, {})]);
    await client(fetch).logBatch('r', { metrics: [{ ...metric(0), value: NaN }] });
    assert.equal(JSON.parse(calls[0].init.body as string).metrics[0].value, 'NaN');
  });

  it('sends nothing for an empty batch', async () => {
    const { fetch, calls } = fakeFetch([]);
    await client(fetch).logBatch('r', {});
    assert.equal(calls.length, 0);
  });
});

describe('artifacts', () => {
  it('maps a proxied run root and a path onto the upload URL path', () => {
    assert.equal(
      proxiedArtifactPath('mlflow-artifacts:/3/abc/artifacts', 'images/a+step+1.png'),
      '3/abc/artifacts/images/a%2Bstep%2B1.png',
    );
    assert.equal(proxiedArtifactPath('mlflow-artifacts://host:5000/3/abc/artifacts', 'images/a.png'), '3/abc/artifacts/images/a.png');
    assert.throws(() => proxiedArtifactPath('s3://bucket/3/abc/artifacts', 'a'), /not served by the tracking server/);
    assert.throws(() => proxiedArtifactPath('mlflow-artifacts:/3/abc/artifacts', '../x'), /\.\./);
  });
});

describe('stepped images', () => {
  it('names files the way mlflow.log_image(key, step) does', () => {
    const image = steppedImage('val/recon', 3, 1_700_000_000_123);
    const paths = steppedImagePaths(image);
    assert.match(
      paths.image,
      /^images\/val~recon\+step\+3\+timestamp\+1700000000123\+[g-z][0-9a-f]{7}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.png$/,
    );
    assert.equal(paths.thumbnail, paths.image.replace(/\.png$/, '+compressed.png'));
    assert.throws(() => steppedImage('bad:key', 0), /image key/);
  });

  it('shrinks large images to a 256 px thumbnail and leaves small ones alone', () => {
    const big = new PNG({ width: 560, height: 280 });
    big.data.fill(200);
    const thumb = PNG.sync.read(thumbnailPng(PNG.sync.write(big)));
    assert.deepEqual([thumb.width, thumb.height], [256, 128]);
    assert.equal(thumb.data[0], 200);
    const small = PNG.sync.write(new PNG({ width: 28, height: 28 }));
    assert.equal(thumbnailPng(small), small);
  });
});

describe('resolveTrackingUri', () => {
  it('uses MLFLOW_TRACKING_URI when it is set', async () => {
    assert.equal(
      await resolveTrackingUri({ runsDir: 'runs', env: { MLFLOW_TRACKING_URI: 'https://mlflow.example' } }),
      'https://mlflow.example',
    );
  });

  it('says in one line how to enable MLflow when there is neither a server nor a venv', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vae-no-venv-'));
    const lines: string[] = [];
    try {
      const env = { VAE_MLFLOW_PORT: String(await freePort()) };
      assert.equal(await resolveTrackingUri({ runsDir: join(root, 'runs'), env, root, log: (line) => lines.push(line) }), null);
    } finally {
      rmSync(root, { recursive: true });
    }
    assert.equal(lines.length, 1);
    assert.match(lines[0], /npm run setup:mlflow/);
  });
});

describe('localMlflow', () => {
  it('is the store <runs-dir>/mlflow on 127.0.0.1:5000, or on VAE_MLFLOW_PORT', () => {
    assert.deepEqual(localMlflow('/data/runs', {}), { storeDir: '/data/runs/mlflow', url: 'http://127.0.0.1:5000' });
    assert.equal(localMlflow('runs', { VAE_MLFLOW_PORT: '5123' }).url, 'http://127.0.0.1:5123');
    assert.throws(
      () => localMlflow('runs', { VAE_MLFLOW_PORT: 'http' }),
      /^LocalServerError: VAE_MLFLOW_PORT=http: expected a port number from 1 to 65535$/,
    );
  });
});

describe('mlflowLinks', () => {
  it('opens every page in the model-training view', () => {
    const links = mlflowLinks('http://127.0.0.1:5000/');
    assert.equal(links.experiments(), 'http://127.0.0.1:5000/#/experiments?workflowType=machine_learning');
    assert.equal(links.experiment('3'), 'http://127.0.0.1:5000/#/experiments/3?workflowType=machine_learning');
    assert.equal(links.run('3', 'abc'), 'http://127.0.0.1:5000/#/experiments/3/runs/abc?workflowType=machine_learning');
    assert.equal(links.model('3', 'm-1'), 'http://127.0.0.1:5000/#/experiments/3/models/m-1?workflowType=machine_learning');
  });
});

describe('withFileLock', () => {
  const lockFolder = scratchFolders('vae-lock-');

  it('lets one holder in at a time', async () => {
    const path = join(lockFolder(), 'lock');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        withFileLock(
          path,
          async () => {
            most = Math.max(most, ++inside);
            await new Promise((done) => setTimeout(done, 20));
            inside -= 1;
          },
          { timeoutMs: 5000, pollMs: 5 },
        ),
      ),
    );
    assert.equal(most, 1);
    assert.equal(existsSync(path), false, 'released');
  });

  it('takes over a lock whose owner died, and waits no longer than asked for a live one', async () => {
    const path = join(lockFolder(), 'lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(path, `${dead}\n`);
    assert.equal(await withFileLock(path, async () => 'mine', { timeoutMs: 1000 }), 'mine');
    writeFileSync(path, `${process.pid}\n`);
    await assert.rejects(
      withFileLock(path, async () => 'never', { timeoutMs: 200 }),
      new RegExp(`still held by process ${process.pid}`),
    );
  });
});
