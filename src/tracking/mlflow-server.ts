// Finding or starting the MLflow tracking server a run logs to.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, withFileLock } from './file-lock.ts';
import { RuntimeFailure, UserError } from '../errors.ts';

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

/** The local MLflow of a runs folder: its store `<runs-dir>/mlflow`, served at 127.0.0.1 on VAE_MLFLOW_PORT (default 5000). */
export interface LocalMlflow {
  storeDir: string;
  url: string;
}

export class LocalServerError extends RuntimeFailure {}

/** MLflow is needed and not installed, or not reachable as configured. */
export class MlflowSetupError extends UserError {}

export function localMlflow(runsDir: string, env: NodeJS.ProcessEnv = process.env): LocalMlflow {
  const raw = env.VAE_MLFLOW_PORT?.trim() || String(new URL(DEFAULT_TRACKING_URI).port);
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new LocalServerError(`VAE_MLFLOW_PORT=${raw}: expected a port number from 1 to 65535`);
  return { storeDir: resolve(runsDir, 'mlflow'), url: `http://127.0.0.1:${port}` };
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
  if (!executable) throw new MlflowSetupError(`MLflow is not installed in .venv; run: ${SETUP_HINT}`);
  const host = options.host ?? '127.0.0.1';
  const storeDir = resolve(options.storeDir);
  mkdirSync(join(storeDir, 'artifacts'), { recursive: true });
  const args = [
    'server',
    '--backend-store-uri',
    `sqlite:///${join(storeDir, 'mlflow.db')}`,
    '--artifacts-destination',
    join(storeDir, 'artifacts'),
    '--host',
    host,
    '--port',
    String(options.port),
    '--workers',
    String(options.workers ?? 2),
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
    if (exited)
      throw new LocalServerError(
        `mlflow server ${exited} before it answered on ${url}${where} (another program on port ${options.port}? VAE_MLFLOW_PORT picks another)`,
      );
    if (Date.now() > deadline) {
      killGroup(child.pid!, 'SIGKILL');
      throw new LocalServerError(`mlflow server did not answer ${url}/health in time${where}`);
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

/** Where the pid and URL of the server started on a store are kept: `vae ui --stop` reads it. */
const RECORD = 'server.json';

/**
 * The local server `vae run` and `vae ui` share: reuses one already answering at its URL, else starts one detached
 * (it outlives this process, logging to <store>/server.log). Runs started together all find no server; a lock
 * around the start lets exactly one of them start it while the others wait and then find it answering.
 * Null when MLflow is not installed.
 */
export async function ensureLocalServer(local: LocalMlflow, root: string = PROJECT_ROOT): Promise<string | null> {
  if (await isServerUp(local.url)) return local.url;
  const executable = mlflowExecutable(root);
  if (!executable) return null;
  mkdirSync(local.storeDir, { recursive: true });
  return withFileLock(
    join(local.storeDir, 'server.lock'),
    async () => {
      if (await isServerUp(local.url)) return local.url;
      const { port, hostname } = new URL(local.url);
      const server = await startServer({
        port: Number(port),
        host: hostname,
        storeDir: local.storeDir,
        executable,
        detached: true,
        logFile: join(local.storeDir, 'server.log'),
      });
      writeFileSync(join(local.storeDir, RECORD), `${JSON.stringify({ pid: server.pid, url: server.url })}\n`);
      return server.url;
      // Longer than startServer's own wait for /health, so a waiter never gives up on a start that is still going well.
    },
    { timeoutMs: 120_000 },
  );
}

/**
 * Stops every local server of this store and all their processes: the one recorded at its start, and any other
 * `mlflow server` whose command line names the store (left by a crash, or started before the start lock existed).
 * Returns how many servers it stopped.
 */
export async function stopLocalServer(local: LocalMlflow): Promise<number> {
  const record = join(local.storeDir, RECORD);
  const leaders = new Set(serverProcessesOf(local.storeDir));
  if (existsSync(record)) {
    const { pid } = JSON.parse(readFileSync(record, 'utf8')) as { pid: number };
    // Without /proc the record is all there is; with it, a recorded pid that no longer serves this store was reused.
    if (isAlive(pid) && !existsSync('/proc')) leaders.add(pid);
    rmSync(record);
  }
  // Each server was started as the leader of its own process group (uvicorn and its workers are in it).
  for (const pid of leaders) killGroup(pid, 'SIGTERM');
  const alive = () => [...leaders].filter(groupAlive);
  for (const deadline = Date.now() + 10_000; alive().length > 0 && Date.now() < deadline;)
    await new Promise((done) => setTimeout(done, 100));
  for (const pid of alive()) killGroup(pid, 'SIGKILL');
  return leaders.size;
}

/** Pids of the `mlflow server` processes serving this store that lead their own process group (Linux: from /proc). */
function serverProcessesOf(storeDir: string): number[] {
  if (!existsSync('/proc')) return [];
  const store = `sqlite:///${join(storeDir, 'mlflow.db')}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv.includes('server') || !argv.includes(store)) continue;
      // The fields after the command name: state, parent pid, process group.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pid) found.push(pid);
    } catch {
      // It exited while we looked.
    }
  }
  return found;
}

/**
 * Where a run should log: MLFLOW_TRACKING_URI when set, else the local server (started if needed). Null, after one
 * line on `log` saying how to enable MLflow, when there is neither.
 */
export async function resolveTrackingUri(options: {
  runsDir: string;
  env?: NodeJS.ProcessEnv;
  root?: string;
  log?: (line: string) => void;
}): Promise<string | null> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.error(line));
  if (env.MLFLOW_TRACKING_URI) return env.MLFLOW_TRACKING_URI;
  try {
    const url = await ensureLocalServer(localMlflow(options.runsDir, env), options.root);
    if (!url)
      log(
        `[mlflow] MLflow is not set up, so this run is recorded only under runs/. Enable it with: ${SETUP_HINT} (or set MLFLOW_TRACKING_URI)`,
      );
    return url;
  } catch (err) {
    log(`[mlflow] could not start the local MLflow server (${(err as Error).message}); this run is recorded only under runs/`);
    return null;
  }
}

function groupAlive(leader: number): boolean {
  try {
    process.kill(-leader, 0);
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
