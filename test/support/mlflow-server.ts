// One real MLflow server per test file: MLFLOW_TEST_TRACKING_URI when set, else a throwaway one from .venv.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowClient } from '../../src/tracking/mlflow-client.ts';
import { mlflowExecutable, SETUP_HINT, startServer, type MlflowServer } from '../../src/tracking/mlflow-server.ts';

export interface TestMlflow {
  url: string;
  /** False for a server given by MLFLOW_TEST_TRACKING_URI, which tests must not stop. */
  owned: boolean;
  /** Stops an owned server, keeping its store so start() brings the same data back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops an owned server and deletes its store. */
  dispose(): Promise<void>;
}

/** A client of the test server that gives up within seconds, not minutes, when a test has stopped the server. */
export function testClient(server: TestMlflow): MlflowClient {
  return new MlflowClient({ trackingUri: server.url, retry: { retries: 3, backoffMs: 200, maxBackoffMs: 1000, jitterMs: 100 } });
}

export async function startTestMlflow(): Promise<TestMlflow> {
  const external = process.env.MLFLOW_TEST_TRACKING_URI;
  if (external) {
    const refuse = async () => {
      throw new Error('cannot stop or start the server given by MLFLOW_TEST_TRACKING_URI');
    };
    return { url: external.replace(/\/+$/, ''), owned: false, stop: refuse, start: refuse, dispose: async () => {} };
  }
  const executable = mlflowExecutable();
  if (!executable) throw new Error(`MLflow tests need .venv/bin/mlflow: run ${SETUP_HINT} (or set MLFLOW_TEST_TRACKING_URI)`);
  const storeDir = mkdtempSync(join(tmpdir(), 'vae-mlflow-test-'));
  const port = await freePort();
  const launch = () => startServer({ port, storeDir, executable, workers: 1, logFile: join(storeDir, 'server.log') });
  let server: MlflowServer | null = await launch();
  const url = server.url;
  const stop = async () => {
    await server?.stop();
    server = null;
  };
  return {
    url,
    owned: true,
    stop,
    start: async () => {
      server ??= await launch();
    },
    dispose: async () => {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}
