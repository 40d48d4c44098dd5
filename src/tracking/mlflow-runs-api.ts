// MLflow's experiment and run endpoints, typed (see shared/REFERENCE.md).
import { MlflowApiError, MlflowError } from './mlflow-errors.ts';
import { MlflowHttp } from './mlflow-http.ts';
import { chunkLogBatch } from './mlflow-log-batch.ts';
import {
  decodeMetric,
  encodeMetric,
  normalizeRun,
  toKeyValues,
  type DatasetInput,
  type KeyValue,
  type Metric,
  type MlflowRunStatus,
  type RawMetric,
  type RawRun,
  type Run,
  type RunInfo,
} from './mlflow-records.ts';

export interface SearchRunsQuery {
  experimentIds: string[];
  filter?: string;
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

export class MlflowRunsApi extends MlflowHttp {
  /** Deleted experiments too (lifecycle_stage 'deleted'): their names stay taken. */
  async getExperimentByName(name: string): Promise<{ experiment_id: string; name: string; lifecycle_stage: string } | null> {
    try {
      const res = await this.get<{ experiment: { experiment_id: string; name: string; lifecycle_stage: string } }>(
        'mlflow/experiments/get-by-name',
        { experiment_name: name },
      );
      return res.experiment;
    } catch (err) {
      if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return null;
      throw err;
    }
  }

  /** Two processes may create the same experiment at once; the loser re-reads the winner's. `tags` go on a new one. */
  async getOrCreateExperiment(name: string, tags: Record<string, string> = {}): Promise<string> {
    const existing = await this.getExperimentByName(name);
    if (existing) return existing.experiment_id;
    try {
      const res = await this.post<{ experiment_id: string }>('mlflow/experiments/create', { name, tags: toKeyValues(tags) });
      return res.experiment_id;
    } catch (err) {
      if (!(err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
      const winner = await this.getExperimentByName(name);
      if (!winner) throw err;
      return winner.experiment_id;
    }
  }

  /**
   * Creates an experiment in exactly one request, never retried: its id when this call created it, null when the
   * name was taken already (by an active or a deleted experiment). A retry after a lost response would read this
   * call's own success as someone else's, so a caller that uses the answer as a lock (a sweep's parent run) needs
   * this rather than getOrCreateExperiment.
   */
  async createExperimentOnce(name: string, tags: Record<string, string> = {}): Promise<string | null> {
    try {
      const res = await this.post<{ experiment_id: string }>('mlflow/experiments/create', { name, tags: toKeyValues(tags) }, 0);
      return res.experiment_id;
    } catch (err) {
      if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') return null;
      throw err;
    }
  }

  /** Moves an experiment to the trash: it leaves the UI's lists, and its name stays taken until the trash is emptied. */
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.post('mlflow/experiments/delete', { experiment_id: experimentId });
  }

  /** The active experiments, as the UI's experiment list shows them. */
  async listExperiments(): Promise<{ experiment_id: string; name: string; tags: KeyValue[] }[]> {
    const out: { experiment_id: string; name: string; tags: KeyValue[] }[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.post<{ experiments?: { experiment_id: string; name: string; tags?: KeyValue[] }[]; next_page_token?: string }>(
        'mlflow/experiments/search',
        {
          max_results: 1000,
          view_type: 'ACTIVE_ONLY',
          ...(pageToken ? { page_token: pageToken } : {}),
        },
      );
      out.push(...(res.experiments ?? []).map((e) => ({ experiment_id: e.experiment_id, name: e.name, tags: e.tags ?? [] })));
      pageToken = res.next_page_token;
    } while (pageToken);
    return out;
  }

  /** The run name is also set as the mlflow.runName tag, since MLflow expects the two to agree. */
  async createRun(run: { experimentId: string; runName: string; startTime: number; tags?: Record<string, string> }): Promise<RunInfo> {
    const tags = toKeyValues({ ...run.tags, 'mlflow.runName': run.runName });
    const res = await this.post<{ run: Run }>('mlflow/runs/create', {
      experiment_id: run.experimentId,
      run_name: run.runName,
      start_time: run.startTime,
      tags,
    });
    return res.run.info;
  }

  async updateRun(runId: string, status: MlflowRunStatus, endTime?: number): Promise<void> {
    await this.post('mlflow/runs/update', { run_id: runId, status, ...(endTime === undefined ? {} : { end_time: endTime }) });
  }

  async getRun(runId: string): Promise<Run> {
    const res = await this.get<{ run: RawRun }>('mlflow/runs/get', { run_id: runId });
    return normalizeRun(res.run);
  }

  /** Null when the server has no such run (or it was deleted for good). */
  async findRun(runId: string): Promise<Run | null> {
    try {
      return await this.getRun(runId);
    } catch (err) {
      if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return null;
      throw err;
    }
  }

  async searchRuns(query: SearchRunsQuery): Promise<{ runs: Run[]; nextPageToken?: string }> {
    const res = await this.post<{ runs?: RawRun[]; next_page_token?: string }>('mlflow/runs/search', {
      experiment_ids: query.experimentIds,
      filter: query.filter ?? '',
      max_results: query.maxResults ?? 1000,
      order_by: query.orderBy ?? [],
      ...(query.pageToken ? { page_token: query.pageToken } : {}),
    });
    return { runs: (res.runs ?? []).map(normalizeRun), nextPageToken: res.next_page_token };
  }

  /** Any number of items; split into requests that respect LOG_BATCH_LIMITS, params and tags before metrics. */
  async logBatch(runId: string, batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<void> {
    for (const chunk of chunkLogBatch(batch)) {
      await this.post('mlflow/runs/log-batch', { run_id: runId, ...chunk, metrics: chunk.metrics.map(encodeMetric) });
    }
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    await this.logBatch(runId, { tags: toKeyValues(tags) });
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const points: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.get<{ metrics?: RawMetric[]; next_page_token?: string }>('mlflow/metrics/get-history', {
        run_id: runId,
        metric_key: key,
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      points.push(...(res.metrics ?? []).map(decodeMetric));
      pageToken = res.next_page_token;
    } while (pageToken);
    return points;
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    await this.post('mlflow/runs/log-inputs', {
      run_id: runId,
      datasets: datasets.map(({ context, ...dataset }) => {
        if (dataset.digest.length > 36)
          throw new MlflowError(`dataset digest must be at most 36 characters (got ${dataset.digest.length})`);
        return { tags: context ? [{ key: 'mlflow.data.context', value: context }] : [], dataset };
      }),
    });
  }
}
