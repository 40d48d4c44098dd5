// `vae sweep`: run a sweep's trials as child runs of one MLflow parent run, one trial of it (array jobs), its plan
// for Slurm and Kubernetes, or its summary from MLflow.
import { resolve } from 'node:path';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { resolveTrackingUri } from '../tracking/mlflow-server.ts';
import { mlflowLinks } from '../tracking/mlflow-ui.ts';
import { childPerTrial, childRuns, hasFinishedChild, outcomesFromChildren } from '../sweep/children.ts';
import { completeLostTrials } from '../sweep/complete-in-mlflow.ts';
import { ensureParentRun, findParentRun, type ParentRun } from '../sweep/parent.ts';
import { planWarnings } from '../sweep/plan-checks.ts';
import { writePlan } from '../sweep/plan.ts';
import { exitCodeForSignal, UsageError } from '../errors.ts';
import { defaultParallel, prepareSweep, recordOf, type PreparedSweep } from '../sweep/prepare.ts';
import { publishSummary } from '../sweep/publish.ts';
import type { SweepDefinition, SweepRecord, TrialOutcome } from '../sweep/record.ts';
import { describeTrial } from '../sweep/expand.ts';
import { runTrial } from '../sweep/run-trial.ts';
import { runTrials } from '../sweep/run-trials.ts';
import { passSignalsToTrial } from '../sweep/trial-signals.ts';
import { resumableRun, resumableRuns } from '../sweep/trial-runs.ts';
import { summarizeOutcomes } from '../sweep/summary.ts';
import { describeCheck } from '../reference/reference-check.ts';
import { say } from './say.ts';

export interface SweepOptions {
  grid: string[];
  seeds?: string;
  parallel?: number;
  trialIndex?: number;
  runsDir: string;
  mlflow: boolean;
  backend?: string;
}

interface Tracking {
  client: MlflowClient;
  parent: ParentRun;
  uri: string;
}

export async function sweepCommand(file: string, overrides: string[], options: SweepOptions): Promise<void> {
  const prepared = prepareSweep(file, overrides, { grid: options.grid, seeds: options.seeds });
  const record = recordOf(prepared, options.runsDir);
  const trialIndex = options.trialIndex ?? indexFromArrayJob();
  if (trialIndex !== undefined && !(Number.isInteger(trialIndex) && trialIndex >= 0 && trialIndex < prepared.trials.length)) {
    throw new UsageError(`--trial-index ${trialIndex}: sweep ${prepared.id} has trials 0 to ${prepared.trials.length - 1}`);
  }
  const tracking = options.mlflow ? await connect(prepared, options.runsDir) : null;
  record.writeDefinition(sweepJson(prepared, tracking));

  if (trialIndex !== undefined) return runOneTrial(prepared, record, trialIndex, tracking, options);

  const before = record.outcomes();
  const todo = prepared.trials.filter((t) => before.get(t.id)?.status !== 'FINISHED');
  const resumeDirs = resumableRuns(todo, before);
  const parallel = options.parallel ?? (prepared.sweep.parallel || defaultParallel());
  say(
    `sweep ${prepared.id}: ${prepared.trials.length} trials (${prepared.trials.length - todo.length} finished before${resumeDirs.size ? `, ${resumeDirs.size} to resume` : ''}), ${Math.min(parallel, todo.length)} at a time -> ${record.dir}`,
  );
  if (tracking) sayParentLink(prepared, tracking);

  const counts = { total: prepared.trials.length, done: prepared.trials.length - todo.length, running: 0, failed: 0, stopped: 0 };
  const stopping = await runTrials({ todo, resumeDirs, parallel, counts, record, launch: launchOf(prepared, tracking, options) });

  const outcomes = latestOutcomes(prepared, record);
  const tally = tallyOutcomes(prepared.trials.length, outcomes);
  await summarizeInto(prepared, record, outcomes, tracking);
  if (tracking)
    await tracking.client.updateRun(
      tracking.parent.runId,
      stopping ? 'KILLED' : tally.finished < tally.total ? 'FAILED' : 'FINISHED',
      Date.now(),
    );
  say(`${tally.line}${stopping ? ` (stopped by ${stopping}; the same command again resumes the stopped trials and runs the rest)` : ''}`);
  if (tracking) sayParentLink(prepared, tracking);
  if (stopping) process.exitCode = exitCodeForSignal(stopping);
  else if (tally.finished < tally.total) {
    say(
      `logs of the trials that did not finish are in ${record.path('logs')}; the same command again reruns only those (resuming those with a checkpoint)`,
    );
    process.exitCode = 1;
  }
}

