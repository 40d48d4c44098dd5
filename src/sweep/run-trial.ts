// One trial = one `vae run` child process, its output in the trial's log file rather than on the terminal.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Trial } from './expand.ts';
import type { TrialOutcome, TrialStatus } from './record.ts';
import { isSignalExitCode } from '../errors.ts';

const VAE_BIN = fileURLToPath(new URL('../../bin/vae.js', import.meta.url));

export interface TrialLaunch {
  base: string;
  /** The sweep's overrides for every trial; the trial's own follow. */
  overrides: string[];
  runsDir: string;
  /** Null: the trial records under runs/ only (--no-mlflow). */
  trackingUri: string | null;
  /** Tags every trial gets: the parent run, the sweep id, the swept keys. */
  tags: Record<string, string>;
  backend?: string;
  logFile: string;
  /** Lets the sweep end its trials on Ctrl-C. */
  onSpawn?: (kill: (signal: NodeJS.Signals) => void) => void;
}

export function trialArgs(trial: Trial, launch: Omit<TrialLaunch, 'logFile' | 'onSpawn'>): string[] {
  const tags = { ...launch.tags, 'vae.trial_id': trial.id };
  return [
    'run', launch.base, ...launch.overrides, ...trial.overrides,
    '--runs-dir', launch.runsDir,
    ...(launch.trackingUri ? [] : ['--no-mlflow']),
    ...(launch.backend ? ['--backend', launch.backend] : []),
    ...Object.entries(tags).flatMap(([k, v]) => ['--tag', `${k}=${v}`]),
  ];
}

export async function runTrial(trial: Trial, launch: TrialLaunch): Promise<TrialOutcome> {
  const started = Date.now();
  const log = openSync(launch.logFile, 'a');
  const env = { ...process.env, ...(launch.trackingUri ? { MLFLOW_TRACKING_URI: launch.trackingUri } : {}) };
  const code = await new Promise<number | null>((done) => {
    // Its own process group: a Ctrl-C on the terminal reaches only the sweep, which passes it on exactly once.
    const child = spawn(process.execPath, [VAE_BIN, ...trialArgs(trial, launch)], { env, stdio: ['ignore', log, log], detached: true });
    launch.onSpawn?.((signal) => child.kill(signal));
    child.on('error', (err) => {
      appendFileSync(launch.logFile, `cannot start vae run: ${err.message}\n`);
      done(-1);
    });
    child.on('close', (c) => done(c));
  });
  closeSync(log);
  const runDir = runDirFromLog(readFileSync(launch.logFile, 'utf8'));
  const status: TrialStatus = code === 0 ? 'FINISHED' : isSignalExitCode(code) ? 'KILLED' : 'FAILED';
  return {
    trial_id: trial.id,
    index: trial.index,
    overrides: trial.overrides,
    setting: trial.setting,
    status,
    ...(runDir ? { run_dir: runDir } : {}),
    ...(runDir ? mlflowRunOf(runDir) : {}),
    metrics: runDir && status === 'FINISHED' ? finalMetrics(runDir) : {},
    start_time: started,
    end_time: Date.now(),
  };
}

/** `vae run` announces `run <id> -> <dir> (MLflow: ...)` first; a log can hold earlier attempts, so the last one counts. */
function runDirFromLog(text: string): string | undefined {
  const announced = [...text.matchAll(/^run \S+ -> (.+?)(?: \(MLflow: .*\))?$/gm)];
  return announced.at(-1)?.[1];
}

function mlflowRunOf(runDir: string): { mlflow_run_id?: string } {
  const file = join(runDir, 'mlflow.json');
  return existsSync(file) ? { mlflow_run_id: (JSON.parse(readFileSync(file, 'utf8')) as { run_id: string }).run_id } : {};
}

function finalMetrics(runDir: string): Record<string, number> {
  const file = join(runDir, 'summary.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { metrics: Record<string, number> }).metrics : {};
}
