// `vae report`: the "obtained vs reference" table of runs or sweeps, from their local records or from MLflow.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderVegaLite } from '../artifacts/plot.ts';
import { RuntimeFailure, UsageError } from '../errors.ts';
import { writeFileAtomic } from '../record/atomic-write.ts';
import { readReportInputs, type ParentRef } from '../report/inputs.ts';
import { reportCsv, reportLines, reportMarkdown, reportPlotSpec } from '../report/render.ts';
import { reportRows } from '../report/table.ts';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { MlflowUnreachableError } from '../tracking/mlflow-errors.ts';
import { say } from './say.ts';

export interface ReportOptions {
  out?: string;
  runsDir: string;
  /** false: write the report without logging it to the sweeps' parent runs. */
  mlflow?: boolean;
}

/** Exits 1 when a setting with a reference does not pass it (a miss, a single seed, or the metric not computed). */
export async function reportCommand(inputs: string[], options: ReportOptions): Promise<void> {
  const client = async () => {
    const uri = process.env.MLFLOW_TRACKING_URI;
    return uri ? MlflowClient.fromEnv(uri) : null;
  };
  const { runs, parents } = await readReportInputs(inputs, client);
  if (runs.length === 0) throw new UsageError(`${inputs.join(' ')}: no runs to report on`);
  const rows = reportRows(runs);
  if (!rows.some((r) => r.check))
    throw new UsageError("none of these runs' specs has a reference: block to compare with; add one (npx vae fields reference)");

  const out = options.out ?? join(options.runsDir, 'reports', stamp(new Date()));
  const plot = reportPlotSpec(rows);
  const contents: Record<string, string | Uint8Array> = {
    'report.md': reportMarkdown(rows),
    'report.csv': reportCsv(rows),
    'report.png': (await renderVegaLite(plot)).png,
    'report.vl.json': `${JSON.stringify(plot, null, 2)}\n`,
  };
  mkdirSync(out, { recursive: true });
  for (const [name, content] of Object.entries(contents)) writeFileAtomic(join(out, name), content);
  for (const line of reportLines(rows)) say(line);
  say(`report: ${join(out, 'report.md')} (and .csv, .png)`);
  const failing = rows.filter((r) => r.check && r.check.verdict !== 'pass').length;
  if (failing > 0) {
    say(`${failing} of ${rows.filter((r) => r.check).length} settings do not pass their reference`);
    process.exitCode = 1;
  }

  const logTo = options.mlflow === false ? [] : parents;
  for (const parent of logTo) {
    try {
      await logToParent(parent, contents);
    } catch (e) {
      if (!(e instanceof MlflowUnreachableError)) throw e;
      throw new RuntimeFailure(
        `the report is written, but not logged to parent run ${parent.runId}: ${e.message}. Start that server (npx vae ui, for the local store) and run this again to log it, or add --no-mlflow to report without logging`,
        { cause: e },
      );
    }
  }
  if (logTo.length > 0) say(`logged to ${logTo.length} parent run(s) under report/`);
}

async function logToParent(parent: ParentRef, contents: Record<string, string | Uint8Array>): Promise<void> {
  const client = MlflowClient.fromEnv(parent.trackingUri);
  const run = await client.getRun(parent.runId);
  for (const [name, content] of Object.entries(contents)) {
    await client.uploadArtifact(
      run.info.artifact_uri,
      `report/${name}`,
      typeof content === 'string' ? new TextEncoder().encode(content) : content,
    );
  }
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
