// The one MLflow parent run of a sweep, created once however many workers (on however many machines) start at once.
import { UserError } from '../errors.ts';
import type { MlflowClient } from '../tracking/mlflow-client.ts';
import { EXPERIMENT_KIND_TAGS } from '../tracking/mlflow-ui.ts';

export const PARENT_ROLE_TAG = 'vae.sweep_role';
export const SWEEP_ID_TAG = 'vae.sweep_id';

export interface ParentRun {
  experimentId: string;
  runId: string;
  artifactUri: string;
}

export interface ParentRunRequest {
  experiment: string;
  sweepId: string;
  runName: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  /** How long a worker that lost the race waits for the winner's run to appear. */
  waitMs?: number;
}

/**
 * Finds the sweep's parent run, or creates it when this caller wins the race. No file lock can guard workers on
 * different machines, and MLflow has no conditional run creation; what it does have is experiment creation by name,
 * which succeeds for exactly one caller (the rest get RESOURCE_ALREADY_EXISTS). So the caller that creates the
 * experiment `vae-sweep-lock-<sweep-id>` creates the parent run; the others poll for a run tagged with the sweep id
 * (bounded). Once the parent exists the winner deletes the lock, so it leaves the user's experiment list; MLflow
 * keeps a deleted experiment's name taken (until `mlflow gc`), so a late worker still loses the race, and by then it
 * finds the parent first anyway, as a sweep resumed later does.
 */
export async function ensureParentRun(client: MlflowClient, request: ParentRunRequest): Promise<ParentRun> {
  const experimentId = await client.getOrCreateExperiment(request.experiment, EXPERIMENT_KIND_TAGS);
  const existing = await findParentRun(client, experimentId, request.sweepId);
  if (existing) return existing;
  const lock = `vae-sweep-lock-${request.sweepId}`;
  const lockId = await client.createExperimentOnce(lock, {
    'mlflow.note.content': 'vae-lab sweep lock: whoever created this experiment creates the sweep parent run',
  });
  if (lockId) {
    const info = await client.createRun({
      experimentId,
      runName: request.runName,
      startTime: Date.now(),
      tags: { ...request.tags, [SWEEP_ID_TAG]: request.sweepId, [PARENT_ROLE_TAG]: 'parent' },
    });
    await client.logBatch(info.run_id, { params: Object.entries(request.params).map(([key, value]) => ({ key, value })) });
    await client.deleteExperiment(lockId);
    return { experimentId, runId: info.run_id, artifactUri: info.artifact_uri };
  }
  const deadline = Date.now() + (request.waitMs ?? 60_000);
  for (let pause = 100; Date.now() < deadline; pause = Math.min(pause * 2, 2000)) {
    await new Promise((done) => setTimeout(done, pause));
    const found = await findParentRun(client, experimentId, request.sweepId);
    if (found) return found;
  }
  throw new UserError(
    `sweep ${request.sweepId}: another worker holds the MLflow experiment vae-sweep-lock-${request.sweepId} but no parent run appeared; ` +
      'if that worker died before creating it, delete that experiment for good (mlflow experiments delete, then mlflow gc) and start again',
  );
}

export async function findParentRun(client: MlflowClient, experimentId: string, sweepId: string): Promise<ParentRun | null> {
  const { runs } = await client.searchRuns({
    experimentIds: [experimentId],
    filter: `tags.\`${SWEEP_ID_TAG}\` = '${sweepId}' AND tags.\`${PARENT_ROLE_TAG}\` = 'parent'`,
    // Only the lock's winner creates one, but if a store ever held two, every worker would agree on the oldest.
    orderBy: ['attributes.start_time ASC'],
    maxResults: 1,
  });
  const run = runs[0];
  return run ? { experimentId, runId: run.info.run_id, artifactUri: run.info.artifact_uri } : null;
}
