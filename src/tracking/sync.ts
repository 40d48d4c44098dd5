// Uploads a local run record to MLflow, completing whatever the live tracker did not send. Everything already on the
// server is left alone, so syncing again is harmless.
import { readFileSync, statSync } from 'node:fs';
import type { MetricPoint } from '../record/entries.ts';
import { RUN_ARTIFACTS, RunRecord, type RunJson } from '../record/run-record.ts';
import type { MlflowClient } from './mlflow-client.ts';
import type { Metric, Run } from './mlflow-records.ts';
import { logModelToMlflow } from './logged-model.ts';
import { EXPERIMENT_KIND_TAGS } from './mlflow-ui.ts';

export interface SyncResult {
  runId: string;
  experimentId: string;
  /** False when the run named in the record's MLflow identity was found on the server and completed. */
  created: boolean;
  params: number;
  metricPoints: number;
  artifacts: number;
}

export async function syncRun(runDir: string, client: MlflowClient): Promise<SyncResult> {
  const folder = new RunRecord(runDir);
  const record = folder.readRun();
  const params = folder.readParams();
  const tags = folder.readTags();

  const { run, created } = await findOrCreateRun(folder, record, tags, client);
  const runId = run.info.run_id;

  const logged = new Set(run.data.params.map((p) => p.key));
  const newParams = Object.entries(params).filter(([key]) => !logged.has(key));
  await client.logBatch(runId, { params: newParams.map(([key, value]) => ({ key, value })) });
  await client.setTags(runId, tags);

  const newPoints = await missingMetricPoints(folder, runId, client);
  await client.logBatch(runId, { metrics: newPoints });

  const artifacts = await uploadMissingArtifacts(folder, run, client);
  await logMissingDatasets(folder, run, client);
  if (record.status === 'FINISHED') await logMissingModel(folder, record, params, run, client);

  if (record.status !== 'RUNNING') await client.updateRun(runId, record.status, record.end_time ?? undefined);
  return { runId, experimentId: run.info.experiment_id, created, params: newParams.length, metricPoints: newPoints.length, artifacts };
}

/**
 * The tag every MLflow run of vae-lab carries from its creation: the id of its local run folder. It finds the run even
 * when the process that created it died before it could write the MLflow identity into the folder.
 */
export const LOCAL_RUN_TAG = 'vae.local_run_id';

/**
 * The run the record's MLflow identity names, when this server still has it; else the one created for this folder
 * whose identity never reached it; otherwise a new one, recorded there.
 */
async function findOrCreateRun(
  folder: RunRecord,
  record: RunJson,
  tags: Record<string, string>,
  client: MlflowClient,
): Promise<{ run: Run; created: boolean }> {
  const identity = folder.readMlflow();
  if (identity && identity.tracking_uri === client.trackingUri) {
    const run = await client.findRun(identity.run_id);
    if (run && run.info.lifecycle_stage !== 'deleted') return { run, created: false };
  }
  const experimentId = await client.getOrCreateExperiment(record.experiment, EXPERIMENT_KIND_TAGS);
  const filter = `tags.\`${LOCAL_RUN_TAG}\` = '${folder.runId}'`;
  const [orphan] = (await client.searchRuns({ experimentIds: [experimentId], filter })).runs;
  if (orphan) {
    folder.writeMlflow({ tracking_uri: client.trackingUri, experiment_id: experimentId, run_id: orphan.info.run_id });
    return { run: orphan, created: false };
  }
  const info = await client.createRun({ experimentId, runName: record.run_name, startTime: record.start_time, tags });
  folder.writeMlflow({ tracking_uri: client.trackingUri, experiment_id: experimentId, run_id: info.run_id });
  return { run: await client.getRun(info.run_id), created: true };
}

/** Local points minus those already in each key's history, compared on step, timestamp and value (as multisets). */
async function missingMetricPoints(folder: RunRecord, runId: string, client: MlflowClient): Promise<Metric[]> {
  const byKey = new Map<string, MetricPoint[]>();
  for (const point of folder.readMetrics()) {
    const points = byKey.get(point.key) ?? [];
    points.push(point);
    byKey.set(point.key, points);
  }
  const missing: Metric[] = [];
  for (const [key, points] of byKey) {
    const remaining = new Map<string, number>();
    for (const m of await client.getMetricHistory(runId, key)) {
      const id = pointId(m);
      remaining.set(id, (remaining.get(id) ?? 0) + 1);
    }
    for (const p of points) {
      const id = pointId(p);
      const left = remaining.get(id) ?? 0;
      if (left > 0) remaining.set(id, left - 1);
      else missing.push(p);
    }
  }
  return missing;
}

function pointId(m: { step: number; timestamp: number; value: number }): string {
  return `${m.step}|${m.timestamp}|${String(m.value)}`;
}

/** Uploads artifact files whose path is not listed on the server or whose size differs; returns how many. */
async function uploadMissingArtifacts(folder: RunRecord, run: Run, client: MlflowClient): Promise<number> {
  const remote = new Map((await client.listAllArtifacts(run.info.run_id)).map((f) => [f.path, f.file_size]));
  let uploaded = 0;
  for (const path of folder.artifacts()) {
    const size = statSync(folder.path(path)).size;
    if (remote.get(path) === size) continue;
    await client.uploadArtifact(run.info.artifact_uri, path, readFileSync(folder.path(path)));
    uploaded += 1;
  }
  return uploaded;
}

/** Logs the record's datasets whose name and digest the run's inputs do not hold yet. */
async function logMissingDatasets(folder: RunRecord, run: Run, client: MlflowClient): Promise<void> {
  const logged = new Set(run.inputs.dataset_inputs.map((d) => `${d.dataset.name}|${d.dataset.digest}`));
  const missing = folder.readDatasets().filter((d) => !logged.has(`${d.name}|${d.digest}`));
  // The same source_type the live tracker sends, so a synced run looks like one logged live.
  if (missing.length > 0)
    await client.logInputs(
      run.info.run_id,
      missing.map((d) => ({ ...d, source_type: 'local' })),
    );
}

/**
 * A finished run's model as its logged model, unless the record's MLflow identity names one the server has: what the
 * live tracker does at the end of a run, for a run that could not reach MLflow then.
 */
async function logMissingModel(
  folder: RunRecord,
  record: RunJson,
  params: Record<string, string>,
  run: Run,
  client: MlflowClient,
): Promise<void> {
  const identity = folder.readMlflow()!;
  if (identity.model_id && (await client.findLoggedModel(identity.model_id))) return;
  const modelPrefix = `${RUN_ARTIFACTS.model}/`;
  const files = folder
    .artifacts()
    .filter((path) => path.startsWith(modelPrefix))
    .map((path) => ({ localPath: folder.path(path), path: path.slice(modelPrefix.length) }));
  if (files.length === 0) return;
  const metrics = folder.readMetrics().filter((p: MetricPoint) => p.key.startsWith('test/'));
  const step = Math.max(0, ...metrics.map((p) => p.step));
  const modelId = await logModelToMlflow(
    client,
    { experimentId: run.info.experiment_id, runId: run.info.run_id, params },
    { name: record.run_name, files, metrics, step },
  );
  folder.writeMlflow({ ...identity, model_id: modelId });
}
