import { RuntimeFailure } from '../errors.ts';
// A typed client for the parts of MLflow's tracking REST API that vae-lab uses (see shared/REFERENCE.md).

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

export interface SearchRunsQuery {
  experimentIds: string[];
  filter?: string;
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  jitterMs: number;
}

export interface MlflowClientOptions {
  trackingUri: string;
  /** Value of the Authorization header; see authorizationFromEnv. */
  authorization?: string;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** Server-side limits of runs/log-batch. */
export const LOG_BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, items: 1000, bytes: 1_000_000 };

// Close to the Python client's policy (7 retries, factor 2, 1 s jitter) but capped, so an unreachable server
// turns into "MLflow is off for this run" in about half a minute rather than several minutes.
export const DEFAULT_RETRY: RetryPolicy = { retries: 5, backoffMs: 1000, maxBackoffMs: 16_000, jitterMs: 1000 };
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
// A server asking for an hour's pause would stall training; past this the tracker gives up and sync finishes later.
const MAX_RETRY_AFTER_MS = 60_000;

export class MlflowError extends RuntimeFailure {}

/** The server answered with an error: `errorCode` is MLflow's, e.g. RESOURCE_DOES_NOT_EXIST. */
export class MlflowApiError extends MlflowError {
  constructor(readonly status: number, readonly errorCode: string, message: string, readonly endpoint: string) {
    super(`${endpoint}: ${status} ${errorCode}: ${message}`);
  }
}

/** No answer at all (connection refused, DNS, timeout) after every retry. */
export class MlflowUnreachableError extends MlflowError {
  constructor(readonly url: string, cause: unknown) {
    super(`cannot reach MLflow at ${url}: ${describeCause(cause)}`, { cause });
  }
}

/** Basic auth from MLFLOW_TRACKING_USERNAME + PASSWORD wins over a bearer MLFLOW_TRACKING_TOKEN, as in MLflow's client. */
export function authorizationFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { MLFLOW_TRACKING_USERNAME: user, MLFLOW_TRACKING_PASSWORD: password, MLFLOW_TRACKING_TOKEN: token } = env;
  if (user && password) return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  if (token) return `Bearer ${token}`;
  return undefined;
}

/**
 * MLflow's own client settings, read the same way here so one environment tunes both: MLFLOW_HTTP_REQUEST_MAX_RETRIES,
 * MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR (seconds before the first retry, doubling after), MLFLOW_HTTP_REQUEST_BACKOFF_JITTER
 * (seconds) and MLFLOW_HTTP_REQUEST_TIMEOUT (seconds). Unset or unparsable values keep DEFAULT_RETRY and 120 s.
 */
export function requestSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): { retry: Partial<RetryPolicy>; timeoutMs?: number } {
  const number = (name: string, ok: (n: number) => boolean): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const n = Number(raw);
    return Number.isFinite(n) && ok(n) ? n : undefined;
  };
  const retries = number('MLFLOW_HTTP_REQUEST_MAX_RETRIES', (n) => Number.isInteger(n) && n >= 0);
  const factor = number('MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', (n) => n >= 0);
  const jitter = number('MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', (n) => n >= 0);
  const timeout = number('MLFLOW_HTTP_REQUEST_TIMEOUT', (n) => n > 0);
  const retry: Partial<RetryPolicy> = {};
  if (retries !== undefined) retry.retries = retries;
  if (factor !== undefined) retry.backoffMs = factor * 1000;
  if (jitter !== undefined) retry.jitterMs = jitter * 1000;
  return { retry, ...(timeout === undefined ? {} : { timeoutMs: timeout * 1000 }) };
}

