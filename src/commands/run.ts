import { join } from 'node:path';
import { selectBackend, type BackendName } from '../backend.ts';
import { createRunDir, runExperiment } from '../runner.ts';
import type { LoadedSpec } from '../spec/load.ts';
import { LocalRunRecord } from '../tracking/local.ts';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { resolveTrackingUri } from '../tracking/mlflow-server.ts';
import { MlflowTracker } from '../tracking/mlflow-tracker.ts';
import { TrackerFanout, type Tracker } from '../tracking/tracker.ts';
import { progressReporter } from '../train/progress.ts';

export interface RunOptions {
  backend: BackendName | 'auto';
  runsDir: string;
  /** False with --no-mlflow: record only under runs/. */
  mlflow: boolean;
  /** Extra run tags from --tag, e.g. mlflow.parentRunId for a sweep's child run. */
  tag: Record<string, string>;
}

const say = (line: string) => process.stderr.write(`${line}\n`);

/** `vae run`: trains one spec; Ctrl-C or SIGTERM stops after the current step and still records the run. */
export async function runCommand(loaded: LoadedSpec, options: RunOptions): Promise<void> {
  const backend = await selectBackend(options.backend);
  const { runId, runDir } = createRunDir(options.runsDir, loaded.spec.tracking.experiment);
  const trackers: Tracker[] = [new LocalRunRecord(runDir, runId)];
  const trackingUri = options.mlflow ? await resolveTrackingUri({ log: say }) : null;
  if (trackingUri) trackers.push(new MlflowTracker(MlflowClient.fromEnv(trackingUri), runDir, say));
  const tracker = new TrackerFanout(trackers);

  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal) process.exit(exitCodeFor(s));
    signal = s;
    say(`${s}: finishing the current step and saving what there is (again to quit at once)`);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

  say(`run ${runId} -> ${runDir}${trackingUri ? ` (MLflow: ${new URL(trackingUri).origin})` : ''}`);
  try {
    const outcome = await runExperiment(loaded, { runDir, runId, backend, tracker, extraTags: options.tag, progress: progressReporter(), say, shouldStop: () => signal !== undefined });
    await tracker.end(outcome.status, Date.now());
    say(`${outcome.status.toLowerCase()}: ${join(runDir, 'summary.json')}`);
    if (signal) process.exitCode = exitCodeFor(signal);
  } catch (e) {
    await tracker.end('FAILED', Date.now(), (e as Error).message.slice(0, 5000));
    throw e;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

/** The shell's convention: 128 + the signal number. */
function exitCodeFor(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}
