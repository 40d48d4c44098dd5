// A sweep's trials as MLflow sees them: the child runs of its parent run.
import type { MlflowClient } from '../tracking/mlflow-client.ts';
import type { Run } from '../tracking/mlflow-records.ts';
import type { ParentRun } from './parent.ts';
import type { PreparedSweep } from './prepare.ts';
import type { TrialOutcome } from './record.ts';

export async function childRuns(client: MlflowClient, parent: ParentRun): Promise<Run[]> {
  const runs: Run[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.searchRuns({
      experimentIds: [parent.experimentId],
      filter: `tags.\`mlflow.parentRunId\` = '${parent.runId}'`,
      pageToken,
    });
    runs.push(...page.runs);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return runs;
}

/** Each trial's child run that counts, by trial id: a finished one if there is one, else its latest attempt. */
export function childPerTrial(runs: Run[]): Map<string, Run> {
  const tag = (run: Run, key: string) => run.data.tags.find((t) => t.key === key)?.value;
  const counting = new Map<string, Run>();
  const order = (a: Run, b: Run) =>
    Number(a.info.status === 'FINISHED') - Number(b.info.status === 'FINISHED') || a.info.start_time - b.info.start_time;
  for (const run of runs) {
    const trialId = tag(run, 'vae.trial_id');
    if (trialId === undefined) continue;
    const other = counting.get(trialId);
    if (!other || order(run, other) > 0) counting.set(trialId, run);
  }
  return counting;
}

/** One outcome per trial of this sweep: a finished child if there is one, else its latest attempt. */
export function outcomesFromChildren(prepared: PreparedSweep, runs: Run[]): TrialOutcome[] {
  const counting = childPerTrial(runs);
  return prepared.trials.flatMap((trial) => {
    const run = counting.get(trial.id);
    if (!run) return [];
    const status = run.info.status === 'FINISHED' ? 'FINISHED' : run.info.status === 'KILLED' ? 'KILLED' : 'FAILED';
    return [
      {
        trial_id: trial.id,
        index: trial.index,
        overrides: trial.overrides,
        setting: trial.setting,
        ...(trial.spec ? { spec: trial.spec } : {}),
        status,
        mlflow_run_id: run.info.run_id,
        metrics: Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value])),
        start_time: run.info.start_time,
        end_time: run.info.end_time ?? run.info.start_time,
      } satisfies TrialOutcome,
    ];
  });
}

/** Whether the trial already has a finished child run, so an array task can skip it. */
export async function hasFinishedChild(client: MlflowClient, parent: ParentRun, trialId: string): Promise<boolean> {
  const { runs } = await client.searchRuns({
    experimentIds: [parent.experimentId],
    filter: `tags.\`vae.trial_id\` = '${trialId}' AND tags.\`mlflow.parentRunId\` = '${parent.runId}' AND attributes.status = 'FINISHED'`,
    maxResults: 1,
  });
  return runs.length > 0;
}