export class MlflowClient {
  readonly trackingUri: string;
  private readonly authorization: string | undefined;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: MlflowClientOptions) {
    // Credentials written into the URI become basic auth, so the URI itself can be shown and recorded safely.
    const uri = new URL(options.trackingUri);
    const userinfo = uri.username ? `${decodeURIComponent(uri.username)}:${decodeURIComponent(uri.password)}` : null;
    uri.username = '';
    uri.password = '';
    this.trackingUri = uri.toString().replace(/\/+$/, '');
    this.authorization = options.authorization ?? (userinfo ? `Basic ${Buffer.from(userinfo).toString('base64')}` : undefined);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((done) => setTimeout(done, ms)));
  }

  /** The client for MLFLOW_TRACKING_URI-style settings taken from the environment (auth, retries, timeout). */
  static fromEnv(trackingUri: string, env: NodeJS.ProcessEnv = process.env, options: Partial<MlflowClientOptions> = {}): MlflowClient {
    const { retry, timeoutMs } = requestSettingsFromEnv(env);
    return new MlflowClient({ timeoutMs, ...options, retry: { ...retry, ...options.retry }, trackingUri, authorization: authorizationFromEnv(env) });
  }

  get retryPolicy(): RetryPolicy {
    return { ...this.retry };
  }

  /** The same server and credentials with another retry policy, e.g. a shorter one for a first probe. */
  withRetry(retry: Partial<RetryPolicy>): MlflowClient {
    return new MlflowClient({
      trackingUri: this.trackingUri,
      authorization: this.authorization,
      retry: { ...this.retry, ...retry },
      timeoutMs: this.timeoutMs,
      fetch: this.fetch,
      sleep: this.sleep,
    });
  }

  /** Deleted experiments too (lifecycle_stage 'deleted'): their names stay taken. */
  async getExperimentByName(name: string): Promise<{ experiment_id: string; name: string; lifecycle_stage: string } | null> {
    try {
      const res = await this.get<{ experiment: { experiment_id: string; name: string; lifecycle_stage: string } }>('mlflow/experiments/get-by-name', { experiment_name: name });
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
    const body = JSON.stringify({ name, tags: toKeyValues(tags) });
    try {
      const res = await this.request<{ experiment_id: string }>('POST', `${this.trackingUri}/api/2.0/mlflow/experiments/create`, 'mlflow/experiments/create', body, 'application/json', readJson, 0);
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
      const res = await this.post<{ experiments?: { experiment_id: string; name: string; tags?: KeyValue[] }[]; next_page_token?: string }>('mlflow/experiments/search', {
        max_results: 1000,
        view_type: 'ACTIVE_ONLY',
        ...(pageToken ? { page_token: pageToken } : {}),
      });
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

  /** A logged model in LOGGED_MODEL_PENDING: upload its files under its artifact_uri, then finalizeLoggedModel. */
  async createLoggedModel(model: { experimentId: string; name: string; sourceRunId: string; params?: Record<string, string>; tags?: Record<string, string> }): Promise<LoggedModelInfo> {
    const res = await this.post<{ model: { info: LoggedModelInfo } }>('mlflow/logged-models', {
      experiment_id: model.experimentId,
      name: model.name,
      source_run_id: model.sourceRunId,
      params: toKeyValues(model.params ?? {}),
      tags: toKeyValues(model.tags ?? {}),
    });
    return res.model.info;
  }

  async finalizeLoggedModel(modelId: string, status: 'LOGGED_MODEL_READY' | 'LOGGED_MODEL_UPLOAD_FAILED'): Promise<void> {
    await this.request('PATCH', `${this.trackingUri}/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}`, 'mlflow/logged-models', JSON.stringify({ model_id: modelId, status }), 'application/json');
  }

  /** Null when the server has no such model. */
  async findLoggedModel(modelId: string): Promise<LoggedModelInfo | null> {
    try {
      return (await this.get<{ model: { info: LoggedModelInfo } }>(`mlflow/logged-models/${encodeURIComponent(modelId)}`, {})).model.info;
    } catch (err) {
      if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return null;
      throw err;
    }
  }

  /** Records the model as an output of the run (the run page's "Logged models"). */
  async logOutputs(runId: string, models: { modelId: string; step: number }[]): Promise<void> {
    await this.post('mlflow/runs/outputs', { run_id: runId, models: models.map((m) => ({ model_id: m.modelId, step: m.step })) });
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
        if (dataset.digest.length > 36) throw new MlflowError(`dataset digest must be at most 36 characters (got ${dataset.digest.length})`);
        return { tags: context ? [{ key: 'mlflow.data.context', value: context }] : [], dataset };
      }),
    });
  }

  /** PUT through the server's artifact proxy; only `mlflow-artifacts:` run roots can be written this way. */
  async uploadArtifact(artifactUri: string, artifactPath: string, body: Uint8Array): Promise<void> {
    const url = `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${proxiedArtifactPath(artifactUri, artifactPath)}`;
    // A copy typed over a plain ArrayBuffer, which is what fetch's BodyInit accepts.
    await this.request('PUT', url, 'mlflow-artifacts/artifacts', new Uint8Array(body), 'application/octet-stream');
  }

  /** The bytes of one artifact, read through the server's artifact proxy. */
  async downloadArtifact(artifactUri: string, artifactPath: string): Promise<Uint8Array> {
    const url = `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${proxiedArtifactPath(artifactUri, artifactPath)}`;
    return this.request('GET', url, 'mlflow-artifacts/artifacts', undefined, undefined, async (res) => new Uint8Array(await res.arrayBuffer()));
  }

  /** One directory level, as the server lists it. */
  async listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    const files: FileInfo[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.get<{ files?: RawFileInfo[]; next_page_token?: string }>('mlflow/artifacts/list', {
        run_id: runId,
        ...(path ? { path } : {}),
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      files.push(...(res.files ?? []).map((f) => ({ path: f.path, is_dir: Boolean(f.is_dir), ...(f.file_size === undefined ? {} : { file_size: Number(f.file_size) }) })));
      pageToken = res.next_page_token;
    } while (pageToken);
    return files;
  }

  /** Every file under `path`, depth first. */
  async listAllArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    const out: FileInfo[] = [];
    for (const entry of await this.listArtifacts(runId, path)) {
      if (entry.is_dir) out.push(...(await this.listAllArtifacts(runId, entry.path)));
      else out.push(entry);
    }
    return out;
  }

  private async get<T>(endpoint: string, query: Record<string, string>): Promise<T> {
    const qs = new URLSearchParams(query).toString();
    return this.request<T>('GET', `${this.trackingUri}/api/2.0/${endpoint}?${qs}`, endpoint);
  }

  private async post<T>(endpoint: string, body: unknown): Promise<T> {
    return this.request<T>('POST', `${this.trackingUri}/api/2.0/${endpoint}`, endpoint, JSON.stringify(body), 'application/json');
  }

  private async request<T>(
    method: string,
    url: string,
    endpoint: string,
    body?: string | Uint8Array<ArrayBuffer>,
    contentType?: string,
    read: (res: Response) => Promise<T> = readJson,
    retries = this.retry.retries,
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (contentType) headers['Content-Type'] = contentType;
    if (this.authorization) headers.Authorization = this.authorization;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= retries;
      let res: Response;
      try {
        res = await this.fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (err) {
        if (last) throw new MlflowUnreachableError(this.trackingUri, err);
        await this.sleep(this.backoff(attempt));
        continue;
      }
      if (res.ok) return read(res);
      if (RETRYABLE_STATUS.has(res.status) && !last) {
        const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
        await res.body?.cancel();
        await this.sleep(Math.min(retryAfter ?? this.backoff(attempt), MAX_RETRY_AFTER_MS));
        continue;
      }
      throw await apiError(res, endpoint);
    }
  }

  private backoff(attempt: number): number {
    const exp = Math.min(this.retry.maxBackoffMs, this.retry.backoffMs * 2 ** attempt);
    return exp + Math.random() * this.retry.jitterMs;
  }
}

