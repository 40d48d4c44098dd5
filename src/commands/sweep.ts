// `vae sweep`: run a sweep's trials as child runs of one MLflow parent run, one trial of it (array jobs), its plan
// for Slurm and Kubernetes, or its summary from MLflow.
import { resolve } from 'node:path';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import type { Run } from '../tracking/mlflow-records.ts';
import { resolveTrackingUri } from '../tracking/mlflow-server.ts';
import { mlflowLinks } from '../tracking/mlflow-ui.ts';
import { ensureParentRun, findParentRun, type ParentRun } from '../sweep/parent.ts';
import { writePlan } from '../sweep/plan.ts';
import { exitCodeForSignal, UsageError } from '../errors.ts';
import { defaultParallel, prepareSweep, recordOf, type PreparedSweep } from '../sweep/prepare.ts';
import { sweepProgress } from '../sweep/progress.ts';
import { publishSummary } from '../sweep/publish.ts';
import type { SweepRecord, TrialOutcome } from '../sweep/record.ts';
import { runTrial } from '../sweep/run-trial.ts';
import { summarizeOutcomes } from '../sweep/summary.ts';
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
  record.write('sweep.json', `${JSON.stringify(sweepJson(prepared, tracking), null, 2)}\n`);

  if (trialIndex !== undefined) return runOneTrial(prepared, record, trialIndex, tracking, options);

  const finishedBefore = record.outcomes();
  const todo = prepared.trials.filter((t) => finishedBefore.get(t.id)?.status !== 'FINISHED');
  const parallel = options.parallel ?? (prepared.sweep.parallel || defaultParallel());
  say(`sweep ${prepared.id}: ${prepared.trials.length} trials (${prepared.trials.length - todo.length} finished before), ${Math.min(parallel, todo.length)} at a time -> ${record.dir}`);
  if (tracking) sayParentLink(prepared, tracking);

  const counts = { total: prepared.trials.length, done: prepared.trials.length - todo.length, running: 0, failed: 0 };
  const progress = sweepProgress();
  const kills = new Set<(s: NodeJS.Signals) => void>();
  let stopping: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = signal;
    progress.update(counts, `${signal}: no new trials; stopping the running ones (they record what they have)`);
    // Trials run in their own process groups, so each gets exactly this one signal (a second would make it quit unsaved).
    for (const kill of kills) kill(signal);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  progress.update(counts, 'started');
  try {
    let next = 0;
    const worker = async () => {
      while (!stopping && next < todo.length) {
        const trial = todo[next++];
        counts.running += 1;
        progress.update(counts, `trial ${trial.index} started: ${trial.overrides.join(' ')}`);
        let kill: ((s: NodeJS.Signals) => void) | undefined;
        const outcome = await runTrial(trial, {
          ...launchOf(prepared, tracking, options),
          logFile: record.logPath(trial.id),
          locationFile: record.runLocationPath(trial.id),
          onSpawn: (k) => kills.add((kill = k)),
        });
        if (kill) kills.delete(kill);
        record.appendOutcome(outcome);
        counts.running -= 1;
        if (outcome.status === 'FINISHED') counts.done += 1;
        else counts.failed += 1;
        progress.update(counts, `trial ${trial.index} ${outcome.status.toLowerCase()}${outcome.status === 'FINISHED' ? '' : ` (log: ${record.logPath(trial.id)})`}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, todo.length)) }, worker));
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }

  const outcomes = latestOutcomes(prepared, record);
  const finished = outcomes.filter((o) => o.status === 'FINISHED').length;
  const failed = prepared.trials.length - finished;
  await summarizeInto(prepared, record, outcomes, tracking);
  if (tracking) await tracking.client.updateRun(tracking.parent.runId, stopping ? 'KILLED' : failed > 0 ? 'FAILED' : 'FINISHED', Date.now());
  say(`${finished} finished, ${failed} failed${stopping ? ` (stopped by ${stopping})` : ''}`);
  if (tracking) sayParentLink(prepared, tracking);
  if (stopping) process.exitCode = exitCodeForSignal(stopping);
  else if (failed > 0) {
    say(`logs of the trials that did not finish are in ${record.path('logs')}; the same command again reruns only those`);
    process.exitCode = 1;
  }
}

/** `vae sweep plan`: the trial list, a Slurm array script and a Kubernetes Indexed Job, in the sweep record. */
export async function planCommand(file: string, overrides: string[], options: SweepOptions): Promise<void> {
  const prepared = prepareSweep(file, overrides, { grid: options.grid, seeds: options.seeds });
  const record = recordOf(prepared, options.runsDir);
  record.write('sweep.json', `${JSON.stringify(sweepJson(prepared, null), null, 2)}\n`);
  const parallel = options.parallel ?? (prepared.sweep.parallel || prepared.trials.length);
  const args = [file, ...options.grid.flatMap((g) => ['--grid', g]), ...(options.seeds === undefined ? [] : ['--seeds', options.seeds]), ...overrides];
  const plan = writePlan(prepared, record, { args, parallel, cwd: resolve('.') });
  process.stdout.write(plan.table);
  say(`sweep ${prepared.id}: ${prepared.trials.length} trials\n  Slurm:      sbatch ${plan.files.slurm}\n  Kubernetes: kubectl apply -f ${plan.files.kubernetes}\nthen: npx vae sweep summarize ${args.join(" ")}`);
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
  if (!parent) throw new UsageError(`sweep ${prepared.id}: no parent run in MLflow experiment ${prepared.experiment} at ${uri}; run the sweep first`);
  const outcomes = outcomesFromChildren(prepared, await childRuns(client, parent));
  const finished = outcomes.filter((o) => o.status === 'FINISHED').length;
  const tracking = { client, parent, uri };
  record.write('sweep.json', `${JSON.stringify(sweepJson(prepared, tracking), null, 2)}\n`);
  await summarizeInto(prepared, record, outcomes, tracking);
  if (finished === prepared.trials.length) await client.updateRun(parent.runId, 'FINISHED', Date.now());
  say(`${finished} of ${prepared.trials.length} trials finished in MLflow${finished < prepared.trials.length ? ' (the parent run stays RUNNING until all have)' : ''}; summary in ${record.path('summary.md')}`);
  sayParentLink(prepared, tracking);
}

async function runOneTrial(prepared: PreparedSweep, record: SweepRecord, index: number, tracking: Tracking | null, options: SweepOptions): Promise<void> {
  const trial = prepared.trials[index];
  if (tracking) sayParentLink(prepared, tracking);
  if (tracking && (await finishedChild(tracking, trial.id))) {
    say(`trial ${index} (${trial.id}) already finished in MLflow; nothing to do`);
    return;
  }
  say(`trial ${index} (${trial.id}): ${trial.overrides.join(' ')} -> ${record.logPath(trial.id)}`);
  const outcome = await runTrial(trial, { ...launchOf(prepared, tracking, options), logFile: record.logPath(trial.id), locationFile: record.runLocationPath(trial.id) });
  record.appendOutcome(outcome);
  say(`trial ${index} ${outcome.status.toLowerCase()}`);
  if (outcome.status !== 'FINISHED') {
    say(`see ${record.logPath(trial.id)}`);
    process.exitCode = 1;
  }
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
  say(`View parent run ${prepared.sweep.name} at: ${mlflowLinks(tracking.client.trackingUri).run(tracking.parent.experimentId, tracking.parent.runId)}`);
}

function launchOf(prepared: PreparedSweep, tracking: Tracking | null, options: SweepOptions) {
  return {
    base: prepared.sweep.base,
    overrides: prepared.sweep.overrides,
    runsDir: options.runsDir,
    trackingUri: tracking?.uri ?? null,
    backend: options.backend,
    tags: { ...(tracking ? { 'mlflow.parentRunId': tracking.parent.runId } : {}), 'vae.sweep_id': prepared.id, 'vae.swept': prepared.swept.join(',') },
  };
}

async function summarizeInto(prepared: PreparedSweep, record: SweepRecord, outcomes: TrialOutcome[], tracking: Tracking | null): Promise<void> {
  const summary = summarizeOutcomes(outcomes, prepared.sweep.metric);
  const published = await publishSummary(summary, record, tracking ?? undefined);
  const best = published.bestTags['vae.best_setting'];
  if (best) say(`best: ${best} (${summary.metric} ${summary.rows[0].stats[summary.metric].mean.toFixed(2)}); table: ${record.path('summary.md')}`);
}

/** Each trial's latest outcome in the local record, in trial order. */
function latestOutcomes(prepared: PreparedSweep, record: SweepRecord): TrialOutcome[] {
  const latest = record.outcomes();
  return prepared.trials.flatMap((t) => latest.get(t.id) ?? []);
}

async function childRuns(client: MlflowClient, parent: ParentRun): Promise<Run[]> {
  const runs: Run[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.searchRuns({ experimentIds: [parent.experimentId], filter: `tags.\`mlflow.parentRunId\` = '${parent.runId}'`, pageToken });
    runs.push(...page.runs);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return runs;
}

/** One outcome per trial of this sweep: a finished child if there is one, else its latest attempt. */
function outcomesFromChildren(prepared: PreparedSweep, runs: Run[]): TrialOutcome[] {
  const tag = (run: Run, key: string) => run.data.tags.find((t) => t.key === key)?.value;
  return prepared.trials.flatMap((trial) => {
    const attempts = runs
      .filter((r) => tag(r, 'vae.trial_id') === trial.id)
      .sort((a, b) => Number(b.info.status === 'FINISHED') - Number(a.info.status === 'FINISHED') || b.info.start_time - a.info.start_time);
    const run = attempts[0];
    if (!run) return [];
    const status = run.info.status === 'FINISHED' ? 'FINISHED' : run.info.status === 'KILLED' ? 'KILLED' : 'FAILED';
    return [{
      trial_id: trial.id,
      index: trial.index,
      overrides: trial.overrides,
      setting: trial.setting,
      status,
      mlflow_run_id: run.info.run_id,
      metrics: Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value])),
      start_time: run.info.start_time,
      end_time: run.info.end_time ?? run.info.start_time,
    } satisfies TrialOutcome];
  });
}

async function finishedChild(tracking: Tracking, trialId: string): Promise<boolean> {
  const { runs } = await tracking.client.searchRuns({
    experimentIds: [tracking.parent.experimentId],
    filter: `tags.\`vae.trial_id\` = '${trialId}' AND tags.\`mlflow.parentRunId\` = '${tracking.parent.runId}' AND attributes.status = 'FINISHED'`,
    maxResults: 1,
  });
  return runs.length > 0;
}

function sweepJson(prepared: PreparedSweep, tracking: Tracking | null) {
  return {
    sweep_id: prepared.id,
    file: prepared.file,
    definition: prepared.sweep,
    experiment: prepared.experiment,
    trials: prepared.trials,
    ...(tracking ? { mlflow: { tracking_uri: tracking.uri, experiment_id: tracking.parent.experimentId, parent_run_id: tracking.parent.runId } } : {}),
  };
}

/** Array jobs say which task this is: Slurm in SLURM_ARRAY_TASK_ID, a Kubernetes Indexed Job in JOB_COMPLETION_INDEX. */
function indexFromArrayJob(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.SLURM_ARRAY_TASK_ID ?? env.JOB_COMPLETION_INDEX;
  return raw === undefined || raw === '' ? undefined : Number(raw);
}
