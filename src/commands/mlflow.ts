import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { ensureLocalServer, SETUP_HINT, stopLocalServer } from '../tracking/mlflow-server.ts';
import { syncRun } from '../tracking/sync.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

export class MlflowSetupError extends Error {}

async function trackingUri(): Promise<string> {
  const uri = process.env.MLFLOW_TRACKING_URI ?? (await ensureLocalServer());
  if (!uri) throw new MlflowSetupError(`MLflow is not set up: run ${SETUP_HINT}, or set MLFLOW_TRACKING_URI`);
  return uri;
}

/** `vae sync <run-dir>...`: uploads local run records completely; running it again adds nothing. */
export async function syncCommand(runDirs: string[]): Promise<void> {
  // Every folder is checked before any server is contacted (or the local one started) for a typo'd path.
  for (const runDir of runDirs) {
    if (!existsSync(join(runDir, 'run.json'))) throw new MlflowSetupError(`${runDir}: not a run record (no run.json); runs live in runs/<experiment>/<run-id>`);
  }
  const uri = await trackingUri();
  for (const runDir of runDirs) {
    const r = await syncRun(runDir, MlflowClient.fromEnv(uri));
    say(`${runDir}: MLflow run ${r.runId}${r.created ? ' (created)' : ''}; uploaded ${r.params} params, ${r.metricPoints} metric points, ${r.artifacts} artifacts`);
  }
}

/** `vae ui`: the MLflow UI on the local store under runs/mlflow, started if it is not running. */
export async function uiCommand(options: { stop: boolean }): Promise<void> {
  if (options.stop) {
    say((await stopLocalServer()) ? 'stopped the local MLflow server' : 'no local MLflow server was running');
    return;
  }
  const url = await ensureLocalServer();
  if (!url) throw new MlflowSetupError(`MLflow is not set up: run ${SETUP_HINT}`);
  console.log(`MLflow UI: ${url}  (stop it with: npx vae ui --stop)`);
}
