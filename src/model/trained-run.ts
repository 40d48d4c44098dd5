import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import type { ResolvedSpec } from '../spec/load.ts';
import { validateExperiment } from '../spec/validate.ts';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { loadLayersModel } from './persist.ts';
import { likelihoodOf, Vae } from './vae.ts';

/** A finished run that can be used: its resolved spec and its trained VAE. */
export interface TrainedRun {
  runDir: string;
  spec: ResolvedSpec;
  vae: Vae;
  image: { height: number; width: number };
}

export class TrainedRunError extends Error {
  override name = 'TrainedRunError';
}

const NEEDED = ['summary.json', 'spec/resolved.yaml', 'model/encoder/model.json', 'model/encoder/weights.bin', 'model/decoder/model.json', 'model/decoder/weights.bin'];
const MLFLOW_RUN_ID = /^[0-9a-f]{32}$/;

/**
 * Loads a run given a local run folder or an MLflow run id. An MLflow run recorded on this machine is read from its
 * local record; any other is downloaded from the tracking server into runs/.downloads/<run-id>/ first.
 */
export async function loadTrainedRun(ref: string, options: { runsDir: string; trackingUri?: () => Promise<string> }): Promise<TrainedRun> {
  const runDir = existsSync(ref) ? ref : MLFLOW_RUN_ID.test(ref) ? await localCopyOf(ref, options) : undefined;
  if (!runDir) throw new TrainedRunError(`${ref}: no such run folder, and not an MLflow run id (32 hex digits)`);
  const missing = NEEDED.filter((file) => !existsSync(join(runDir, file)));
  if (missing.length > 0) {
    throw new TrainedRunError(`${runDir}: not a finished vae-lab run (missing ${missing.join(', ')}); runs live in runs/<experiment>/<run-id>`);
  }
  const spec = parse(readFileSync(join(runDir, 'spec/resolved.yaml'), 'utf8')) as ResolvedSpec;
  const problems = validateExperiment(spec);
  if (problems.length > 0) {
    const first = problems[0];
    throw new TrainedRunError(`${runDir}/spec/resolved.yaml no longer matches this vae-lab's schema (${first.path.join('.')}: ${first.message}); use the vae-lab version that trained it`);
  }
  const [encoder, decoder] = await Promise.all([loadLayersModel(join(runDir, 'model/encoder')), loadLayersModel(join(runDir, 'model/decoder'))]);
  const latentDim = encoder.outputs[0].shape[1] as number;
  if (latentDim !== spec.model.latent_dim || decoder.inputs[0].shape[1] !== latentDim) {
    throw new TrainedRunError(`${runDir}: the saved model has ${latentDim} latent dimensions but its spec says ${spec.model.latent_dim}`);
  }
  const { image } = (JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as { data: { image: { height: number; width: number } } }).data;
  return { runDir, spec, vae: new Vae(encoder, decoder, likelihoodOf(spec.loss), latentDim), image };
}

async function localCopyOf(runId: string, options: { runsDir: string; trackingUri?: () => Promise<string> }): Promise<string> {
  const recorded = findLocalRecord(options.runsDir, runId);
  if (recorded) return recorded;
  if (!options.trackingUri) throw new TrainedRunError(`MLflow run ${runId} is not in ${options.runsDir}/ and no tracking server was given`);
  const client = MlflowClient.fromEnv(await options.trackingUri());
  const run = await client.findRun(runId);
  if (!run) throw new TrainedRunError(`MLflow run ${runId} does not exist on ${client.trackingUri}`);
  const target = join(options.runsDir, '.downloads', runId);
  for (const file of NEEDED) {
    const bytes = await client.downloadArtifact(run.info.artifact_uri, file);
    mkdirSync(dirname(join(target, file)), { recursive: true });
    writeFileSync(join(target, file), bytes);
  }
  return target;
}

/** The run folder whose mlflow.json names this MLflow run, if this machine recorded it. */
function findLocalRecord(runsDir: string, runId: string): string | undefined {
  if (!existsSync(runsDir)) return undefined;
  for (const experiment of readdirSync(runsDir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    for (const run of readdirSync(join(runsDir, experiment.name), { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const identity = join(runsDir, experiment.name, run.name, 'mlflow.json');
      if (existsSync(identity) && (JSON.parse(readFileSync(identity, 'utf8')) as { run_id: string }).run_id === runId) return dirname(identity);
    }
  }
  return undefined;
}
