// Finding or starting the MLflow tracking server a run logs to.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
export const DEFAULT_TRACKING_URI = 'http://127.0.0.1:5000';
export const SETUP_HINT = 'npm run setup:mlflow';

export interface MlflowServer {
  url: string;
  pid: number;
  /** Ends the server and its workers (the whole process group). */
  stop(): Promise<void>;
}

export interface StartServerOptions {
  port: number;
  host?: string;
  /** Holds mlflow.db and artifacts/. */
  storeDir: string;
  /** stdout and stderr of the server; discarded when absent. */
  logFile?: string;
  /** Leave the server running after this process exits (for `vae ui` and later runs). */
  detached?: boolean;
  executable?: string;
  workers?: number;
  healthTimeoutMs?: number;
}

/** The `mlflow` command of the project venv, or null when `npm run setup:mlflow` has not been run. */
export function mlflowExecutable(root: string = PROJECT_ROOT): string | null {
  const path = join(root, '.venv', 'bin', 'mlflow');
  return existsSync(path) ? path : null;
}

/** The local store of `vae run`/`vae ui`: runs/mlflow under the project. */
export function defaultStoreDir(root: string = PROJECT_ROOT): string {
  return join(root, 'runs', 'mlflow');
}

/** True when `GET <url>/health` answers 200 within `timeoutMs`. */
export async function isServerUp(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts `mlflow server` on a sqlite store with proxied artifacts and waits until /health answers. */
export async function startServer(options: StartServerOptions): Promise<MlflowServer> {
  const executable = options.executable ?? mlflowExecutable();
  if (!executable) throw new Error(`MLflow is not installed in .venv; run: ${SETUP_HINT}`);
  const host = options.host ?? '127.0.0.1';
  const storeDir = resolve(options.storeDir);
  mkdirSync(join(storeDir, 'artifacts'), { recursive: true });
  const args = [
    'server',
    '--backend-store-uri', `sqlite:///${join(storeDir, 'mlflow.db')}`,
    '--artifacts-destination', join(storeDir, 'artifacts'),
    '--host', host,
    '--port', String(options.port),
    '--workers', String(options.workers ?? 2),
  ];
  const logFd = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  // Its own process group, so stop() can end the uvicorn workers with it.
  // MLflow's job runner serves GenAI features vae-lab does not use; skipping it saves a process and start-up time.
  const env = { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: process.env.MLFLOW_SERVER_ENABLE_JOB_EXECUTION ?? 'false' };
  const child = spawn(executable, args, { detached: true, env, stdio: ['ignore', logFd, logFd] });
  if (typeof logFd === 'number') closeSync(logFd);
  if (options.detached) child.unref();
  const url = `http://${host}:${options.port}`;
  let exited: string | null = null;
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  child.on('error', (err) => (exited = err.message));

  const deadline = Date.now() + (options.healthTimeoutMs ?? 90_000);
  while (!(await isServerUp(url, 1000))) {
    const where = options.logFile ? `; see ${options.logFile}` : '';
    if (exited) throw new Error(`mlflow server ${exited} before it answered on ${url}${where}`);
    if (Date.now() > deadline) {
      killGroup(child.pid!, 'SIGKILL');
      throw new Error(`mlflow server did not answer ${url}/health in time${where}`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  const pid = child.pid!;
  return {
    url,
    pid,
    stop: async () => {
      if (exited) return;
      const gone = new Promise<void>((done) => child.once('exit', () => done()));
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * The local server `vae run` and `vae ui` share: reuses one already answering at DEFAULT_TRACKING_URI, else starts
 * one detached (it outlives this process, logging to runs/mlflow/server.log). Null when MLflow is not installed.
 */
export async function ensureLocalServer(root: string = PROJECT_ROOT): Promise<string | null> {
  if (await isServerUp(DEFAULT_TRACKING_URI)) return DEFAULT_TRACKING_URI;
  const executable = mlflowExecutable(root);
  if (!executable) return null;
  const storeDir = defaultStoreDir(root);
  mkdirSync(storeDir, { recursive: true });
  const { port, hostname } = new URL(DEFAULT_TRACKING_URI);
  const server = await startServer({ port: Number(port), host: hostname, storeDir, executable, detached: true, logFile: join(storeDir, 'server.log') });
  writeFileSync(join(storeDir, 'server.pid'), `${server.pid}\n`);
  return server.url;
}

/** Stops the server ensureLocalServer started (its pid is in runs/mlflow/server.pid); false when there was none. */
export async function stopLocalServer(root: string = PROJECT_ROOT): Promise<boolean> {
  const pidFile = join(defaultStoreDir(root), 'server.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile);
  if (!isAlive(pid)) return false;
  killGroup(pid, 'SIGTERM');
  for (const deadline = Date.now() + 10_000; isAlive(pid) && Date.now() < deadline; ) await new Promise((done) => setTimeout(done, 100));
  if (isAlive(pid)) killGroup(pid, 'SIGKILL');
  return true;
}

/**
 * Where a run should log: MLFLOW_TRACKING_URI when set, else the local server (started if needed). Null, after one
 * line on `log` saying how to enable MLflow, when there is neither.
 */
export async function resolveTrackingUri(options: { env?: NodeJS.ProcessEnv; root?: string; log?: (line: string) => void } = {}): Promise<string | null> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.error(line));
  if (env.MLFLOW_TRACKING_URI) return env.MLFLOW_TRACKING_URI;
  try {
    const url = await ensureLocalServer(options.root);
    if (!url) log(`[mlflow] MLflow is not set up, so this run is recorded only under runs/. Enable it with: ${SETUP_HINT} (or set MLFLOW_TRACKING_URI)`);
    return url;
  } catch (err) {
    log(`[mlflow] could not start the local MLflow server (${(err as Error).message}); this run is recorded only under runs/`);
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
