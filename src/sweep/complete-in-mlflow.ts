// A trial's `vae run` stops mirroring to MLflow at the first request that fails for good, and carries on with its
// local record (the source of truth). The sweep then uploads that record, so MLflow shows every trial as it ended
// instead of leaving it RUNNING with part of its metrics.
import { RunRecord } from '../record/run-record.ts';
import type { MlflowClient } from '../tracking/mlflow-client.ts';
import { syncRun } from '../tracking/sync.ts';
import type { SweepRecord } from './record.ts';

export interface Completion {
  /** The trial's MLflow run after the upload (a new one when the server had never heard of it). */
  runId: string;
  /** What was done, in one line. */
  line: string;
}

/** Undefined when MLflow already has the trial as it ended, or the trial never got as far as a run record. */
export async function completeTrialInMlflow(runDir: string, client: MlflowClient): Promise<Completion | undefined> {
  const record = new RunRecord(runDir);
  const status = record.readRun().status;
  if (status === 'RUNNING') return undefined;
  const identity = record.readMlflow();
  const inMlflow = identity?.tracking_uri === client.trackingUri ? await client.findRun(identity.run_id) : null;
  if (inMlflow?.info.status === status) return undefined;
  const synced = await syncRun(runDir, client);
  return {
    runId: synced.runId,
    line: `MLflow had this run as ${inMlflow?.info.status ?? 'missing'}; uploaded the local record to run ${synced.runId} (${synced.metricPoints} metric points, ${synced.artifacts} artifacts were missing)`,
  };
}

/**
 * Of `unfinishedInMlflow`, the trials MLflow lacks as finished, those this runs folder saw finish: their task lost the
 * tracking server and could not upload when it ended. `vae sweep summarize`, or a task of the same trial submitted
 * again, uploads them from their local records, so such a trial is neither missing from the table nor run twice. One
 * line per trial uploaded.
 */
export async function completeLostTrials(unfinishedInMlflow: string[], sweep: SweepRecord, client: MlflowClient): Promise<string[]> {
  const outcomes = sweep.outcomes();
  const lines: string[] = [];
  for (const id of unfinishedInMlflow) {
    const outcome = outcomes.get(id);
    if (outcome?.status !== 'FINISHED' || !outcome.run_dir || !new RunRecord(outcome.run_dir).exists()) continue;
    const completion = await completeTrialInMlflow(outcome.run_dir, client);
    if (completion) lines.push(`trial ${outcome.index} (${id}) finished on its node while MLflow was out of reach: ${completion.line}`);
  }
  return lines;
}