async function readJson<T>(res: Response): Promise<T> {
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** Splits a batch greedily; each chunk respects every limit in LOG_BATCH_LIMITS. */
export function chunkLogBatch(batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] }[] {
  const limits = LOG_BATCH_LIMITS;
  const envelopeBytes = 200; // run_id and the JSON around the three arrays
  const chunks: { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] }[] = [];
  let current = { metrics: [] as Metric[], params: [] as KeyValue[], tags: [] as KeyValue[] };
  let items = 0;
  let bytes = envelopeBytes;
  const flush = () => {
    if (items > 0) chunks.push(current);
    current = { metrics: [], params: [], tags: [] };
    items = 0;
    bytes = envelopeBytes;
  };
  const add = <K extends 'metrics' | 'params' | 'tags'>(kind: K, item: (typeof current)[K][number]) => {
    const size = Buffer.byteLength(JSON.stringify(kind === 'metrics' ? encodeMetric(item as Metric) : item)) + 1;
    if (current[kind].length >= limits[kind] || items >= limits.items || bytes + size > limits.bytes) flush();
    (current[kind] as (typeof item)[]).push(item);
    items += 1;
    bytes += size;
  };
  for (const p of batch.params ?? []) add('params', p);
  for (const t of batch.tags ?? []) add('tags', t);
  for (const m of batch.metrics ?? []) add('metrics', m);
  flush();
  return chunks;
}