/** Each trial by its last attempt: finished, failed, stopped (KILLED, resumable) or not started at all. */
function tallyOutcomes(total: number, outcomes: TrialOutcome[]) {
  const count = (status: TrialOutcome['status']) => outcomes.filter((o) => o.status === status).length;
  const [finished, failed, stopped] = [count('FINISHED'), count('FAILED'), count('KILLED')];
  const notStarted = total - outcomes.length;
  const line = [
    `${finished} finished, ${failed} failed`,
    ...(stopped ? [`${stopped} stopped`] : []),
    ...(notStarted ? [`${notStarted} not started`] : []),
  ].join(', ');
  return { total, finished, line };
}

/** `vae sweep plan`: the trial list, a Slurm array script and a Kubernetes Indexed Job, in the sweep record. */
export async function planCommand(file: string, overrides: string[], options: SweepOptions & { image: string }): Promise<void> {
  const prepared = prepareSweep(file, overrides, { grid: options.grid, seeds: options.seeds });
  const record = recordOf(prepared, options.runsDir);
  record.writeDefinition(sweepJson(prepared, null));
  const parallel = options.parallel ?? (prepared.sweep.parallel || prepared.trials.length);
  const args = [
    file,
    ...options.grid.flatMap((g) => ['--grid', g]),
    ...(options.seeds === undefined ? [] : ['--seeds', options.seeds]),
    ...overrides,
    // The tasks write their trials' logs and records into this sweep record, where the Slurm logs go too.
    '--runs-dir',
    options.runsDir,
  ];
  const plan = writePlan(prepared, record, { args, parallel, cwd: resolve('.'), image: options.image });
  process.stdout.write(plan.table);
  for (const warning of [...planWarnings(options.runsDir, process.env.MLFLOW_TRACKING_URI), ...plan.warnings]) say(`warning: ${warning}`);
  say(
    `sweep ${prepared.id}: ${prepared.trials.length} trials\n  Slurm:      sbatch ${plan.files.slurm}\n  Kubernetes: kubectl apply -f ${plan.files.kubernetes}\nthen: npx vae sweep summarize ${args.join(' ')}`,
  );
}

/** `vae sweep summarize`: the summary built from the parent run's children in MLflow (after an array job). */
export async function summarizeCommand(file: string, overrides: string[], options: SweepOptions): Promise<void> {
  const prepared = prepareSweep(file, overrides, { grid: options.grid, seeds: options.seeds });
  const record = recordOf(prepared, options.runsDir);
  const uri = await resolveTrackingUri({ runsDir: options.runsDir, log: say });
  if (!uri) throw new UsageError('vae sweep summarize reads the trials from MLflow: set MLFLOW_TRACKING_URI');
  const client = MlflowClient.fromEnv(uri);
  const experimentId = (await client.getExperimentByName(prepared.experiment))?.experiment_id;
  const parent = experimentId ? await findParentRun(client, experimentId, prepared.id) : null;
  if (!parent)
    throw new UsageError(`sweep ${prepared.id}: no parent run in MLflow experiment ${prepared.experiment} at ${uri}; run the sweep first`);
  let children = await childRuns(client, parent);
  const finishedInMlflow = new Set([...childPerTrial(children)].filter(([, run]) => run.info.status === 'FINISHED').map(([id]) => id));
  const unfinished = prepared.trials.map((t) => t.id).filter((id) => !finishedInMlflow.has(id));
  const uploads = await completeLostTrials(unfinished, record, client);
  for (const line of uploads) say(line);
  if (uploads.length > 0) children = await childRuns(client, parent);
  const outcomes = outcomesFromChildren(prepared, children);
  const finished = outcomes.filter((o) => o.status === 'FINISHED').length;
  const tracking = { client, parent, uri };
  record.writeDefinition(sweepJson(prepared, tracking));
  await summarizeInto(prepared, record, outcomes, tracking);
  if (finished === prepared.trials.length) await client.updateRun(parent.runId, 'FINISHED', Date.now());
  say(
    `${finished} of ${prepared.trials.length} trials finished in MLflow${finished < prepared.trials.length ? ' (the parent run stays RUNNING until all have)' : ''}; summary in ${record.path('summary.md')}`,
  );
  sayParentLink(prepared, tracking);
}

