// What a trial's last attempt left in its run folder, for the sweep that runs it again: a run to go on with, or a
// run whose process died without saying how it ended.
import { RunRecord } from '../record/run-record.ts';
import { checkpointDir } from '../train/checkpoint-files.ts';
import type { Trial } from './expand.ts';
import type { TrialOutcome } from './record.ts';

/**
 * The run folder to resume (`vae run --resume`): the last attempt was stopped or crashed, its run never finished and
 * has a checkpoint. Then the trial goes on in the same run (and MLflow run) instead of starting over.
 */
export function resumableRun(outcome: TrialOutcome | undefined): string | undefined {
  const runDir = outcome?.run_dir;
  if (!runDir || outcome.status === 'FINISHED') return undefined;
  const record = new RunRecord(runDir);
  if (!record.exists() || record.readRun().status === 'FINISHED') return undefined;
  return checkpointDir(runDir) ? runDir : undefined;
}

/** Trial id -> the run folder to resume, for each of these trials that has one. */
export function resumableRuns(trials: Trial[], outcomes: Map<string, TrialOutcome>): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const trial of trials) {
    const dir = resumableRun(outcomes.get(trial.id));
    if (dir) dirs.set(trial.id, dir);
  }
  return dirs;
}

/**
 * A `vae run` killed outright (kill -9, the kernel's OOM killer) cannot record its own end, so its record would say
 * RUNNING for ever. The sweep, which saw it die, records it FAILED in its place; returns a line for the trial's log.
 */
export function recordKilledOutright(runDir: string, signal: NodeJS.Signals, endTime = Date.now()): string | undefined {
  const record = new RunRecord(runDir);
  if (!record.exists()) return undefined;
  const run = record.readRun();
  if (run.status !== 'RUNNING') return undefined;
  record.writeRun({ ...run, status: 'FAILED', end_time: endTime });
  return `[sweep] vae run was killed by ${signal} before it could record its end; its run is recorded FAILED; the sweep run again goes on from its last checkpoint, if it has one`;
}
