// Writes the summary into the local sweep record and, when there is one, onto the MLflow parent run.
import { renderVegaLite } from '../artifacts/plot.ts';
import type { MlflowClient } from '../tracking/mlflow-client.ts';
import type { ParentRun } from './parent.ts';
import type { SweepRecord } from './record.ts';
import { summaryPlotSpec } from './summary-plot.ts';
import { referenceVerdict, summaryCsv, summaryMarkdown, type SweepSummary } from './summary.ts';

export interface PublishedSummary {
  files: string[];
  /** Tags naming the best setting and its best trial; also set on the parent run. */
  bestTags: Record<string, string>;
}

export async function publishSummary(
  summary: SweepSummary,
  record: SweepRecord,
  mlflow?: { client: MlflowClient; parent: ParentRun },
): Promise<PublishedSummary> {
  const markdown = summaryMarkdown(summary);
  const plotSpec = summaryPlotSpec(summary);
  const { png } = await renderVegaLite(plotSpec);
  const contents: Record<string, string | Uint8Array> = {
    'summary.csv': summaryCsv(summary),
    'summary.md': markdown,
    'summary.png': png,
    'summary.vl.json': `${JSON.stringify(plotSpec, null, 2)}\n`,
  };
  const files = Object.entries(contents).map(([name, content]) => record.write(name, content));
  const best = summary.rows[0];
  const bestTags: Record<string, string> = best?.bestTrial
    ? {
        'vae.best_setting': best.setting || 'base',
        'vae.best_trial_id': best.bestTrial.trial_id,
        ...(best.bestTrial.mlflow_run_id ? { 'vae.best_run_id': best.bestTrial.mlflow_run_id } : {}),
      }
    : {};
  if (mlflow) {
    const { client, parent } = mlflow;
    for (const [name, content] of Object.entries(contents)) {
      await client.uploadArtifact(
        parent.artifactUri,
        `summary/${name}`,
        typeof content === 'string' ? new TextEncoder().encode(content) : content,
      );
    }
    // The note is what MLflow shows on the run page: the table itself, so the result is one click away.
    const verdict = referenceVerdict(summary);
    await client.setTags(parent.runId, { ...bestTags, 'mlflow.note.content': markdown, ...(verdict ? { 'vae.reference': verdict } : {}) });
    const bestMean = best?.stats[summary.metric]?.mean;
    if (bestMean !== undefined && Number.isFinite(bestMean)) {
      await client.logBatch(parent.runId, {
        metrics: [{ key: `best/${summary.metric}`, value: bestMean, timestamp: Date.now(), step: 0 }],
      });
    }
  }
  return { files, bestTags };
}
