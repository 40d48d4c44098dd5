// What `vae report` reads: runs, from local records (a run folder, an experiment folder, a sweep folder) or from
// MLflow (a run id, or a sweep's parent run id for all its children), each as its params and final metrics.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.ts';
import { RunRecord } from '../record/run-record.ts';
import { childPerTrial, childRuns } from '../sweep/children.ts';
import { PARENT_ROLE_TAG } from '../sweep/parent.ts';
import { SweepRecord } from '../sweep/record.ts';
import type { MlflowClient } from '../tracking/mlflow-client.ts';
import type { Run } from '../tracking/mlflow-records.ts';

export interface ReportedRun {
  /** Where it was read: a run folder or `mlflow:<run id>`. */
  origin: string;
  status: string;
  /** The resolved spec, flattened to dotted keys, as logged. */
  params: Record<string, string>;
  metrics: Record<string, number>;
}

/** A sweep's parent run named among the inputs, where the report is logged too. */
export interface ParentRef {
  trackingUri: string;
  runId: string;
}

export interface ReportInputs {
  runs: ReportedRun[];
  parents: ParentRef[];
}

const MLFLOW_RUN_ID = /^[0-9a-f]{32}$/;

/** `client`: the MLflow server to read run ids from, asked for only when an input is one. */
export async function readReportInputs(inputs: readonly string[], client: () => Promise<MlflowClient | null>): Promise<ReportInputs> {
  const read: ReportInputs = { runs: [], parents: [] };
  for (const input of inputs) {
    if (existsSync(input)) readLocal(input, read);
    else if (MLFLOW_RUN_ID.test(input)) await readMlflow(input, await client(), read);
    else throw new UsageError(`${input}: neither a run, sweep or experiment folder nor an MLflow run id`);
  }
  return read;
}

function readLocal(dir: string, read: ReportInputs): void {
  const sweep = new SweepRecord(dir);
  if (sweep.exists()) {
    const parent = sweep.parentRun();
    if (parent) read.parents.push({ trackingUri: parent.tracking_uri, runId: parent.parent_run_id });
    for (const { trial_id, run_dir } of sweep.outcomes().values()) {
      if (!run_dir) continue;
      if (!new RunRecord(run_dir).exists()) {
        throw new UsageError(
          `${dir}: trial ${trial_id}'s run folder ${run_dir} has no run.json. Sweeps recorded before 2026-11-28 name their run folders from the directory they ran in: run vae report from there`,
        );
      }
      read.runs.push(localRun(run_dir));
    }
    return;
  }
  if (new RunRecord(dir).exists()) {
    read.runs.push(localRun(dir));
    return;
  }
  const runs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && new RunRecord(join(dir, e.name)).exists());
  if (runs.length === 0) throw new UsageError(`${dir}: no run records in it (a run folder has run.json; a sweep folder has sweep.json)`);
  for (const entry of runs) read.runs.push(localRun(join(dir, entry.name)));
}

function localRun(dir: string): ReportedRun {
  const record = new RunRecord(dir);
  return { origin: dir, status: record.readRun().status, params: record.readParams(), metrics: record.readSummary()?.metrics ?? {} };
}

async function readMlflow(runId: string, client: MlflowClient | null, read: ReportInputs): Promise<void> {
  if (!client) throw new UsageError(`${runId} looks like an MLflow run id: set MLFLOW_TRACKING_URI to the server that has it`);
  const run = await client.getRun(runId);
  const isParent = run.data.tags.some((t) => t.key === PARENT_ROLE_TAG && t.value === 'parent');
  if (!isParent) {
    read.runs.push(mlflowRun(run));
    return;
  }
  read.parents.push({ trackingUri: client.trackingUri, runId });
  const children = await childRuns(client, { experimentId: run.info.experiment_id, runId, artifactUri: run.info.artifact_uri });
  // A trial run again (after a failure) is a second child; it counts once, as in the sweep's own summary.
  read.runs.push(...[...childPerTrial(children).values()].map(mlflowRun));
}

function mlflowRun(run: Run): ReportedRun {
  return {
    origin: `mlflow:${run.info.run_id}`,
    status: run.info.status,
    params: Object.fromEntries(run.data.params.map((p) => [p.key, p.value])),
    metrics: Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value])),
  };
}
