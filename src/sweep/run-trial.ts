// One trial = one `vae run` child process (or `vae run --resume` of its stopped run), its output in the trial's log
// file rather than on the terminal, and its record complete in MLflow once it ends, however it ended.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Trial } from './expand.ts';
import type { TrialOutcome, TrialStatus } from './record.ts';
import { isSignalExitCode } from '../errors.ts';
import { readRunLocation } from '../record/run-location.ts';
import { RunRecord } from '../record/run-record.ts';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { completeTrialInMlflow } from './complete-in-mlflow.ts';
import { recordKilledOutright } from './trial-runs.ts';

/** The `vae` command of this checkout, run with node directly: no npm in between to swallow signals. */
export const VAE_BIN = fileURLToPath(new URL('../../bin/vae.js', import.meta.url));

export interface TrialLaunch {
  /** The sweep's overrides for every trial; the trial's own follow. */
  overrides: string[];
  runsDir: string;
  /** Null: the trial records under runs/ only (--no-mlflow). */
  trackingUri: string | null;
  /** Tags every trial gets: the parent run, the sweep id, the swept keys. */
  tags: Record<string, string>;
  backend?: string;
  logFile: string;
  /** Where `vae run --record-file` writes the trial's run folder. */
  locationFile: string;
  /** Lets the sweep end its trials on Ctrl-C. */
  onSpawn?: (kill: (signal: NodeJS.Signals) => void) => void;
}

/** `vae run`'s arguments for the trial; with resumeDir, those that go on with its stopped run instead. */
export function trialArgs(trial: Trial, launch: Omit<TrialLaunch, 'logFile' | 'locationFile' | 'onSpawn'>, resumeDir?: string): string[] {
  const where = [
    '--runs-dir',
    launch.runsDir,
    ...(launch.trackingUri ? [] : ['--no-mlflow']),
    ...(launch.backend ? ['--backend', launch.backend] : []),
  ];
  // A resumed run goes on with the resolved spec and the tags it recorded.
  if (resumeDir) return ['run', '--resume', resumeDir, ...where];
  const tags = { ...launch.tags, 'vae.trial_id': trial.id };
  return [
    'run',
    trial.base,
    ...launch.overrides,
    ...trial.overrides,
    ...where,
    ...Object.entries(tags).flatMap(([k, v]) => ['--tag', `${k}=${v}`]),
  ];
}

/** Runs the trial, or resumes its stopped run in resumeDir, to its end; the outcome says how it ended. */
export async function runTrial(trial: Trial, launch: TrialLaunch, resumeDir?: string): Promise<TrialOutcome> {
  const started = Date.now();
  const log = openSync(launch.logFile, 'a');
  rmSync(launch.locationFile, { force: true });
  const env = { ...process.env, ...(launch.trackingUri ? { MLFLOW_TRACKING_URI: launch.trackingUri } : {}) };
  const args = [VAE_BIN, ...trialArgs(trial, launch, resumeDir), '--record-file', launch.locationFile];
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    // Its own process group: a Ctrl-C on the terminal reaches only the sweep, which passes it on exactly once.
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', log, log], detached: true });
    launch.onSpawn?.((s) => child.kill(s));
    child.on('error', (err) => {
      appendFileSync(launch.logFile, `cannot start vae run: ${err.message}\n`);
      done({ code: -1, signal: null });
    });
    child.on('close', (c, s) => done({ code: c, signal: s }));
  });
  closeSync(log);
  const runDir = readRunLocation(launch.locationFile)?.run_dir;
  const record = runDir ? new RunRecord(runDir) : undefined;
  const status: TrialStatus = code === 0 ? 'FINISHED' : isSignalExitCode(code) ? 'KILLED' : 'FAILED';
  const killedOutright = runDir && signal ? recordKilledOutright(runDir, signal) : undefined;
  if (killedOutright) appendFileSync(launch.logFile, `${killedOutright}\n`);
  if (runDir && launch.trackingUri) await completeInMlflow(runDir, launch.trackingUri, launch.logFile);
  const mlflowRunId = record?.readMlflow()?.run_id;
  return {
    trial_id: trial.id,
    index: trial.index,
    overrides: trial.overrides,
    setting: trial.setting,
    ...(trial.spec ? { spec: trial.spec } : {}),
    status,
    ...(runDir ? { run_dir: runDir } : {}),
    ...(mlflowRunId ? { mlflow_run_id: mlflowRunId } : {}),
    metrics: record && status === 'FINISHED' ? (record.readSummary()?.metrics ?? {}) : {},
    start_time: started,
    end_time: Date.now(),
  };
}

/**
 * A failure here is said in the trial's log and left to `vae sync`: the trial itself ended as its record says. The
 * short policy keeps a server that hangs from holding up the sweep's next trial for minutes.
 */
async function completeInMlflow(runDir: string, trackingUri: string, logFile: string): Promise<void> {
  try {
    const client = MlflowClient.fromEnv(trackingUri, process.env, { timeoutMs: 30_000, retry: { retries: 1 } });
    const completion = await completeTrialInMlflow(runDir, client);
    if (completion) appendFileSync(logFile, `[sweep] ${completion.line}\n`);
  } catch (err) {
    appendFileSync(
      logFile,
      `[sweep] could not upload this run to MLflow (${(err as Error).message}); upload it later with: npx vae sync ${runDir}\n`,
    );
  }
}
