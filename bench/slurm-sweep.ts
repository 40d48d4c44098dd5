// npm run bench:slurm -- [sweep file] [overrides...]     (default: experiments/sweep-latent.yaml train.epochs=1)
//
// One sweep run twice against one throwaway MLflow server, back to back: by the local `vae sweep` (trials side by
// side, one per core), then as a Slurm array job on a one-node cluster (test/support/slurm-cluster.ts; needs root and
// scripts/setup-slurm.sh): `vae sweep plan`, sbatch, wait, `vae sweep summarize`. Prints each wall time with the
// 1-minute load average at its end (2 cores here: above 2, other work shares the CPUs), and compares the two seed for
// seed: every trial's test metrics, then the summary tables.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SweepRecord, type TrialOutcome } from '../src/sweep/record.ts';
import { vae } from '../test/support/cli.ts';
import { startTestMlflow, type TestMlflow } from '../test/support/mlflow-server.ts';
import { slurmUnavailable, startSlurmCluster } from '../test/support/slurm-cluster.ts';

const [file = 'experiments/sweep-latent.yaml', ...given] = process.argv.slice(2);
const overrides = given.length > 0 ? given : ['train.epochs=1'];
const unavailable = slurmUnavailable();
if (unavailable) throw new Error(unavailable);

const work = mkdtempSync(join(tmpdir(), 'vae-bench-slurm-'));
const cluster = await startSlurmCluster();
let mlflow: TestMlflow | undefined;
const minutes = (ms: number) => `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
const load = () => loadavg()[0].toFixed(2);

try {
  mlflow = await startTestMlflow();
  const env = { MLFLOW_TRACKING_URI: mlflow.url };
  const args = (where: string) => [file, ...overrides, `tracking.experiment=bench-${where}`, '--runs-dir', join(work, where)];
  let started = Date.now();
  const local = await vae(['sweep', ...args('local')], { env });
  if (local.code !== 0) throw new Error(`local sweep failed:\n${local.stderr}`);
  console.log(`local vae sweep: ${minutes(Date.now() - started)} (load ${load()})`);

  started = Date.now();
  const plan = await vae(['sweep', 'plan', ...args('slurm')], { env });
  if (plan.code !== 0) throw new Error(`plan failed:\n${plan.stderr}`);
  const slurm = sweepRecord(join(work, 'slurm'), 'bench-slurm');
  const job = await cluster.sbatch([slurm.path('slurm.sbatch')], env);
  await cluster.waitForJob(job, 3 * 3600_000);
  const summary = await vae(['sweep', 'summarize', ...args('slurm')], { env });
  if (summary.code !== 0) throw new Error(`summarize failed:\n${summary.stderr}`);
  console.log(`Slurm array job ${job} (plan, sbatch, wait, summarize): ${minutes(Date.now() - started)} (load ${load()})`);

  const localRecord = sweepRecord(join(work, 'local'), 'bench-local');
  const differences = compareTrials(localRecord.outcomes(), slurm.outcomes());
  console.log(differences.length === 0 ? 'every trial: the same test metrics, seed for seed' : differences.join('\n'));
  const table = (record: SweepRecord) => readFileSync(record.path('summary.csv'), 'utf8');
  console.log(table(localRecord) === table(slurm) ? 'the same summary table' : `tables differ:\n${table(localRecord)}\n${table(slurm)}`);
  console.log(readFileSync(slurm.path('summary.md'), 'utf8'));
} finally {
  await cluster.stop();
  await mlflow?.dispose();
  rmSync(work, { recursive: true, force: true });
}

function sweepRecord(runsDir: string, experiment: string): SweepRecord {
  const [id] = readdirSync(join(runsDir, experiment, 'sweeps'));
  return SweepRecord.at(runsDir, experiment, id);
}

/** One line per trial whose test metrics differ (trials matched by their overrides: setting and seed). */
function compareTrials(local: Map<string, TrialOutcome>, slurm: Map<string, TrialOutcome>): string[] {
  const byOverrides = (outcomes: Map<string, TrialOutcome>) => new Map([...outcomes.values()].map((o) => [o.overrides.join(' '), o]));
  const other = byOverrides(slurm);
  return [...byOverrides(local)].flatMap(([trial, outcome]) => {
    const there = other.get(trial);
    if (!there) return [`${trial}: not run through Slurm`];
    const keys = Object.keys(outcome.metrics).filter((k) => k.startsWith('test/'));
    const differ = keys.filter((k) => outcome.metrics[k] !== there.metrics[k]);
    return differ.map((k) => `${trial}: ${k} ${outcome.metrics[k]} locally, ${there.metrics[k]} through Slurm`);
  });
}