async function runOneTrial(
  prepared: PreparedSweep,
  record: SweepRecord,
  index: number,
  tracking: Tracking | null,
  options: SweepOptions,
): Promise<void> {
  const trial = prepared.trials[index];
  if (tracking) sayParentLink(prepared, tracking);
  if (tracking && (await hasFinishedChild(tracking.client, tracking.parent, trial.id))) {
    say(`trial ${index} (${trial.id}) already finished in MLflow; nothing to do`);
    return;
  }
  // MLflow lacks this trial as finished (checked above); the runs folder may have it.
  const uploaded = tracking ? await completeLostTrials([trial.id], record, tracking.client) : [];
  for (const line of uploaded) say(line);
  if (uploaded.length > 0) return;
  const resumeDir = resumableRun(record.outcomes().get(trial.id));
  say(`trial ${index} (${trial.id}): ${describeTrial(trial)}${resumeDir ? `, resuming ${resumeDir}` : ''} -> ${record.logPath(trial.id)}`);
  const signals = passSignalsToTrial(say);
  const launch = {
    ...launchOf(prepared, tracking, options),
    logFile: record.logPath(trial.id),
    locationFile: record.runLocationPath(trial.id),
  };
  const outcome = await runTrial(trial, { ...launch, onSpawn: signals.onSpawn }, resumeDir).finally(signals.stop);
  record.appendOutcome(outcome);
  say(`trial ${index} ${outcome.status.toLowerCase()}`);
  const stopping = signals.received();
  if (outcome.status !== 'FINISHED') say(`see ${record.logPath(trial.id)}`);
  if (stopping) process.exitCode = exitCodeForSignal(stopping);
  else if (outcome.status !== 'FINISHED') process.exitCode = 1;
}

async function connect(prepared: PreparedSweep, runsDir: string): Promise<Tracking | null> {
  const uri = await resolveTrackingUri({ runsDir, log: say });
  if (!uri) return null;
  const client = MlflowClient.fromEnv(uri);
  const parent = await ensureParentRun(client, {
    experiment: prepared.experiment,
    sweepId: prepared.id,
    runName: prepared.sweep.name,
    tags: { 'vae.swept': prepared.swept.join(','), 'mlflow.note.content': prepared.sweep.description || `sweep ${prepared.id}` },
    params: prepared.params,
  });
  return { client, parent, uri };
}

/** The parent run's link, as MLflow's client prints a run's. */
function sayParentLink(prepared: PreparedSweep, tracking: Tracking): void {
  say(
    `View parent run ${prepared.sweep.name} at: ${mlflowLinks(tracking.client.trackingUri).run(tracking.parent.experimentId, tracking.parent.runId)}`,
  );
}

function launchOf(prepared: PreparedSweep, tracking: Tracking | null, options: SweepOptions) {
  return {
    overrides: prepared.sweep.overrides,
    runsDir: options.runsDir,
    trackingUri: tracking?.uri ?? null,
    backend: options.backend,
    tags: {
      ...(tracking ? { 'mlflow.parentRunId': tracking.parent.runId } : {}),
      'vae.sweep_id': prepared.id,
      'vae.swept': prepared.swept.join(','),
    },
  };
}

async function summarizeInto(
  prepared: PreparedSweep,
  record: SweepRecord,
  outcomes: TrialOutcome[],
  tracking: Tracking | null,
): Promise<void> {
  const references = new Map(prepared.trials.map((t, i) => [t.id, prepared.specs[i].spec.reference]));
  const summary = summarizeOutcomes(outcomes, prepared.sweep.metric, (id) => references.get(id));
  const published = await publishSummary(summary, record, tracking ?? undefined);
  for (const row of summary.rows) if (row.reference) say(`reference, ${row.setting || 'base'}: ${describeCheck(row.reference)}`);
  const best = published.bestTags['vae.best_setting'];
  if (best)
    say(`best: ${best} (${summary.metric} ${summary.rows[0].stats[summary.metric].mean.toFixed(2)}); table: ${record.path('summary.md')}`);
}

/** Each trial's latest outcome in the local record, in trial order. */
function latestOutcomes(prepared: PreparedSweep, record: SweepRecord): TrialOutcome[] {
  const latest = record.outcomes();
  return prepared.trials.flatMap((t) => latest.get(t.id) ?? []);
}

function sweepJson(prepared: PreparedSweep, tracking: Tracking | null): SweepDefinition {
  return {
    sweep_id: prepared.id,
    file: prepared.file,
    definition: prepared.sweep,
    experiment: prepared.experiment,
    trials: prepared.trials,
    ...(tracking
      ? { mlflow: { tracking_uri: tracking.uri, experiment_id: tracking.parent.experimentId, parent_run_id: tracking.parent.runId } }
      : {}),
  };
}

/** Array jobs say which task this is: Slurm in SLURM_ARRAY_TASK_ID, a Kubernetes Indexed Job in JOB_COMPLETION_INDEX. */
function indexFromArrayJob(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.SLURM_ARRAY_TASK_ID ?? env.JOB_COMPLETION_INDEX;
  return raw === undefined || raw === '' ? undefined : Number(raw);
}
