import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DatasetRecord, MetricPoint, RunStatus } from '../record/entries.ts';
import { RunRecord, type RunJson } from '../record/run-record.ts';
import { LOGGED_IMAGES_TAG, LOGGED_IMAGES_VALUE, steppedImagePaths, thumbnailPng, type SteppedImage } from './images.ts';
import { ERROR_TAG, type ModelRecord, type RunStart, type Tracker } from './tracker.ts';

/** The tracker that writes the run folder (src/record/run-record.ts), the source of truth `vae sync` replays. */
export class LocalRunRecord implements Tracker {
  private readonly record: RunRecord;
  private run: RunJson | null = null;
  private tags: Record<string, string> = {};
  private datasets: DatasetRecord[] = [];

  constructor(
    runDir: string,
    readonly runId: string,
  ) {
    this.record = new RunRecord(runDir);
  }

  async start(run: RunStart): Promise<void> {
    if (run.resume) {
      // Go on with the record as it is: the metrics log grows, the start time stays, params were written once.
      this.run = { ...this.record.readRun(), status: 'RUNNING', end_time: null };
      this.tags = { ...this.record.readTags(), ...run.tags };
      delete this.tags[ERROR_TAG];
      this.datasets = this.record.readDatasets();
      this.record.writeTags(this.tags);
      this.record.writeRun(this.run);
      return;
    }
    mkdirSync(this.record.dir, { recursive: true });
    this.run = {
      run_id: this.runId,
      experiment: run.experiment,
      run_name: run.runName,
      status: 'RUNNING',
      start_time: run.startTime,
      end_time: null,
    };
    this.tags = { ...run.tags };
    this.record.writeParams(run.params);
    this.record.writeTags(this.tags);
    this.record.writeRun(this.run);
    this.record.startMetrics();
  }

  async logMetrics(points: MetricPoint[]): Promise<void> {
    if (points.length > 0) this.record.appendMetrics(points);
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    Object.assign(this.tags, tags);
    this.record.writeTags(this.tags);
  }

  async logArtifact(localPath: string, artifactPath: string): Promise<void> {
    const target = this.record.path(artifactPath);
    if (resolve(localPath) === resolve(target)) return;
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(localPath, target);
  }

  async logDataset(dataset: DatasetRecord): Promise<void> {
    this.datasets.push(dataset);
    this.record.writeDatasets(this.datasets);
  }

  async logImage(localPng: string, image: SteppedImage): Promise<void> {
    const paths = steppedImagePaths(image);
    await this.logArtifact(localPng, paths.image);
    writeFileSync(this.record.path(paths.thumbnail), thumbnailPng(readFileSync(localPng)));
    if (this.tags[LOGGED_IMAGES_TAG] !== LOGGED_IMAGES_VALUE) await this.setTags({ [LOGGED_IMAGES_TAG]: LOGGED_IMAGES_VALUE });
  }

  /** The model's files are in the run folder already, which is where every command reads them. */
  async logModel(_model: ModelRecord): Promise<void> {}

  async end(status: RunStatus, endTime: number, error?: string): Promise<void> {
    if (!this.run) throw new Error('LocalRunRecord.end called before start');
    if (error !== undefined) await this.setTags({ [ERROR_TAG]: error });
    this.run = { ...this.run, status, end_time: endTime };
    this.record.writeRun(this.run);
  }
}
