import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import type { ImageShape } from '../data/images.ts';
import type { ResolvedSpec } from '../experiment-spec/load.ts';
import { validateExperiment } from '../experiment-spec/validate.ts';
import { RUN_ARTIFACTS, RunRecord, type NetworkName } from '../record/run-record.ts';
import { MlflowClient } from '../tracking/mlflow-client.ts';
import { loadLayersModel } from './persist.ts';
import type { TopLayer } from './top-layer.ts';
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
const TOP_NETWORKS: NetworkName[] = ['top_encoder', 'top_decoder'];
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
  const priorMissing = learnedPriorFiles(spec).filter((file) => !existsSync(join(runDir, file)));
  if (priorMissing.length > 0) {
    throw new TrainedRunError(
      `${runDir}: its spec has a learned prior (model.prior: ${spec.model.prior}) but the run lacks ${priorMissing.join(' and ')}`,
    );
  }
  const topMissing = topLayerFiles(spec).filter((file) => !existsSync(join(runDir, file)));
  if (topMissing.length > 0) {
    throw new TrainedRunError(`${runDir}: its spec has model.stochastic_layers: 2 but the run lacks ${topMissing.join(' and ')}`);
  }
  const [encoder, decoder] = await Promise.all([loadLayersModel(record.modelDir('encoder')), loadLayersModel(record.modelDir('decoder'))]);
  const prior =
    spec.model.prior === 'standard' ? undefined : { kind: spec.model.prior, network: await loadLayersModel(record.modelDir('prior')) };
  const top = await loadTopLayer(record, spec);
  const latentDim = encoder.outputs[0].shape[1] as number;
  if (latentDim !== spec.model.latent_dim || decoder.inputs[0].shape[1] !== latentDim) {
    throw new TrainedRunError(`${runDir}: the saved model has ${latentDim} latent dimensions but its spec says ${spec.model.latent_dim}`);
  }
  const { height, width } = record.readSummary()!.data.image;
  // The encoder's input is every value of an image, so it says how many channels the model takes, for runs whose
  // summary predates colour images too.
  const channels = (encoder.inputs[0].shape[1] as number) / (height * width);
  return {
    runDir,
    spec,
    vae: new Vae(encoder, decoder, likelihoodOf(spec.loss), latentDim, prior, top),
    image: { height, width, channels },
  };
}

/** The saved prior's files, for a spec with a learned prior. */
function learnedPriorFiles(spec: ResolvedSpec): string[] {
  return spec.model.prior === 'standard' ? [] : RunRecord.networkFiles('prior');
}

/** The saved second layer's files, for a spec with two stochastic layers. */
function topLayerFiles(spec: ResolvedSpec): string[] {
  return spec.model.stochastic_layers === 1 ? [] : TOP_NETWORKS.flatMap((part) => RunRecord.networkFiles(part));
}

async function loadTopLayer(record: RunRecord, spec: ResolvedSpec): Promise<TopLayer | undefined> {
  if (spec.model.stochastic_layers === 1) return undefined;
  const [encoder, decoder] = await Promise.all(TOP_NETWORKS.map((part) => loadLayersModel(record.modelDir(part))));
  return { encoder, decoder, latentDim: encoder.outputs[0].shape[1] as number };
}

/** Reads the resolved spec a download brought, for the files that depend on it. */
function downloadedSpec(target: string): ResolvedSpec {
  return parse(readFileSync(join(target, RUN_ARTIFACTS.resolvedSpec), 'utf8')) as ResolvedSpec;
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
  return saveDownloads(target, (file) => client.downloadArtifact(run.info.artifact_uri, file));
}

async function downloadModel(modelId: string, options: Options): Promise<string> {
  const client = await clientOf(`MLflow model ${modelId}`, options);
  const model = await client.findLoggedModel(modelId);
  if (!model) throw new TrainedRunError(`MLflow model ${modelId} does not exist on ${client.trackingUri}`);
  const run = model.source_run_id ? await client.findRun(model.source_run_id) : null;
  if (!run) throw new TrainedRunError(`MLflow model ${modelId} has no source run on ${client.trackingUri} to take its spec from`);
  const target = join(options.runsDir, '.downloads', modelId);
  return saveDownloads(target, (file) =>
    file.startsWith(`${RUN_ARTIFACTS.model}/`)
      ? client.downloadArtifact(model.artifact_uri, file.slice(RUN_ARTIFACTS.model.length + 1))
      : client.downloadArtifact(run.info.artifact_uri, file),
  );
}

/** Saves what a finished run needs into `target`, the learned prior's and the second layer's files too when its spec has them. */
async function saveDownloads(target: string, download: (file: string) => Promise<Uint8Array>): Promise<string> {
  for (const file of NEEDED) save(join(target, file), await download(file));
  const spec = downloadedSpec(target);
  for (const file of [...learnedPriorFiles(spec), ...topLayerFiles(spec)]) save(join(target, file), await download(file));
  return target;
}

function save(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}
