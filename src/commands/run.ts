import { existsSync } from 'node:fs';
import type { BackendName } from '../backend-names.ts';
import { selectBackend } from '../backend.ts';
import type { LoadedSpec } from '../experiment-spec/load.ts';
import { RunWriteError } from '../record/file-system-errors.ts';
import { writeRunLocation } from '../record/run-location.ts';
import { RUN_ARTIFACTS, RunRecord } from '../record/run-record.ts';
import { loadRunData } from '../run/run-data.ts';
import { runExperiment } from '../run/run-experiment.ts';
import { LocalRunRecord } from '../tracking/local.ts';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { resolveTrackingUri } from '../tracking/mlflow-server.ts';
import { MlflowTracker } from '../tracking/mlflow-tracker.ts';
import { mlflowLinks } from '../tracking/mlflow-ui.ts';
import { SkipLoggedPoints, TrackerFanout, type Tracker } from '../tracking/tracker.ts';
import { fallBackToPreviousCheckpoint, findCheckpoint, type Checkpoint } from '../train/checkpoint.ts';
import { checkpointDamage, checkpointDir, type Generation } from '../train/checkpoint-files.ts';
import { progressReporter } from '../train/progress.ts';
import type { TrainingState } from '../train/trainer.ts';
import { UserError, exitCodeForSignal } from '../errors.ts';
import { say } from './say.ts';

export interface RunOptions {
  backend: BackendName | 'auto';
  runsDir: string;
  /** False with --no-mlflow: record only under runs/. */
  mlflow: boolean;
  /** Extra run tags from --tag, e.g. mlflow.parentRunId for a sweep's child run. */
  tag: Record<string, string>;
  /** --record-file: where to write the run folder's location as JSON once it exists, for a parent process. */
  recordFile?: string;
}

/** A run that cannot be resumed: said in one line, exit code 2. */
export class ResumeError extends UserError {}

/**
 * What `vae run --resume <runDir>` goes on with: the run's own resolved spec and its last checkpoint, checked file by
 * file. A damaged checkpoint stops here, offering the one saved before it (`previous`), which then takes its place.
 */
export function resumePoint(
  runDir: string,
  generation: Generation = 'latest',
): { runId: string; checkpoint: Checkpoint; specFile: string } {
  const record = new RunRecord(runDir);
  const specFile = record.path(RUN_ARTIFACTS.resolvedSpec);
  if (!record.exists() || !existsSync(specFile)) {
    throw new ResumeError(`${runDir}: not a vae-lab run folder (no run record or resolved spec); runs live in runs/<experiment>/<run-id>`);
  }
  const run = record.readRun();
  if (run.status === 'FINISHED') throw new ResumeError(`${runDir}: this run is FINISHED already; nothing to resume`);
  return { runId: run.run_id ?? record.runId, checkpoint: checkedCheckpoint(runDir, generation), specFile };
}

/** The checkpoint to resume from, every file as it was saved; with `previous`, that one replaces the damaged latest. */
function checkedCheckpoint(runDir: string, generation: Generation): Checkpoint {
  const dir = checkpointDir(runDir, generation);
  if (!dir && generation === 'previous')
    throw new ResumeError(`${runDir}: no previous checkpoint is kept; resume without --previous-checkpoint`);
  if (!dir) {
    throw new ResumeError(
      `${runDir}: no checkpoint to resume from (the run stopped before its first epoch ended, or predates checkpoints); start it again with npx vae run`,
    );
  }
  const damage = checkpointDamage(dir);
  if (damage) throw new ResumeError(`${damage}; ${generation === 'latest' ? previousOffer(runDir) : 'no earlier checkpoint is kept'}`);
  if (generation === 'previous') {
    const latest = checkpointDir(runDir, 'latest')!;
    if (!checkpointDamage(latest)) throw new ResumeError(`${latest} is intact: resume from it, without --previous-checkpoint`);
    fallBackToPreviousCheckpoint(runDir);
    say(`the damaged latest checkpoint is deleted; the previous one takes its place`);
  }
  return findCheckpoint(runDir)!;
}

/** How to go on when the latest checkpoint is damaged: from the previous one when it is intact (one more epoch to train). */
function previousOffer(runDir: string): string {
  const previous = checkpointDir(runDir, 'previous');
  if (!previous || checkpointDamage(previous))
    return 'no intact earlier checkpoint is kept: put back a good copy of that file, or start the run again';
  return `resume from the checkpoint before it (${whereStopped(findCheckpoint(runDir, 'previous')!.state)}) with: npx vae run --resume ${runDir} --previous-checkpoint`;
}

