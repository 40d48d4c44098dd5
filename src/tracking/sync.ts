// Uploads a local run record to MLflow, completing whatever the live tracker did not send. Everything already on the
// server is left alone, so syncing again is harmless.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { readMetricPoints, RECORD_FILES } from './local.ts';
import type { MlflowClient } from './mlflow-client.ts';
import type { Metric, MlflowRunStatus, Run } from './mlflow-records.ts';
import { logModelToMlflow } from './logged-model.ts';
import { readMlflowIdentity, writeMlflowIdentity } from './mlflow-tracker.ts';
import { EXPERIMENT_KIND_TAGS } from './mlflow-ui.ts';
import type { DatasetRecord, MetricPoint } from './tracker.ts';

export interface SyncResult {
  runId: string;
  experimentId: string;
  /** False when the run recorded in mlflow.json was found on the server and completed. */
  created: boolean;
  params: number;
  metricPoints: number;
  artifacts: number;
}

interface RunJson {
  run_id: string;
  experiment: string;
  run_name: string;
  status: MlflowRunStatus;
  start_time: number;
  end_time: number | null;
}

export async function syncRun(runDir: string, client: MlflowClient): Promise<SyncResult> {
  const record = readJson<RunJson>(runDir, 'run.json');
  const params = readJson<Record<string, string>>(runDir, 'params.json');
  const tags = readJson<Record<string, string>>(runDir, 'tags.json');

  const { run, created } = await findOrCreateRun(runDir, record, tags, client);
  const runId = run.info.run_id;

  const logged = new Set(run.data.params.map((p) => p.key));
  const newParams = Object.entries(params).filter(([key]) => !logged.has(key));
  await client.logBatch(runId, { params: newParams.map(([key, value]) => ({ key, value })) });
  await client.setTags(runId, tags);

  const newPoints = await missingMetricPoints(runDir, runId, client);
  await client.logBatch(runId, { metrics: newPoints });

  const artifacts = await uploadMissingArtifacts(runDir, run, client);
  await logMissingDatasets(runDir, run, client);
  if (record.status === 'FINISHED') await logMissingModel(runDir, record, params, run, client);

  if (record.status !== 'RUNNING') await client.updateRun(runId, record.status, record.end_time ?? undefined);
  return { runId, experimentId: run.info.experiment_id, created, params: newParams.length, metricPoints: newPoints.length, artifacts };
}

/** The run named in mlflow.json when this server still has it; otherwise a new one, recorded in mlflow.json. */
async function findOrCreateRun(runDir: string, record: RunJson, tags: Record<string, string>, client: MlflowClient): Promise<{ run: Run; created: boolean }> {
  const identity = readMlflowIdentity(runDir);
  if (identity && identity.tracking_uri === client.trackingUri) {
    const run = await client.findRun(identity.run_id);
    if (run && run.info.lifecycle_stage !== 'deleted') return { run, created: false };
  }
  const experimentId = await client.getOrCreateExperiment(record.experiment, EXPERIMENT_KIND_TAGS);
  const info = await client.createRun({ experimentId, runName: record.run_name, startTime: record.start_time, tags });
  writeMlflowIdentity(runDir, { tracking_uri: client.trackingUri, experiment_id: experimentId, run_id: info.run_id });
  return { run: await client.getRun(info.run_id), created: true };
}

/** Local points minus those already in each key's history, compared on step, timestamp and value (as multisets). */
async function missingMetricPoints(runDir: string, runId: string, client: MlflowClient): Promise<Metric[]> {
  const byKey = new Map<string, MetricPoint[]>();
  for (const point of readMetricPoints(runDir)) {
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
async function uploadMissingArtifacts(runDir: string, run: Run, client: MlflowClient): Promise<number> {
  const remote = new Map((await client.listAllArtifacts(run.info.run_id)).map((f) => [f.path, f.file_size]));
  let uploaded = 0;
  for (const path of localArtifacts(runDir)) {
    const size = statSync(join(runDir, path)).size;
    if (remote.get(path) === size) continue;
    await client.uploadArtifact(run.info.artifact_uri, path, readFileSync(join(runDir, path)));
    uploaded += 1;
  }
  return uploaded;
}

/** Logs the datasets.json entries whose name and digest the run's inputs do not hold yet. */
async function logMissingDatasets(runDir: string, run: Run, client: MlflowClient): Promise<void> {
  const path = join(runDir, 'datasets.json');
  // Records written before datasets.json existed, or runs stopped before loading data, have none.
  if (!existsSync(path)) return;
  const logged = new Set(run.inputs.dataset_inputs.map((d) => `${d.dataset.name}|${d.dataset.digest}`));
  const missing = (JSON.parse(readFileSync(path, 'utf8')) as DatasetRecord[]).filter((d) => !logged.has(`${d.name}|${d.digest}`));
  // The same source_type the live tracker sends, so a synced run looks like one logged live.
  if (missing.length > 0) await client.logInputs(run.info.run_id, missing.map((d) => ({ ...d, source_type: 'local' })));
}

/**
 * A finished run's model/ as its logged model, unless mlflow.json names one the server has: what the live tracker
 * does at the end of a run, for a run that could not reach MLflow then.
 */
async function logMissingModel(runDir: string, record: RunJson, params: Record<string, string>, run: Run, client: MlflowClient): Promise<void> {
  const identity = readMlflowIdentity(runDir)!;
  if (identity.model_id && (await client.findLoggedModel(identity.model_id))) return;
  const files = localArtifacts(runDir).filter((path) => path.startsWith('model/')).map((path) => ({ localPath: join(runDir, path), path: path.slice('model/'.length) }));
  if (files.length === 0) return;
  const metrics = readMetricPoints(runDir).filter((p) => p.key.startsWith('test/'));
  const step = Math.max(0, ...metrics.map((p) => p.step));
  const modelId = await logModelToMlflow(client, { experimentId: run.info.experiment_id, runId: run.info.run_id, params }, { name: record.run_name, files, metrics, step });
  writeMlflowIdentity(runDir, { ...identity, model_id: modelId });
}

/** checkpoint/ and its temporary neighbours (src/train/checkpoint.ts): state to resume from, not artifacts. */
const CHECKPOINT_PATH = /^checkpoint(\.(old|tmp)-\d+)?\//;

/** Posix paths of every file in the run directory that is not part of the record itself. */
export function localArtifacts(runDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const rel = relative(runDir, full).split(sep).join('/');
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && !RECORD_FILES.includes(rel) && !rel.endsWith('.tmp') && !CHECKPOINT_PATH.test(rel)) out.push(rel);
    }
  };
  walk(runDir);
  return out.sort();
}

function readJson<T>(runDir: string, name: string): T {
  return JSON.parse(readFileSync(join(runDir, name), 'utf8')) as T;
}
