// The HTTP side of talking to MLflow's REST API: where the server is, credentials, timeouts, and retries with
// backoff on the answers MLflow's own client retries (see shared/REFERENCE.md).
import { setTimeout as delay } from 'node:timers/promises';
import { MlflowApiError, MlflowUnreachableError } from './mlflow-errors.ts';

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
  /** Cancels every request and backoff of this client at once, e.g. when a run stops waiting for MLflow. */
  signal?: AbortSignal;
}

// Close to the Python client's policy (7 retries, factor 2, 1 s jitter) but capped, so an unreachable server
// turns into "MLflow is off for this run" in about half a minute rather than several minutes.
export const DEFAULT_RETRY: RetryPolicy = { retries: 5, backoffMs: 1000, maxBackoffMs: 16_000, jitterMs: 1000 };
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
// A server asking for an hour's pause would stall training; past this the tracker gives up and sync finishes later.
const MAX_RETRY_AFTER_MS = 60_000;

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

/** Requests to one tracking server; the API classes built on it only say which endpoint and what body. */
export class MlflowHttp {
  readonly trackingUri: string;
  private readonly authorization: string | undefined;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly signal: AbortSignal | undefined;
  private readonly options: MlflowClientOptions;

  constructor(options: MlflowClientOptions) {
    this.options = options;
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
    this.signal = options.signal;
    this.sleep = options.sleep ?? ((ms) => delay(ms, undefined, { signal: this.signal }));
  }

  get retryPolicy(): RetryPolicy {
    return { ...this.retry };
  }

  /** The options of the same server and credentials with some changed, e.g. another retry policy. */
  protected optionsWith(changes: Partial<MlflowClientOptions>): MlflowClientOptions {
    return { ...this.options, ...changes, retry: { ...this.retry, ...changes.retry } };
  }

  protected async get<T>(endpoint: string, query: Record<string, string>): Promise<T> {
    const qs = new URLSearchParams(query).toString();
    return this.request<T>('GET', `${this.trackingUri}/api/2.0/${endpoint}?${qs}`, endpoint);
  }

  /** `retries` below the policy's: 0 for a request whose repeat after a lost answer would mean something else. */
  protected async post<T>(endpoint: string, body: unknown, retries = this.retry.retries): Promise<T> {
    return this.request<T>(
      'POST',
      `${this.trackingUri}/api/2.0/${endpoint}`,
      endpoint,
      JSON.stringify(body),
      'application/json',
      readJson,
      retries,
    );
  }

  protected async request<T>(
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
        const timeout = AbortSignal.timeout(this.timeoutMs);
        res = await this.fetch(url, { method, headers, body, signal: this.signal ? AbortSignal.any([timeout, this.signal]) : timeout });
      } catch (err) {
        if (last || this.signal?.aborted) throw new MlflowUnreachableError(this.trackingUri, err);
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
    return new MlflowApiError(
      res.status,
      res.status === 401 || res.status === 403 ? 'UNAUTHENTICATED' : 'UNKNOWN',
      text.slice(0, 300) || res.statusText,
      endpoint,
    );
  }
}