/** `vae run`: trains one spec; Ctrl-C or SIGTERM stops after the current step and still records the run. */
export async function runCommand(
  loaded: LoadedSpec,
  options: RunOptions,
  resume?: { runDir: string; runId: string; checkpoint: Checkpoint },
): Promise<void> {
  const backend = await selectBackend(options.backend, loaded.spec.model.architecture);
  const data = loadRunData(loaded);
  const record = resume ? new RunRecord(resume.runDir) : RunRecord.create(options.runsDir, loaded.spec.tracking.experiment);
  if (options.recordFile) writeRunLocation(options.recordFile, record);
  const { dir: runDir } = record;
  const runId = resume?.runId ?? record.runId;
  const { tracker, sayLinks, experimentsUrl } = await runTrackers(record, runId, loaded, options, resume !== undefined);

  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal) process.exit(exitCodeForSignal(s));
    signal = s;
    say(
      `${s}: finishing the current step and saving what there is (again to quit at once); afterwards resume with: npx vae run --resume ${runDir}`,
    );
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

  say(`${resume ? 'resume' : 'run'} ${runId} -> ${runDir}${experimentsUrl ? ` (MLflow: ${experimentsUrl})` : ''}`);
  try {
    const outcome = await runExperiment(loaded, data, {
      record,
      backend,
      tracker,
      extraTags: options.tag,
      progress: progressReporter(),
      say,
      shouldStop: () => signal !== undefined,
      resume: resume?.checkpoint,
    });
    await tracker.end(outcome.status, Date.now());
    say(`${outcome.status.toLowerCase()}: ${record.path(RUN_ARTIFACTS.summary)}`);
    sayLinks();
    if (signal) {
      const checkpoint = findCheckpoint(runDir);
      say(
        checkpoint
          ? `stopped ${whereStopped(checkpoint.state)}; resume with: npx vae run --resume ${runDir}`
          : 'stopped before the first epoch ended: no checkpoint to resume from',
      );
      process.exitCode = exitCodeForSignal(signal);
    }
  } catch (e) {
    const error = RunWriteError.isDiskError(e) ? new RunWriteError(runDir, e, findCheckpoint(runDir)?.state.epoch) : (e as Error);
    try {
      await tracker.end('FAILED', Date.now(), error.message.slice(0, 5000));
    } catch (endError) {
      // The disk may still be full; every tracker has been tried (TrackerFanout), and the cause matters more.
      say(`the run could not be marked FAILED everywhere: ${(endError as Error).message.split('\n')[0]}`);
    }
    sayLinks();
    throw error;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

/** The local record always; MLflow too unless --no-mlflow or none is set up. On resume, points logged before are skipped. */
async function runTrackers(record: RunRecord, runId: string, loaded: LoadedSpec, options: RunOptions, resuming: boolean) {
  const trackers: Tracker[] = [new LocalRunRecord(record.dir, runId)];
  const trackingUri = options.mlflow ? await resolveTrackingUri({ runsDir: options.runsDir, log: say }) : null;
  const client = trackingUri ? MlflowClient.fromEnv(trackingUri) : null;
  const mlflow = client ? new MlflowTracker(client, record.dir, { warn: say, drainMs: drainMsFromEnv() }) : null;
  if (mlflow) trackers.push(mlflow);
  // As MLflow's own client does when a run ends, whatever its status.
  const sayLinks = () => {
    if (!client || !mlflow?.runId || !mlflow.experimentId) return;
    const links = mlflowLinks(client.trackingUri);
    if (mlflow.modelId) say(`View model ${loaded.spec.name} at: ${links.model(mlflow.experimentId, mlflow.modelId)}`);
    say(`View run ${loaded.spec.name} at: ${links.run(mlflow.experimentId, mlflow.runId)}`);
    say(`View experiment at: ${links.experiment(mlflow.experimentId)}`);
  };
  const fanout = new TrackerFanout(trackers);
  const tracker = resuming ? new SkipLoggedPoints(fanout, record.lastLoggedSteps()) : fanout;
  return { tracker, sayLinks, experimentsUrl: client ? mlflowLinks(client.trackingUri).experiments() : undefined };
}

/** VAE_MLFLOW_DRAIN_SECONDS: how long the end of a run waits for MLflow to take what is still queued. */
function drainMsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const seconds = Number(env.VAE_MLFLOW_DRAIN_SECONDS);
  return env.VAE_MLFLOW_DRAIN_SECONDS?.trim() && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function whereStopped(state: TrainingState): string {
  return state.partial ? `in epoch ${state.epoch + 1} after step ${state.partial.steps}` : `after epoch ${state.epoch}`;
}
