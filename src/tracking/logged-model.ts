// A run's trained model as an MLflow 3 logged model, through the REST API (see shared/REFERENCE.md).
import { readFileSync } from 'node:fs';
import type { MlflowClient } from './mlflow-client.ts';
import type { ModelRecord } from './tracker.ts';

/**
 * Creates the model (PENDING) with the run's params, uploads its files under the model's own artifact root, marks it
 * READY, records it as an output of the run and links the run's final metrics to it. Returns its id, `m-...`.
 */
export async function logModelToMlflow(
  client: MlflowClient,
  run: { experimentId: string; runId: string; params: Record<string, string> },
  model: ModelRecord,
): Promise<string> {
  const info = await client.createLoggedModel({
    experimentId: run.experimentId,
    name: model.name,
    sourceRunId: run.runId,
    params: run.params,
    tags: { 'vae.format': 'tfjs-layers' },
  });
  try {
    for (const file of model.files) await client.uploadArtifact(info.artifact_uri, file.path, readFileSync(file.localPath));
  } catch (err) {
    // Marked as failed, so the UI does not show a model that has no files as one still being uploaded.
    await client.finalizeLoggedModel(info.model_id, 'LOGGED_MODEL_UPLOAD_FAILED').catch(() => {});
    throw err;
  }
  await client.finalizeLoggedModel(info.model_id, 'LOGGED_MODEL_READY');
  await client.logOutputs(run.runId, [{ modelId: info.model_id, step: model.step }]);
  // The same points as the run's (same key, step, time and value), which MLflow keeps once in the run's history.
  await client.logBatch(run.runId, { metrics: model.metrics.map((m) => ({ ...m, model_id: info.model_id })) });
  return info.model_id;
}
