// Beyond one machine: the trial list, a Slurm job array and a Kubernetes Indexed Job, each task running one trial.
import { mkdirSync } from 'node:fs';
import { stringify } from 'yaml';
import type { PreparedSweep } from './prepare.ts';
import type { SweepRecord } from './record.ts';
import { VAE_BIN } from './run-trial.ts';

/** The image the Kubernetes job runs: this repository with `npm ci` done; build and push it under this name or edit the manifest. */
export const K8S_IMAGE = 'vae-lab:latest';

export interface SweepPlan {
  table: string;
  files: { slurm: string; kubernetes: string; trials: string };
}

export interface PlanOptions {
  /** What follows `vae sweep` on the command line that defined the sweep (file, --grid/--seeds, overrides). */
  args: readonly string[];
  /** Tasks at once. */
  parallel: number;
  /** The checkout the tasks run in. */
  cwd: string;
}

export function writePlan(prepared: PreparedSweep, record: SweepRecord, options: PlanOptions): SweepPlan {
  const table =
    [
      'index  trial id      overrides',
      ...prepared.trials.map((t) => `${String(t.index).padStart(5)}  ${t.id}  ${t.overrides.join(' ')}`),
    ].join('\n') + '\n';
  // Slurm does not create the folder of --output: without it every array task dies before it starts, silently.
  mkdirSync(record.path('logs'), { recursive: true });
  return {
    table,
    files: {
      trials: record.write('plan.txt', table),
      slurm: record.write('slurm.sbatch', slurmScript(prepared, record, options)),
      kubernetes: record.write('k8s-job.yaml', kubernetesJob(prepared, record, options)),
    },
  };
}

// Every task runs the same sweep; which trial comes from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX.
const taskCommand = (options: PlanOptions) => ['npx', 'vae', 'sweep', ...options.args];

function slurmScript(prepared: PreparedSweep, record: SweepRecord, options: PlanOptions): string {
  return [
    '#!/bin/bash',
    `# Sweep ${prepared.id}: ${prepared.trials.length} trials, one per array task. Submit from anywhere: sbatch ${record.path('slurm.sbatch')}`,
    '# Every task attaches to one MLflow parent run: export MLFLOW_TRACKING_URI (a server all nodes reach) before sbatch.',
    `#SBATCH --job-name=${prepared.id}`,
    `#SBATCH --array=0-${prepared.trials.length - 1}%${options.parallel}`,
    '#SBATCH --cpus-per-task=2',
    `#SBATCH --output=${record.path('logs')}/slurm-%A_%a.log`,
    'set -euo pipefail',
    `cd ${shellQuote(options.cwd)}`,
    // exec, and node rather than npx: scancel signals every process of the task, and the task ends when its first process
    // does, so that process must be the one that waits for the trial to record what it has.
    `exec node ${shellQuote(VAE_BIN)} sweep ${options.args.map(shellQuote).join(' ')} --trial-index "$SLURM_ARRAY_TASK_ID"`,
    `# When every task is done: npx vae sweep summarize ${options.args.map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}

function kubernetesJob(prepared: PreparedSweep, record: SweepRecord, options: PlanOptions): string {
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `vae-sweep-${prepared.id}`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 63)
        .replace(/-+$/, ''),
      labels: { 'vae-lab/sweep-id': prepared.id.toLowerCase().slice(0, 63) },
    },
    spec: {
      completionMode: 'Indexed',
      completions: prepared.trials.length,
      parallelism: options.parallel,
      // A failed trial is recorded as FAILED in MLflow; retrying the same index is up to the sweep's rerun.
      backoffLimitPerIndex: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'trial',
              image: K8S_IMAGE,
              workingDir: '/app',
              // Kubernetes sets JOB_COMPLETION_INDEX in every pod of an Indexed Job; `vae sweep` reads it.
              command: taskCommand(options),
              env: [{ name: 'MLFLOW_TRACKING_URI', value: process.env.MLFLOW_TRACKING_URI ?? 'http://mlflow:5000' }],
              resources: { requests: { cpu: '2', memory: '2Gi' } },
            },
          ],
        },
      },
    },
  };
  return `# Sweep ${prepared.id}: kubectl apply -f ${record.path('k8s-job.yaml')}; then npx vae sweep summarize ${options.args.join(' ')}\n${stringify(job)}`;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
