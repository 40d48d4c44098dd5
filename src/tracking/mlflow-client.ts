// The MLflow client vae-lab passes around: the experiment and run endpoints (mlflow-runs-api.ts) plus MLflow 3's
// logged models and the run artifacts the tracking server proxies.
import { MlflowApiError, MlflowError } from './mlflow-errors.ts';
import { authorizationFromEnv, requestSettingsFromEnv, type MlflowClientOptions, type RetryPolicy } from './mlflow-http.ts';
import { decodeFileInfo, toKeyValues, type FileInfo, type LoggedModelInfo, type RawFileInfo } from './mlflow-records.ts';
import { MlflowRunsApi } from './mlflow-runs-api.ts';

export class MlflowClient extends MlflowRunsApi {
  /** The client for MLFLOW_TRACKING_URI-style settings taken from the environment (auth, retries, timeout). */
  static fromEnv(trackingUri: string, env: NodeJS.ProcessEnv = process.env, options: Partial<MlflowClientOptions> = {}): MlflowClient {
    const { retry, timeoutMs } = requestSettingsFromEnv(env);
    return new MlflowClient({
      timeoutMs,
      ...options,
      retry: { ...retry, ...options.retry },
      trackingUri,
      authorization: authorizationFromEnv(env),
    });
  }

  /** The same server and credentials with another retry policy, e.g. a shorter one for a first probe. */
  withRetry(retry: Partial<RetryPolicy>): MlflowClient {
    return new MlflowClient(this.optionsWith({ retry }));
  }

  /** The same client, with every request and backoff cancelled once `signal` aborts. */
  withSignal(signal: AbortSignal): MlflowClient {
    return new MlflowClient(this.optionsWith({ signal }));
  }

  /** A logged model in LOGGED_MODEL_PENDING: upload its files under its artifact_uri, then finalizeLoggedModel. */
  async createLoggedModel(model: {
    experimentId: string;
    name: string;
    sourceRunId: string;
    params?: Record<string, string>;
    tags?: Record<string, string>;
  }): Promise<LoggedModelInfo> {
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
    await this.request(
      'PATCH',
      `${this.trackingUri}/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}`,
      'mlflow/logged-models',
      JSON.stringify({ model_id: modelId, status }),
      'application/json',
    );
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

  /** PUT through the server's artifact proxy; only `mlflow-artifacts:` run roots can be written this way. */
  async uploadArtifact(artifactUri: string, artifactPath: string, body: Uint8Array): Promise<void> {
    const url = `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${proxiedArtifactPath(artifactUri, artifactPath)}`;
    // A copy typed over a plain ArrayBuffer, which is what fetch's BodyInit accepts.
    await this.request('PUT', url, 'mlflow-artifacts/artifacts', new Uint8Array(body), 'application/octet-stream');
  }

  /** The bytes of one artifact, read through the server's artifact proxy. */
  async downloadArtifact(artifactUri: string, artifactPath: string): Promise<Uint8Array> {
    const url = `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${proxiedArtifactPath(artifactUri, artifactPath)}`;
    return this.request(
      'GET',
      url,
      'mlflow-artifacts/artifacts',
      undefined,
      undefined,
      async (res) => new Uint8Array(await res.arrayBuffer()),
    );
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
      files.push(...(res.files ?? []).map(decodeFileInfo));
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
