// The local MLflow server that `vae run` starts when MLFLOW_TRACKING_URI is unset: runs started together start it
// once, `vae ui` serves the same store, and `vae ui --stop` leaves no server process and nothing on the port.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import { vae } from './support/cli.ts';
import { freePort } from './support/mlflow-server.ts';
import { TINY_RUN } from './support/run-record.ts';

const root = mkdtempSync(join(tmpdir(), 'vae-local-server-'));
const runsDir = join(root, 'runs');
const store = join(runsDir, 'mlflow');

/** Pids of every process whose command line names the store (the server; its workers are found by group below). */
function processesNaming(text: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) ? [Number(pid)] : [];
      } catch {
        return [];
      }
    });
}

/** Pids of every process in a process group. */
function processesInGroup(group: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === group ? [Number(pid)] : [];
      } catch {
        return [];
      }
    });
}

const listening = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });

describe('the local MLflow server', { timeout: 300_000 }, () => {
  let env: NodeJS.ProcessEnv;
  let port: number;

  after(async () => {
    // Whatever happened above, no server outlives this file.
    await vae(['ui', '--stop', '--runs-dir', runsDir], { env });
    rmSync(root, { recursive: true, force: true });
  });

  it('starts once for 4 runs started together with no server; vae ui finds it; vae ui --stop leaves nothing', async () => {
    port = await freePort();
    env = { MLFLOW_TRACKING_URI: '', VAE_MLFLOW_PORT: String(port) };
    const url = `http://127.0.0.1:${port}`;
    const runs = await Promise.all(
      [1, 2, 3, 4].map((seed) => vae(['run', 'experiments/vae-mnist.yaml', ...TINY_RUN, `seed=${seed}`, '--runs-dir', runsDir], { env })),
    );
    for (const r of runs) {
      assert.equal(r.code, 0, r.stderr);
      // TensorFlow's native logging may come first.
      const announced = r.stderr.split('\n').find((line) => line.startsWith('run '));
      assert.ok(announced?.endsWith(` (MLflow: ${url}/#/experiments?workflowType=machine_learning)`), announced);
      assert.match(
        r.stderr,
        new RegExp(`\\nView run vae-mnist at: ${url}/#/experiments/\\d+/runs/[0-9a-f]{32}\\?workflowType=machine_learning\\n`),
      );
    }
    const servers = processesNaming(`sqlite:///${join(store, 'mlflow.db')}`);
    assert.equal(servers.length, 1, `one mlflow server on the store, found pids ${servers.join(', ')}`);
    const { pid } = JSON.parse(readFileSync(join(store, 'server.json'), 'utf8')) as { pid: number };
    assert.deepEqual(servers, [pid], 'the recorded pid is the server');
    assert.equal(existsSync(join(store, 'server.lock')), false, 'the start lock is released');

    const client = MlflowClient.fromEnv(url);
    const experiment = (await client.getExperimentByName('vae-mnist'))!;
    assert.equal((await client.searchRuns({ experimentIds: [experiment.experiment_id] })).runs.length, 4, 'all four runs in the one store');

    const ui = await vae(['ui', '--runs-dir', runsDir], { env });
    assert.equal(ui.code, 0, ui.stderr);
    assert.deepEqual(ui.stdout.trimEnd().split('\n'), [
      `MLflow UI: ${url}/#/experiments?workflowType=machine_learning  (stop it with: npx vae ui --stop)`,
      `  vae-mnist: ${url}/#/experiments/${experiment.experiment_id}?workflowType=machine_learning`,
    ]);
    assert.deepEqual(processesNaming(`sqlite:///${join(store, 'mlflow.db')}`), [pid], 'vae ui reuses the server');

    const group = processesInGroup(pid);
    assert.ok(group.length >= 2, `the server and its uvicorn process (${group.join(', ')})`);
    const stop = await vae(['ui', '--stop', '--runs-dir', runsDir], { env });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stderr, `stopped the MLflow server on ${store}\n`);
    assert.equal(await listening(port), false, `nothing listens on ${port}`);
    assert.deepEqual(processesNaming(store), [], 'no process names the store');
    assert.deepEqual(processesInGroup(pid), [], 'no process of the server is left');
    assert.equal(existsSync(join(store, 'server.json')), false);

    const again = await vae(['ui', '--stop', '--runs-dir', runsDir], { env });
    assert.equal(again.stderr, `no MLflow server was running on ${store}\n`);
  });
});
