// The one place that knows the layout of a run folder, runs/<experiment>/<run-id>/. Artifacts keep the relative paths
// they get in MLflow, so the folder is both what a user reads and what `vae sync` replays. Beside them, the record:
//   run.json       {run_id, experiment, run_name, status, start_time, end_time}
//   params.json    flattened resolved spec
//   tags.json      every tag set so far
//   metrics.jsonl  one MetricPoint per line, in the order logged
//   datasets.json  the DatasetRecords the run used
//   mlflow.json    {tracking_uri, experiment_id, run_id, model_id?} once an MLflow run mirrors this one
// and the state to resume from: checkpoint/, checkpoint.previous/ (the one saved before it, a way back when the latest is
// damaged) and, only after a crash mid-save, checkpoint.tmp-<pid>/.
import type { ReferenceCheck } from '../reference/reference-check.ts';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { isAtomicWriteLeftover, writeJsonAtomic } from './atomic-write.ts';
import type { DatasetRecord, MetricPoint, RunStatus } from './entries.ts';
import { RunRecordError } from './file-system-errors.ts';

/** Artifacts every run logs, by their path in the run folder and in MLflow. */
export const RUN_ARTIFACTS = {
  writtenSpec: 'spec/experiment.yaml',
  resolvedSpec: 'spec/resolved.yaml',
  summary: 'summary.json',
  model: 'model',
} as const;

const FILES = {
  run: 'run.json',
  params: 'params.json',
  tags: 'tags.json',
  metrics: 'metrics.jsonl',
  datasets: 'datasets.json',
  mlflow: 'mlflow.json',
};
const RECORD_FILES: string[] = Object.values(FILES);
const CHECKPOINT = 'checkpoint';
// checkpoint.old-<pid>/ is what older versions left after a crash mid-save: never an artifact (resumes no longer read it).
const CHECKPOINT_PATH = new RegExp(`^${CHECKPOINT}(\\.previous|\\.(old|tmp)-\\d+)?/`);
/**
 * The saved networks, in the tfjs format, that a finished run needs for `vae sample`, `encode` and the rest: every
 * model has an encoder and a decoder; a learned prior (model.prior vamp or mog) adds prior/, and a second
 * stochastic layer (model.stochastic_layers 2) top_encoder/ and top_decoder/, q(z2|z1) and p(z1|z2).
 */
export type NetworkName = 'encoder' | 'decoder' | 'prior' | 'top_encoder' | 'top_decoder';
const EVERY_MODEL_HAS: NetworkName[] = ['encoder', 'decoder'];
const NETWORK_FILES = ['model.json', 'weights.bin'];

export interface RunJson {
  run_id: string;
  experiment: string;
  run_name: string;
  status: RunStatus | 'RUNNING';
  start_time: number;
  end_time: number | null;
}

/** Which MLflow run mirrors a local record. Never holds credentials. */
export interface MlflowIdentity {
  tracking_uri: string;
  experiment_id: string;
  run_id: string;
  /** The run's logged model, once the run has finished. */
  model_id?: string;
}

/** summary.json: how a run ended, its final metrics and what it ran on. */
export interface RunSummary {
  run_id: string;
  experiment: string;
  name: string;
  status: 'FINISHED' | 'KILLED';
  epochs_completed: number;
  metrics: Record<string, number>;
  latent?: { kl_per_dimension: number[]; activity: number[]; active_units: number };
  data: {
    dataset: string;
    source: string;
    digest: string;
    /** channels: 1 grey, 3 RGB (runs recorded before colour images have none: they are grey). */
    image: { height: number; width: number; channels?: number };
    train: number;
    val: number;
    test: number;
  };
  backend: string;
  durations_s: Record<string, number>;
  versions: Record<string, string>;
  /** The run's metric against the spec's `reference:` block, when it has one. */
  reference?: ReferenceCheck;
}

export class RunRecord {
  constructor(readonly dir: string) {}

  /** A new, never-shared folder <runsDir>/<experiment>/<time>-<random>: two runs started together get different ones. */
  static create(runsDir: string, experiment: string): RunRecord {
    const parent = join(runsDir, experiment);
    const make = (dir: string, recursive: boolean) => {
      try {
        mkdirSync(dir, { recursive });
        return true;
      } catch (e) {
        const error = e as NodeJS.ErrnoException;
        if (!recursive && error.code === 'EEXIST' && statSync(parent).isDirectory()) return false;
        // A recursive mkdir on a read-only file system says ENOENT; asking for the last folder alone gives the real reason.
        if (recursive && error.code === 'ENOENT') make(dir, false);
        throw new RunRecordError(parent, error);
      }
    };
    make(parent, true);
    for (;;) {
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      const dir = join(parent, `${stamp}-${randomBytes(3).toString('hex')}`);
      if (make(dir, false)) return new RunRecord(dir);
    }
  }

