import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackendChoice } from '../backend.ts';
import type { LoadedSpec } from '../experiment-spec/load.ts';

const VAE_LAB_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The tags every run gets: MLflow's own (name, source, git commit, note) and what it ran on. */
export function runTags(loaded: LoadedSpec, backend: BackendChoice): Record<string, string> {
  const tags: Record<string, string> = {
    'mlflow.runName': loaded.spec.name,
    'mlflow.source.name': loaded.file,
    'mlflow.source.type': 'LOCAL',
    'vae.backend': backend.name,
    'vae.version': VAE_LAB_VERSION,
    'vae.tfjs_version': tf.version_core,
  };
  if (backend.tensorflowVersion) tags['vae.tensorflow_version'] = backend.tensorflowVersion;
  if (loaded.spec.description) tags['mlflow.note.content'] = loaded.spec.description;
  const commit = gitCommit(dirname(loaded.file));
  if (commit) tags['mlflow.source.git.commit'] = commit;
  return { ...tags, ...slurmTags() };
}

// Slurm's names for the job a run ran in, so MLflow leads to the job's log and accounting (sacct -j <job id>).
const SLURM_TAGS = {
  'slurm.job_id': 'SLURM_JOB_ID',
  'slurm.array_job_id': 'SLURM_ARRAY_JOB_ID',
  'slurm.array_task_id': 'SLURM_ARRAY_TASK_ID',
} as const;

/** The Slurm job (and array task) this process runs in; nothing outside Slurm. */
export function slurmTags(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(SLURM_TAGS).flatMap(([tag, variable]) => (env[variable] ? [[tag, env[variable]]] : [])));
}

function gitCommit(dir: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

export function versions(backend: BackendChoice): Record<string, string> {
  const found: Record<string, string> = { 'vae-lab': VAE_LAB_VERSION, node: process.versions.node, 'tfjs-core': tf.version_core };
  if (backend.tensorflowVersion) found.tensorflow = backend.tensorflowVersion;
  return found;
}
