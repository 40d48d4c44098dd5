import { dirname, resolve } from 'node:path';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { ensureLocalServer, localMlflow, MlflowSetupError, SETUP_HINT, stopLocalServer } from '../tracking/mlflow-server.ts';
import { mlflowLinks } from '../tracking/mlflow-ui.ts';
import { syncRun } from '../tracking/sync.ts';
import { NotARunRecordError } from '../record/file-system-errors.ts';
import { RunRecord } from '../record/run-record.ts';
import { say } from './say.ts';

/** `vae sync <run-dir>...`: uploads local run records completely; running it again adds nothing. */
export async function syncCommand(runDirs: string[]): Promise<void> {
  // Every folder is checked before any server is contacted (or the local one started) for a typo'd path.
  for (const runDir of runDirs) {
    if (!new RunRecord(runDir).exists())
      throw new NotARunRecordError(`${runDir}: not a run record; runs live in runs/<experiment>/<run-id>`);
  }
  // Without MLFLOW_TRACKING_URI, the local store of the runs folder that holds the records (<runs-dir>/<experiment>/<run-id>).
  const uri = process.env.MLFLOW_TRACKING_URI ?? (await ensureLocalServer(localMlflow(dirname(dirname(resolve(runDirs[0]))))));
  if (!uri) throw new MlflowSetupError(`MLflow is not set up: run ${SETUP_HINT}, or set MLFLOW_TRACKING_URI`);
  for (const runDir of runDirs) {
    const r = await syncRun(runDir, MlflowClient.fromEnv(uri));
    say(
      `${runDir}: MLflow run ${r.runId}${r.created ? ' (created)' : ''}; uploaded ${r.params} params, ${r.metricPoints} metric points, ${r.artifacts} artifacts`,
    );
  }
}

/** `vae ui`: the MLflow UI on the local store <runs-dir>/mlflow, started if it is not running, with a link per experiment. */
export async function uiCommand(options: { stop: boolean; runsDir: string }): Promise<void> {
  const local = localMlflow(options.runsDir);
  if (options.stop) {
    const stopped = await stopLocalServer(local);
    say(
      stopped > 0
        ? `stopped the MLflow server on ${local.storeDir}${stopped > 1 ? ` (${stopped} of them)` : ''}`
        : `no MLflow server was running on ${local.storeDir}`,
    );
    return;
  }
  const url = await ensureLocalServer(local);
  if (!url) throw new MlflowSetupError(`MLflow is not set up: run ${SETUP_HINT}`);
  const links = mlflowLinks(url);
  console.log(`MLflow UI: ${links.experiments()}  (stop it with: npx vae ui --stop)`);
  // MLflow's own Default experiment holds nothing of vae-lab's.
  for (const experiment of (await MlflowClient.fromEnv(url).listExperiments()).filter((e) => e.experiment_id !== '0')) {
    console.log(`  ${experiment.name}: ${links.experiment(experiment.experiment_id)}`);
  }
}
