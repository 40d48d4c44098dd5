// The trainer talks only to this interface; where events end up (runs/, MLflow, both) is the caller's choice.
import type { DatasetRecord, MetricPoint, RunStatus } from '../record/entries.ts';
import type { SteppedImage } from './images.ts';

export interface RunStart {
  experiment: string;
  runName: string;
  /** Flattened resolved spec: `model.latent_dim` -> "20". */
  params: Record<string, string>;
  tags: Record<string, string>;
  startTime: number;
  /** Go on with the run already recorded (after an interruption): keep what it has, log no params again. */
  resume?: boolean;
}

/** The trained model of a finished run: its files on disk and the final metrics it earned. */
export interface ModelRecord {
  name: string;
  /** Files already written under the run folder, each with its path inside the model (posix, relative). */
  files: { localPath: string; path: string }[];
  /** The run's final metrics (already logged to the run), to be linked to the model as well. */
  metrics: MetricPoint[];
  /** The step (epoch) the model was saved at. */
  step: number;
}

export interface Tracker {
  start(run: RunStart): Promise<void>;
  logMetrics(points: MetricPoint[]): Promise<void>;
  setTags(tags: Record<string, string>): Promise<void>;
  /** Copy a file that already exists on disk into the run's artifacts under `artifactPath` (posix, relative). */
  logArtifact(localPath: string, artifactPath: string): Promise<void>;
  logDataset(dataset: DatasetRecord): Promise<void>;
  /** A PNG shown per step in MLflow's run page; make `image` once with steppedImage() so every tracker names it alike. */
  logImage(localPng: string, image: SteppedImage): Promise<void>;
  /** The trained model; MLflow makes it a logged model of the run, which its Models views list. */
  logModel(model: ModelRecord): Promise<void>;
  /** `error` (for FAILED) is recorded as the `vae.error` tag. */
  end(status: RunStatus, endTime: number, error?: string): Promise<void>;
}

export const ERROR_TAG = 'vae.error';

/** Sends every event to each tracker in order; the first one is the source of truth (the local record). */
export class TrackerFanout implements Tracker {
  constructor(private readonly trackers: Tracker[]) {}

  async start(run: RunStart): Promise<void> {
    for (const t of this.trackers) await t.start(run);
  }
  async logMetrics(points: MetricPoint[]): Promise<void> {
    for (const t of this.trackers) await t.logMetrics(points);
  }
  async setTags(tags: Record<string, string>): Promise<void> {
    for (const t of this.trackers) await t.setTags(tags);
  }
  async logArtifact(localPath: string, artifactPath: string): Promise<void> {
    for (const t of this.trackers) await t.logArtifact(localPath, artifactPath);
  }
  async logImage(localPng: string, image: SteppedImage): Promise<void> {
    for (const t of this.trackers) await t.logImage(localPng, image);
  }
  async logDataset(dataset: DatasetRecord): Promise<void> {
    for (const t of this.trackers) await t.logDataset(dataset);
  }
  async logModel(model: ModelRecord): Promise<void> {
    for (const t of this.trackers) await t.logModel(model);
  }
  /** Ends the run in every tracker even when one fails (a full disk must not keep MLflow from hearing it), then throws the first failure. */
  async end(status: RunStatus, endTime: number, error?: string): Promise<void> {
    const failures: unknown[] = [];
    for (const t of this.trackers) await t.end(status, endTime, error).catch((e: unknown) => failures.push(e));
    if (failures.length > 0) throw failures[0];
  }
}

/**
 * For a resumed run, which replays the steps after its checkpoint: the interrupted process may have logged some of
 * them already, with the values the replay computes again (training is deterministic for a seed). Points at or
 * before a metric's last logged step are dropped, so no metric gets a step twice, locally or in MLflow.
 */
export class SkipLoggedPoints implements Tracker {
  constructor(
    private readonly inner: Tracker,
    private readonly lastStep: Map<string, number>,
  ) {}

  logMetrics(points: MetricPoint[]): Promise<void> {
    return this.inner.logMetrics(points.filter((p) => p.step > (this.lastStep.get(p.key) ?? -Infinity)));
  }
  start(run: RunStart): Promise<void> {
    return this.inner.start(run);
  }
  setTags(tags: Record<string, string>): Promise<void> {
    return this.inner.setTags(tags);
  }
  logArtifact(localPath: string, artifactPath: string): Promise<void> {
    return this.inner.logArtifact(localPath, artifactPath);
  }
  logDataset(dataset: DatasetRecord): Promise<void> {
    return this.inner.logDataset(dataset);
  }
  logImage(localPng: string, image: SteppedImage): Promise<void> {
    return this.inner.logImage(localPng, image);
  }
  logModel(model: ModelRecord): Promise<void> {
    return this.inner.logModel(model);
  }
  end(status: RunStatus, endTime: number, error?: string): Promise<void> {
    return this.inner.end(status, endTime, error);
  }
}
