import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import type { ImageShape } from '../data/images.ts';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import { validateExperiment } from '../experiment-spec/validate.ts';
import { RUN_ARTIFACTS, RunRecord } from '../record/run-record.ts';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { loadLayersModel } from './persist.ts';
import { likelihoodOf, Vae } from './vae.ts';
import { UserError } from '../errors.ts';

/** A finished run that can be used: its resolved spec and its trained VAE. */
export interface TrainedRun {
  runDir: string;
  spec: ResolvedSpec;
  vae: Vae;
  image: ImageShape;
}

export class TrainedRunError extends UserError {}

const NEEDED = RunRecord.trainedModelFiles();
const MLFLOW_RUN_ID = /^[0-9a-f]{32}$/;
const MLFLOW_MODEL_ID = /^m-[0-9a-f]{32}$/;

type Options = { runsDir: string; trackingUri?: () => Promise<string> };

/**
 * Loads a run given a local run folder, an MLflow run id or the id of a run's MLflow logged model (`m-...`). A run
 * recorded on this machine is read from its local record; any other is downloaded from the tracking server into
 * runs/.downloads/<id>/ first (a logged model's encoder and decoder from the model itself, its spec from its run).
 */
export async function loadTrainedRun(ref: string, options: Options): Promise<TrainedRun> {
  const runDir = existsSync(ref)
    ? ref
    : MLFLOW_RUN_ID.test(ref)
      ? (RunRecord.findByMlflowId(options.runsDir, 'run_id', ref)?.dir ?? (await downloadRun(ref, options)))
      : MLFLOW_MODEL_ID.test(ref)
        ? (RunRecord.findByMlflowId(options.runsDir, 'model_id', ref)?.dir ?? (await downloadModel(ref, options)))
        : undefined;
  if (!runDir)
    throw new TrainedRunError(`${ref}: no such run folder, and not an MLflow run id (32 hex digits) or model id (m-<32 hex digits>)`);
  const missing = NEEDED.filter((file) => !existsSync(join(runDir, file)));
  if (missing.length > 0) {
    throw new TrainedRunError(
      `${runDir}: not a finished vae-lab run (missing ${missing.join(', ')}); runs live in runs/<experiment>/<run-id>`,
    );
  }
  const record = new RunRecord(runDir);
  const spec = parse(readFileSync(record.path(RUN_ARTIFACTS.resolvedSpec), 'utf8')) as ResolvedSpec;
  const problems = validateExperiment(spec);
  if (problems.length > 0) {
    const first = problems[0];
    throw new TrainedRunError(
      `${record.path(RUN_ARTIFACTS.resolvedSpec)} no longer matches this vae-lab's schema (${first.path.join('.')}: ${first.message}); use the vae-lab version that trained it`,
    );
  }
  const [encoder, decoder] = await Promise.all([loadLayersModel(record.modelDir('encoder')), loadLayersModel(record.modelDir('decoder'))]);
  const latentDim = encoder.outputs[0].shape[1] as number;
  if (latentDim !== spec.model.latent_dim || decoder.inputs[0].shape[1] !== latentDim) {
    throw new TrainedRunError(`${runDir}: the saved model has ${latentDim} latent dimensions but its spec says ${spec.model.latent_dim}`);
  }
  const { height, width } = record.readSummary()!.data.image;
  // The encoder's input is every value of an image, so it says how many channels the model takes, for runs whose
  // summary predates colour images too.
  const channels = (encoder.inputs[0].shape[1] as number) / (height * width);
  return { runDir, spec, vae: new Vae(encoder, decoder, likelihoodOf(spec.loss), latentDim), image: { height, width, channels } };
}

function clientOf(what: string, options: Options): Promise<MlflowClient> {
  if (!options.trackingUri) throw new TrainedRunError(`${what} is not in ${options.runsDir}/ and no tracking server was given`);
  return options.trackingUri().then((uri) => MlflowClient.fromEnv(uri));
}

async function downloadRun(runId: string, options: Options): Promise<string> {
  const client = await clientOf(`MLflow run ${runId}`, options);
  const run = await client.findRun(runId);
  if (!run) throw new TrainedRunError(`MLflow run ${runId} does not exist on ${client.trackingUri}`);
  const target = join(options.runsDir, '.downloads', runId);
  for (const file of NEEDED) save(join(target, file), await client.downloadArtifact(run.info.artifact_uri, file));
  return target;
}

async function downloadModel(modelId: string, options: Options): Promise<string> {
  const client = await clientOf(`MLflow model ${modelId}`, options);
  const model = await client.findLoggedModel(modelId);
  if (!model) throw new TrainedRunError(`MLflow model ${modelId} does not exist on ${client.trackingUri}`);
  const run = model.source_run_id ? await client.findRun(model.source_run_id) : null;
  if (!run) throw new TrainedRunError(`MLflow model ${modelId} has no source run on ${client.trackingUri} to take its spec from`);
  const target = join(options.runsDir, '.downloads', modelId);
  for (const file of NEEDED) {
    const inModel = file.startsWith(`${RUN_ARTIFACTS.model}/`);
    const bytes = inModel
      ? await client.downloadArtifact(model.artifact_uri, file.slice(RUN_ARTIFACTS.model.length + 1))
      : await client.downloadArtifact(run.info.artifact_uri, file);
    save(join(target, file), bytes);
  }
  return target;
}

function save(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}