export function toKeyValues(record: Record<string, string>): KeyValue[] {
  return Object.entries(record).map(([key, value]) => ({ key, value }));
}

/**
 * `mlflow-artifacts:/1/abc/artifacts` (optionally with a host) + `images/a.png` -> `1/abc/artifacts/images/a.png`,
 * each segment URL-encoded.
 */
export function proxiedArtifactPath(artifactUri: string, artifactPath: string): string {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri);
  if (!match) {
    throw new MlflowError(`run artifact root ${artifactUri} is not served by the tracking server (start it with artifact serving on)`);
  }
  const segments = [...match[1].split('/'), ...artifactPath.split('/')].filter((s) => s.length > 0);
  if (segments.some((s) => s === '..' || s === '.')) throw new MlflowError(`artifact path must not contain . or ..: ${artifactPath}`);
  return segments.map(encodeURIComponent).join('/');
}

// Proto3 JSON carries non-finite doubles as strings; a NaN loss must not make the whole batch invalid.
function encodeMetric(m: Metric): { key: string; value: number | string; timestamp: number; step: number; model_id?: string } {
  return { key: m.key, value: Number.isFinite(m.value) ? m.value : String(m.value), timestamp: m.timestamp, step: m.step, ...(m.model_id ? { model_id: m.model_id } : {}) };
}

type RawMetric = { key: string; value: number | string; timestamp: number | string; step?: number | string };
type RawFileInfo = { path: string; is_dir?: boolean; file_size?: number | string };
type RawRun = {
  info: RunInfo;
  data?: { metrics?: RawMetric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: { dataset: Omit<DatasetInput, 'context'>; tags?: KeyValue[] }[] };
};

function decodeMetric(m: RawMetric): Metric {
  return { key: m.key, value: Number(m.value), timestamp: Number(m.timestamp), step: Number(m.step ?? 0) };
}

function normalizeRun(run: RawRun): Run {
  return {
    info: { ...run.info, start_time: Number(run.info.start_time), ...(run.info.end_time === undefined ? {} : { end_time: Number(run.info.end_time) }) },
    data: { metrics: (run.data?.metrics ?? []).map(decodeMetric), params: run.data?.params ?? [], tags: run.data?.tags ?? [] },
    inputs: { dataset_inputs: (run.inputs?.dataset_inputs ?? []).map((d) => ({ dataset: d.dataset, tags: d.tags ?? [] })) },
  };
}

function parseRetryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

async function apiError(res: Response, endpoint: string): Promise<MlflowApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error_code?: string; message?: string };
    return new MlflowApiError(res.status, body.error_code ?? 'UNKNOWN', body.message ?? text, endpoint);
  } catch {
    return new MlflowApiError(res.status, res.status === 401 || res.status === 403 ? 'UNAUTHENTICATED' : 'UNKNOWN', text.slice(0, 300) || res.statusText, endpoint);
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as Error & { cause?: unknown }).cause;
    if (inner instanceof Error) return `${cause.message} (${inner.message})`;
    return cause.message;
  }
  return String(cause);
}