  /** The run folder under runsDir whose MLflow identity names this MLflow run or logged model, if this machine recorded it. */
  static findByMlflowId(runsDir: string, key: 'run_id' | 'model_id', id: string): RunRecord | undefined {
    if (!existsSync(runsDir)) return undefined;
    for (const experiment of readdirSync(runsDir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      for (const run of readdirSync(join(runsDir, experiment.name), { withFileTypes: true }).filter((e) => e.isDirectory())) {
        const record = new RunRecord(join(runsDir, experiment.name, run.name));
        if (record.readMlflow()?.[key] === id) return record;
      }
    }
    return undefined;
  }

  /** The folder's name is the run id. */
  get runId(): string {
    return basename(this.dir);
  }

  path(relativePath: string): string {
    return join(this.dir, relativePath);
  }

  /** Whether a run was ever started here. */
  exists(): boolean {
    return existsSync(this.path(FILES.run));
  }

  readRun(): RunJson {
    return this.readJson(FILES.run);
  }

  writeRun(run: RunJson): void {
    this.writeJson(FILES.run, run);
  }

  readParams(): Record<string, string> {
    return this.readJson(FILES.params);
  }

  writeParams(params: Record<string, string>): void {
    this.writeJson(FILES.params, params);
  }

  readTags(): Record<string, string> {
    return this.readJson(FILES.tags);
  }

  writeTags(tags: Record<string, string>): void {
    this.writeJson(FILES.tags, tags);
  }

  /** An empty metrics log, for a run that starts. */
  startMetrics(): void {
    writeFileSync(this.path(FILES.metrics), '');
  }

  appendMetrics(points: MetricPoint[]): void {
    appendFileSync(this.path(FILES.metrics), points.map((p) => JSON.stringify(p) + '\n').join(''));
  }

  // JSON has no NaN: the log holds a NaN loss as null.
  readMetrics(): MetricPoint[] {
    return readFileSync(this.path(FILES.metrics), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const p = JSON.parse(line) as Omit<MetricPoint, 'value'> & { value: number | null };
        return { ...p, value: p.value ?? NaN };
      });
  }

  /** The last step each metric reached. */
  lastLoggedSteps(): Map<string, number> {
    const last = new Map<string, number>();
    for (const p of this.readMetrics()) last.set(p.key, Math.max(p.step, last.get(p.key) ?? -Infinity));
    return last;
  }

  readDatasets(): DatasetRecord[] {
    return existsSync(this.path(FILES.datasets)) ? this.readJson(FILES.datasets) : [];
  }

  writeDatasets(datasets: DatasetRecord[]): void {
    this.writeJson(FILES.datasets, datasets);
  }

  readMlflow(): MlflowIdentity | null {
    return existsSync(this.path(FILES.mlflow)) ? this.readJson(FILES.mlflow) : null;
  }

  writeMlflow(identity: MlflowIdentity): void {
    this.writeJson(FILES.mlflow, identity);
  }

  /** Null until the run has ended (finished or stopped). */
  readSummary(): RunSummary | null {
    return existsSync(this.path(RUN_ARTIFACTS.summary)) ? this.readJson(RUN_ARTIFACTS.summary) : null;
  }

  /** Returns the file's path, to be logged as an artifact. */
  writeSummary(summary: RunSummary): string {
    this.writeJson(RUN_ARTIFACTS.summary, summary);
    return this.path(RUN_ARTIFACTS.summary);
  }

  /** `vae eval`'s recomputed test metrics with k importance samples, kept beside the run's own; returns the file. */
  writeEvaluation(k: number, evaluation: unknown): string {
    this.writeJson(`eval-k${k}.json`, evaluation);
    return this.path(`eval-k${k}.json`);
  }

  readEvaluation(k: number): { k: number; test_images: number; metrics: Record<string, number> } {
    return this.readJson(`eval-k${k}.json`);
  }

  /** The saved network of one part, in the tfjs format. */
  modelDir(part: NetworkName): string {
    return this.path(`${RUN_ARTIFACTS.model}/${part}`);
  }

  /** The files a finished run must have for its model to be used, as paths in the folder and in MLflow. */
  static trainedModelFiles(): string[] {
    return [RUN_ARTIFACTS.summary, RUN_ARTIFACTS.resolvedSpec, ...EVERY_MODEL_HAS.flatMap((part) => RunRecord.networkFiles(part))];
  }

  /** The files of one saved network, as paths in the folder and in MLflow. */
  static networkFiles(part: NetworkName): string[] {
    return NETWORK_FILES.map((file) => `${RUN_ARTIFACTS.model}/${part}/${file}`);
  }

  /** Where the last checkpoint lives, the one saved before it, and where a save writes (see train/checkpoint.ts). */
  checkpointDirs(pid = process.pid): { current: string; previous: string; writing: string } {
    return {
      current: this.path(CHECKPOINT),
      previous: this.path(`${CHECKPOINT}.previous`),
      writing: this.path(`${CHECKPOINT}.tmp-${pid}`),
    };
  }

  /** Posix paths of every artifact: each file in the folder that is neither the record itself nor state to resume from. */
  artifacts(): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        const rel = relative(this.dir, full).split(sep).join('/');
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile() && !RECORD_FILES.includes(rel) && !isAtomicWriteLeftover(rel) && !CHECKPOINT_PATH.test(rel)) out.push(rel);
      }
    };
    walk(this.dir);
    return out.sort();
  }

  private readJson<T>(name: string): T {
    return JSON.parse(readFileSync(this.path(name), 'utf8')) as T;
  }

  private writeJson(name: string, value: unknown): void {
    writeJsonAtomic(this.path(name), value);
  }
}
