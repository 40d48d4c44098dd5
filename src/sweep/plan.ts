// Beyond one machine: the trial list, a Slurm job array and a Kubernetes Indexed Job, each task running one trial.
import { mkdirSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { PreparedSweep } from './prepare.ts';
import type { SweepRecord } from './record.ts';
import { describeTrial } from './expand.ts';
import { VAE_BIN } from './run-trial.ts';

/** Where the Dockerfile puts this checkout in the image. */
export const IMAGE_CHECKOUT = '/app';
const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

export interface SweepPlan {
  table: string;
  files: { slurm: string; kubernetes: string; trials: string };
  /** What would keep the Kubernetes Job from running as planned. */
  warnings: string[];
}

export interface PlanOptions {
  /** What follows `vae sweep` on the command line that defined the sweep (file, --grid/--seeds, overrides). */
  args: readonly string[];
  /** Tasks at once. */
  parallel: number;
  /** The checkout the tasks run in. */
  cwd: string;
  /** The container image of the Kubernetes Job. */
  image: string;
}

export function writePlan(prepared: PreparedSweep, record: SweepRecord, options: PlanOptions): SweepPlan {
  const table =
    ['index  trial id      overrides', ...prepared.trials.map((t) => `${String(t.index).padStart(5)}  ${t.id}  ${describeTrial(t)}`)].join(
      '\n',
    ) + '\n';
  // Slurm does not create the folder of --output: without it every array task dies before it starts, silently.
  mkdirSync(record.path('logs'), { recursive: true });
  const spec = specInImage(options);
  return {
    table,
    warnings: spec.inside
      ? []
      : [
          `${spec.path} is outside this checkout, so the Kubernetes Job's image, built from it, will not hold it: move it into ${CHECKOUT} and rebuild the image`,
        ],
    files: {
      trials: record.write('plan.txt', table),
      slurm: record.write('slurm.sbatch', slurmScript(prepared, record, options)),
      kubernetes: record.write('k8s-job.yaml', kubernetesJob(prepared, record, options, spec.path)),
    },
  };
}

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

function kubernetesJob(prepared: PreparedSweep, record: SweepRecord, options: PlanOptions, specPath: string): string {
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
          // Time for a stopped trial to finish its step, save its checkpoint and end its MLflow run as KILLED.
          terminationGracePeriodSeconds: 120,
          // No volumes: every record goes to MLflow, and runs/ in the container's own file system is only the
          // trial's working copy. A stopped trial's checkpoint goes with its pod, so rerunning its index starts it over.
          containers: [
            {
              name: 'trial',
              image: options.image,
              workingDir: IMAGE_CHECKOUT,
              // Node on the CLI as the container's first process, so Kubernetes' SIGTERM reaches `vae sweep`, which
              // passes it on to the trial's `vae run` (under npx it would end npm and leave the training running).
              // Kubernetes sets JOB_COMPLETION_INDEX in every pod of an Indexed Job; `vae sweep` reads it.
              command: ['node', 'bin/vae.js', 'sweep', specPath, ...options.args.slice(1)],
              env: [{ name: 'MLFLOW_TRACKING_URI', value: process.env.MLFLOW_TRACKING_URI ?? 'http://mlflow:5000' }],
              // The server's credentials (MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN) come from a
              // Secret when there is one, never from this file.
              envFrom: [{ secretRef: { name: 'mlflow-credentials', optional: true } }],
              resources: { requests: { cpu: '2', memory: '2Gi' } },
            },
          ],
        },
      },
    },
  };
  return `# Sweep ${prepared.id}: kubectl apply -f ${record.path('k8s-job.yaml')}; then npx vae sweep summarize ${options.args.join(' ')}\n${stringify(job)}`;
}

/** The sweep file as the image sees it: relative to the checkout the image is built from. */
function specInImage(options: PlanOptions): { path: string; inside: boolean } {
  const absolute = resolve(options.cwd, options.args[0]);
  const path = relative(CHECKOUT, absolute);
  return path === '..' || path.startsWith('../') || isAbsolute(path) ? { path: absolute, inside: false } : { path, inside: true };
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
