// Mirrors a run to MLflow. The local record is the source of truth, so any MLflow failure switches this tracker off
// for the rest of the run (one line on stderr) instead of failing training; `vae sync` uploads the rest later.
import type { DatasetRecord, MetricPoint, RunStatus } from '../record/entries.ts';
import { RunRecord } from '../record/run-record.ts';
import { readFileSync } from 'node:fs';
import { LOGGED_IMAGES_TAG, LOGGED_IMAGES_VALUE, steppedImagePaths, thumbnailPng, type SteppedImage } from './images.ts';
import type { MlflowClient } from './mlflow-client.ts';
import { toKeyValues, type RunInfo } from './mlflow-records.ts';
import { logModelToMlflow } from './logged-model.ts';
import { EXPERIMENT_KIND_TAGS } from './mlflow-ui.ts';
import { ERROR_TAG, type ModelRecord, type RunStart, type Tracker } from './tracker.ts';

/**
 * The first request of a run gets this short policy (about 2 s before giving up instead of about 35 s). A server that
 * does not answer at start is usually a wrong URI or one not started yet; nothing has been sent, so `vae sync` loses
 * nothing and a long wait only delays training. Later requests keep the full policy, to ride out a server restart.
 */
export const START_RETRY = { retries: 2, backoffMs: 500, maxBackoffMs: 1000, jitterMs: 250 };

export class MlflowTracker implements Tracker {
  private run: RunInfo | null = null;
  private params: Record<string, string> = {};
  private modelIdValue: string | null = null;
  private offline = false;
  /** The local record, where the MLflow run's identity is kept. */
  private readonly record: RunRecord;

  constructor(
    private readonly client: MlflowClient,
    private readonly runDir: string,
    private readonly warn: (line: string) => void = (line) => console.error(line),
  ) {
    this.record = new RunRecord(runDir);
  }

  /** True once MLflow logging has been switched off for this run. */
  get isOffline(): boolean {
    return this.offline;
  }

  get runId(): string | null {
    return this.run?.run_id ?? null;
  }

  get experimentId(): string | null {
    return this.run?.experiment_id ?? null;
  }

  get modelId(): string | null {
    return this.modelIdValue;
  }

  async start(run: RunStart): Promise<void> {
    if (this.offline) return;
    this.params = run.params;
    try {
      const probe = this.client.withRetry({ ...START_RETRY, retries: Math.min(START_RETRY.retries, this.client.retryPolicy.retries) });
      const previous = run.resume ? this.record.readMlflow() : null;
      if (run.resume) {
        if (!previous || previous.tracking_uri !== this.client.trackingUri) {
          // The run never reached this server: keep the local record and let `vae sync` upload it whole.
          this.offline = true;
          this.warn(
            `[mlflow] this run is not in MLflow at ${this.client.trackingUri}; after it ends, upload it with: npx vae sync ${this.runDir}`,
          );
          return;
        }
        // Params are immutable in MLflow and were logged at the start: only the status and the tags change.
        this.run = (await probe.getRun(previous.run_id)).info;
        await this.client.updateRun(previous.run_id, 'RUNNING');
        await this.client.setTags(previous.run_id, run.tags);
        return;
      }
      const experimentId = await probe.getOrCreateExperiment(run.experiment, EXPERIMENT_KIND_TAGS);
      this.run = await this.client.createRun({ experimentId, runName: run.runName, startTime: run.startTime, tags: run.tags });
      this.record.writeMlflow({
        tracking_uri: this.client.trackingUri,
        experiment_id: experimentId,
        run_id: this.run.run_id,
      });
      await this.client.logBatch(this.run.run_id, { params: toKeyValues(run.params) });
    } catch (err) {
      this.goOffline(err);
    }
  }

  async logMetrics(points: MetricPoint[]): Promise<void> {
    await this.guard((runId) => this.client.logBatch(runId, { metrics: points }));
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    await this.guard((runId) => this.client.setTags(runId, tags));
  }

  async logArtifact(localPath: string, artifactPath: string): Promise<void> {
    await this.guard((_, artifactUri) => this.client.uploadArtifact(artifactUri, artifactPath, readFileSync(localPath)));
  }

  async logDataset(dataset: DatasetRecord): Promise<void> {
    await this.guard((runId) => this.client.logInputs(runId, [{ ...dataset, source_type: 'local' }]));
  }

  async logImage(localPng: string, image: SteppedImage): Promise<void> {
    await this.guard(async (runId, artifactUri) => {
      const paths = steppedImagePaths(image);
      const png = readFileSync(localPng);
      await this.client.uploadArtifact(artifactUri, paths.image, png);
      await this.client.uploadArtifact(artifactUri, paths.thumbnail, thumbnailPng(png));
      await this.client.setTags(runId, { [LOGGED_IMAGES_TAG]: LOGGED_IMAGES_VALUE });
    });
  }

  async logModel(model: ModelRecord): Promise<void> {
    await this.guard(async (runId) => {
      this.modelIdValue = await logModelToMlflow(this.client, { experimentId: this.run!.experiment_id, runId, params: this.params }, model);
      this.record.writeMlflow({ ...this.record.readMlflow()!, model_id: this.modelIdValue });
    });
  }

  async end(status: RunStatus, endTime: number, error?: string): Promise<void> {
    await this.guard(async (runId) => {
      if (error !== undefined) await this.client.setTags(runId, { [ERROR_TAG]: error });
      await this.client.updateRun(runId, status, endTime);
    });
  }

  private async guard(action: (runId: string, artifactUri: string) => Promise<void>): Promise<void> {
    if (this.offline || !this.run) return;
    try {
      await action(this.run.run_id, this.run.artifact_uri);
    } catch (err) {
      this.goOffline(err);
    }
  }

  private goOffline(err: unknown): void {
    this.offline = true;
    const reason = err instanceof Error ? err.message : String(err);
    this.warn(
      `[mlflow] MLflow logging is off for the rest of this run (${reason}). ` +
        `The local record is complete; upload it later with: npx vae sync ${this.runDir}`,
    );
  }
}
