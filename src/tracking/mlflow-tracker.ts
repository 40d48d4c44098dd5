// Mirrors a run to MLflow through a background queue (mlflow-queue.ts): training's calls return at once, and a slow
// or silent server costs it nothing. The local record is the source of truth, so when the queue gives up (a request
// that fails for good, a server away so long the queue fills, or what is left at the end after a bounded wait) this
// tracker says so once and is off for the rest of the run; `vae sync` uploads the rest later.
import type { DatasetRecord, MetricPoint, RunStatus } from '../record/entries.ts';
import { RunRecord } from '../record/run-record.ts';
import { readFileSync } from 'node:fs';
import { LOGGED_IMAGES_TAG, LOGGED_IMAGES_VALUE, steppedImagePaths, thumbnailPng, type SteppedImage } from './images.ts';
import type { MlflowClient } from './mlflow-client.ts';
import { LoggingQueue } from './mlflow-queue.ts';
import { toKeyValues, type RunInfo } from './mlflow-records.ts';
import { logModelToMlflow } from './logged-model.ts';
import { EXPERIMENT_KIND_TAGS } from './mlflow-ui.ts';
import { ERROR_TAG, type ModelRecord, type RunStart, type Tracker } from './tracker.ts';

/**
 * The first request of a run gets this short policy (about 2 s before giving up instead of about 35 s). A server that
 * does not answer at start is usually a wrong URI or one not started yet; nothing has been sent, so `vae sync` loses
 * nothing and a long wait only keeps the queue from giving up. Later requests keep the full policy, to ride out a
 * server restart.
 */
export const START_RETRY = { retries: 2, backoffMs: 500, maxBackoffMs: 1000, jitterMs: 250 };

/** How long the end of a run waits for the queue to send what is left, unless VAE_MLFLOW_DRAIN_SECONDS says otherwise. */
const DRAIN_MS = 30_000;

export interface MlflowTrackerOptions {
  /** Says one line to the user; stderr by default. */
  warn?: (line: string) => void;
  drainMs?: number;
  /** Jobs the queue holds before it gives up (see LoggingQueue). */
  capacity?: number;
}

export class MlflowTracker implements Tracker {
  private run: RunInfo | null = null;
  private params: Record<string, string> = {};
  private modelIdValue: string | null = null;
  /** The local record, where the MLflow run's identity is kept. */
  private readonly record: RunRecord;
  private readonly queue: LoggingQueue;
  /** The client whose requests are dropped when the queue stops. */
  private readonly sender: MlflowClient;
  private readonly warn: (line: string) => void;
  private readonly drainMs: number;

  constructor(
    private readonly client: MlflowClient,
    private readonly runDir: string,
    options: MlflowTrackerOptions = {},
  ) {
    this.record = new RunRecord(runDir);
    this.warn = options.warn ?? ((line) => console.error(line));
    this.drainMs = options.drainMs ?? DRAIN_MS;
    this.queue = new LoggingQueue({
      capacity: options.capacity,
      sendMetrics: async (points) => {
        if (this.run) await this.sender.logBatch(this.run.run_id, { metrics: points });
      },
      onStop: (reason) => this.warn(`[mlflow] MLflow logging is off for the rest of this run (${reason}); the local record is complete`),
    });
    this.sender = client.withSignal(this.queue.signal);
  }

  /** True once MLflow logging has been switched off for this run. */
  get isOffline(): boolean {
    return this.queue.stopped;
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
    this.params = run.params;
    if (!run.resume) return this.queue.add(() => this.createRun(run));
    const previous = this.record.readMlflow();
    // The run never reached this server: keep the local record and let `vae sync` upload it whole.
    if (!previous || previous.tracking_uri !== this.client.trackingUri)
      return this.queue.stop(`this run is not in MLflow at ${this.client.trackingUri}`);
    this.queue.add(() => this.resumeRun(previous.run_id, run.tags));
  }

  async logMetrics(points: MetricPoint[]): Promise<void> {
    this.queue.addMetrics(points);
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    this.send((run) => this.sender.setTags(run.run_id, tags));
  }

  async logArtifact(localPath: string, artifactPath: string): Promise<void> {
    this.send((run) => this.sender.uploadArtifact(run.artifact_uri, artifactPath, readFileSync(localPath)));
  }

  async logDataset(dataset: DatasetRecord): Promise<void> {
    this.send((run) => this.sender.logInputs(run.run_id, [{ ...dataset, source_type: 'local' }]));
  }

  async logImage(localPng: string, image: SteppedImage): Promise<void> {
    this.send(async (run) => {
      const paths = steppedImagePaths(image);
      const png = readFileSync(localPng);
      await this.sender.uploadArtifact(run.artifact_uri, paths.image, png);
      await this.sender.uploadArtifact(run.artifact_uri, paths.thumbnail, thumbnailPng(png));
      await this.sender.setTags(run.run_id, { [LOGGED_IMAGES_TAG]: LOGGED_IMAGES_VALUE });
    });
  }

  async logModel(model: ModelRecord): Promise<void> {
    this.send(async (run) => {
      const target = { experimentId: run.experiment_id, runId: run.run_id, params: this.params };
      this.modelIdValue = await logModelToMlflow(this.sender, target, model);
      this.record.writeMlflow({ ...this.record.readMlflow()!, model_id: this.modelIdValue });
    });
  }

  /** Queues the end like any event, then waits a bounded time for everything to be sent. */
  async end(status: RunStatus, endTime: number, error?: string): Promise<void> {
    this.send(async (run) => {
      if (error !== undefined) await this.sender.setTags(run.run_id, { [ERROR_TAG]: error });
      await this.sender.updateRun(run.run_id, status, endTime);
    });
    await this.queue.drain(this.drainMs);
    if (this.queue.stopped) this.warn(`[mlflow] MLflow is missing part of this run; upload it with: npx vae sync ${this.runDir}`);
  }

  private async createRun(run: RunStart): Promise<void> {
    const experimentId = await this.firstRequest().getOrCreateExperiment(run.experiment, EXPERIMENT_KIND_TAGS);
    this.run = await this.sender.createRun({ experimentId, runName: run.runName, startTime: run.startTime, tags: run.tags });
    this.record.writeMlflow({ tracking_uri: this.client.trackingUri, experiment_id: experimentId, run_id: this.run.run_id });
    await this.sender.logBatch(this.run.run_id, { params: toKeyValues(run.params) });
  }

  /** Params are immutable in MLflow and were logged at the start: only the status and the tags change. */
  private async resumeRun(runId: string, tags: Record<string, string>): Promise<void> {
    this.run = (await this.firstRequest().getRun(runId)).info;
    await this.sender.updateRun(runId, 'RUNNING');
    await this.sender.setTags(runId, tags);
  }

  private firstRequest(): MlflowClient {
    return this.sender.withRetry({ ...START_RETRY, retries: Math.min(START_RETRY.retries, this.client.retryPolicy.retries) });
  }

  /** Queues an event for the run the queue's first job created (none when start was never called). */
  private send(action: (run: RunInfo) => Promise<void>): void {
    this.queue.add(async () => {
      if (this.run) await action(this.run);
    });
  }
}
