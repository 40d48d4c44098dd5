// MLflow's records as vae-lab types them, and their JSON wire forms: the server sends int64 fields as strings,
// leaves empty lists out and carries non-finite doubles as strings.

export type MlflowRunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface KeyValue {
  key: string;
  value: string;
}

export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  /** Links the point to a logged model of the run as well (MLflow 3). */
  model_id?: string;
}

/** An MLflow 3 logged model: `m-<hex>`, with its own artifact root. */
export interface LoggedModelInfo {
  model_id: string;
  experiment_id: string;
  name: string;
  artifact_uri: string;
  status: string;
  source_run_id?: string;
}

export interface RunInfo {
  run_id: string;
  experiment_id: string;
  run_name: string;
  status: MlflowRunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: string;
}

export interface Run {
  info: RunInfo;
  data: { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] };
  /** The run's dataset inputs (runs/log-inputs), as get-run returns them. */
  inputs: { dataset_inputs: { dataset: Omit<DatasetInput, 'context'>; tags: KeyValue[] }[] };
}

export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface DatasetInput {
  name: string;
  /** At most 36 characters. */
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
  /** Becomes the `mlflow.data.context` input tag, e.g. "training". */
  context?: string;
}

export function toKeyValues(record: Record<string, string>): KeyValue[] {
  return Object.entries(record).map(([key, value]) => ({ key, value }));
}

// Proto3 JSON carries non-finite doubles as strings; a NaN loss must not make the whole batch invalid.
export function encodeMetric(m: Metric): { key: string; value: number | string; timestamp: number; step: number; model_id?: string } {
  return {
    key: m.key,
    value: Number.isFinite(m.value) ? m.value : String(m.value),
    timestamp: m.timestamp,
    step: m.step,
    ...(m.model_id ? { model_id: m.model_id } : {}),
  };
}

export type RawMetric = { key: string; value: number | string; timestamp: number | string; step?: number | string };
export type RawFileInfo = { path: string; is_dir?: boolean; file_size?: number | string };
export type RawRun = {
  info: RunInfo;
  data?: { metrics?: RawMetric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: { dataset: Omit<DatasetInput, 'context'>; tags?: KeyValue[] }[] };
};

export function decodeMetric(m: RawMetric): Metric {
  return { key: m.key, value: Number(m.value), timestamp: Number(m.timestamp), step: Number(m.step ?? 0) };
}

export function decodeFileInfo(f: RawFileInfo): FileInfo {
  return { path: f.path, is_dir: Boolean(f.is_dir), ...(f.file_size === undefined ? {} : { file_size: Number(f.file_size) }) };
}

export function normalizeRun(run: RawRun): Run {
  return {
    info: {
      ...run.info,
      start_time: Number(run.info.start_time),
      ...(run.info.end_time === undefined ? {} : { end_time: Number(run.info.end_time) }),
    },
    data: { metrics: (run.data?.metrics ?? []).map(decodeMetric), params: run.data?.params ?? [], tags: run.data?.tags ?? [] },
    inputs: { dataset_inputs: (run.inputs?.dataset_inputs ?? []).map((d) => ({ dataset: d.dataset, tags: d.tags ?? [] })) },
  };
}
