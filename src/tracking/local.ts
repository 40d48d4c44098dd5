import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LOGGED_IMAGES_TAG, LOGGED_IMAGES_VALUE, steppedImagePaths, thumbnailPng, type SteppedImage } from './images.ts';
import { ERROR_TAG, type DatasetRecord, type MetricPoint, type RunStart, type RunStatus, type Tracker, type ModelRecord } from './tracker.ts';

/** Files of the record itself; everything else in the run directory is an artifact. */
export const RECORD_FILES = ['run.json', 'params.json', 'tags.json', 'metrics.jsonl', 'datasets.json', 'mlflow.json'];

/**
 * The run record in runs/<experiment>/<run-id>/. Artifacts keep the same relative paths they get in MLflow, so the
 * folder is both what a user reads and what `vae sync` replays. Beside them:
 *   run.json       {run_id, experiment, run_name, status, start_time, end_time}
 *   params.json    flattened resolved spec
 *   tags.json      every tag set so far
 *   metrics.jsonl  one MetricPoint per line, in the order logged
 *   datasets.json  the DatasetRecords the run used
 *   mlflow.json    {tracking_uri, experiment_id, run_id, model_id?} once an MLflow run mirrors this one
 */
export class LocalRunRecord implements Tracker {
  private run: { run_id: string; experiment: string; run_name: string; status: string; start_time: number; end_time: number | null } | null = null;
  private tags: Record<string, string> = {};
  private datasets: DatasetRecord[] = [];

  constructor(readonly runDir: string, readonly runId: string) {}

  async start(run: RunStart): Promise<void> {
    if (run.resume) {
      // Go on with the record as it is: metrics.jsonl grows, the start time stays, params were written once.
      const previous = JSON.parse(readFileSync(join(this.runDir, 'run.json'), 'utf8')) as NonNullable<typeof this.run>;
      this.run = { ...previous, status: 'RUNNING', end_time: null };
      this.tags = { ...(JSON.parse(readFileSync(join(this.runDir, 'tags.json'), 'utf8')) as Record<string, string>), ...run.tags };
      delete this.tags[ERROR_TAG];
      const datasets = join(this.runDir, 'datasets.json');
      this.datasets = existsSync(datasets) ? (JSON.parse(readFileSync(datasets, 'utf8')) as DatasetRecord[]) : [];
      writeJsonAtomic(join(this.runDir, 'tags.json'), this.tags);
      writeJsonAtomic(join(this.runDir, 'run.json'), this.run);
      return;
    }
    mkdirSync(this.runDir, { recursive: true });
    this.run = { run_id: this.runId, experiment: run.experiment, run_name: run.runName, status: 'RUNNING', start_time: run.startTime, end_time: null };
    this.tags = { ...run.tags };
    writeJsonAtomic(join(this.runDir, 'params.json'), run.params);
    writeJsonAtomic(join(this.runDir, 'tags.json'), this.tags);
    writeJsonAtomic(join(this.runDir, 'run.json'), this.run);
    writeFileSync(join(this.runDir, 'metrics.jsonl'), '');
  }

  async logMetrics(points: MetricPoint[]): Promise<void> {
    if (points.length === 0) return;
    appendFileSync(join(this.runDir, 'metrics.jsonl'), points.map((p) => JSON.stringify(p) + '\n').join(''));
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    Object.assign(this.tags, tags);
    writeJsonAtomic(join(this.runDir, 'tags.json'), this.tags);
  }

  async logArtifact(localPath: string, artifactPath: string): Promise<void> {
    const target = join(this.runDir, artifactPath);
    if (resolve(localPath) === resolve(target)) return;
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(localPath, target);
  }

  async logDataset(dataset: DatasetRecord): Promise<void> {
    this.datasets.push(dataset);
    writeJsonAtomic(join(this.runDir, 'datasets.json'), this.datasets);
  }

  async logImage(localPng: string, image: SteppedImage): Promise<void> {
    const paths = steppedImagePaths(image);
    await this.logArtifact(localPng, paths.image);
    writeFileSync(join(this.runDir, paths.thumbnail), thumbnailPng(readFileSync(localPng)));
    if (this.tags[LOGGED_IMAGES_TAG] !== LOGGED_IMAGES_VALUE) await this.setTags({ [LOGGED_IMAGES_TAG]: LOGGED_IMAGES_VALUE });
  }

  /** The model's files are in the run folder already (model/), which is where every command reads them. */
  async logModel(_model: ModelRecord): Promise<void> {}

  async end(status: RunStatus, endTime: number, error?: string): Promise<void> {
    if (!this.run) throw new Error('LocalRunRecord.end called before start');
    if (error !== undefined) await this.setTags({ [ERROR_TAG]: error });
    this.run = { ...this.run, status, end_time: endTime };
    writeJsonAtomic(join(this.runDir, 'run.json'), this.run);
  }
}

/** A reader never sees half a file: write beside it, then rename over it. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

// JSON has no NaN: the local record writes a NaN loss as null.
export function readMetricPoints(runDir: string): MetricPoint[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const p = JSON.parse(line) as Omit<MetricPoint, 'value'> & { value: number | null };
      return { ...p, value: p.value ?? NaN };
    });
}

/** The last step each metric reached in a run record. */
export function lastLoggedSteps(runDir: string): Map<string, number> {
  const last = new Map<string, number>();
  for (const p of readMetricPoints(runDir)) last.set(p.key, Math.max(p.step, last.get(p.key) ?? -Infinity));
  return last;
}
