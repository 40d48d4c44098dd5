// Every reach into tfjs-node's internals that the native graph steps need, in one place. None is a published API,
// which is why @tensorflow/tfjs-node stays pinned; test/tfjs-bridge.test.ts fails loudly if an upgrade removes one.
//   - dist/proto/api_pb: tfjs-node's compiled TensorFlow protos (GraphDef, SavedModel, ...), to write a graph;
//   - the backend's loadSavedModelMetaGraph, runSavedModel and deleteSavedModel (its SavedModel support), to load
//     that graph into a TensorFlow session and run it with tfjs tensors in and out.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
// tfjs-node's generated protobuf classes have no type declarations.
export type Proto = any;
export const TFJS_NODE_PROTOS = '@tensorflow/tfjs-node/dist/proto/api_pb';
export const SESSION_METHODS = ['loadSavedModelMetaGraph', 'runSavedModel', 'deleteSavedModel'] as const;
export const PROTO_CLASSES = [
  'GraphDef',
  'NodeDef',
  'AttrValue',
  'Tensor',
  'TensorShape',
  'DataType',
  'MetaGraphDef',
  'SavedModel',
] as const;

/** The slice of tfjs-node's backend that loads a graph and runs it. */
interface SessionBackend {
  loadSavedModelMetaGraph(path: string, tags: string): number;
  runSavedModel(id: number, inputs: tf.Tensor[], inputInfos: { name: string; tfDtype: string }[], outputNames: string[]): tf.Tensor[];
  deleteSavedModel(id: number): void;
}

/** tfjs-node's compiled TensorFlow protos. */
export function graphProtos(): Proto {
  return require(TFJS_NODE_PROTOS);
}

/** Which of the internals are missing from the loaded tfjs-node (empty when all are there). */
export function missingInternals(): string[] {
  const missing: string[] = [];
  try {
    const pb = graphProtos();
    for (const name of PROTO_CLASSES) if (!pb[name]) missing.push(`${TFJS_NODE_PROTOS}: ${name}`);
  } catch (e) {
    missing.push(`${TFJS_NODE_PROTOS} (${(e as Error).message.split('\n')[0]})`);
  }
  const backend = tf.backend() as unknown as Record<string, unknown>;
  for (const method of SESSION_METHODS) if (typeof backend[method] !== 'function') missing.push(`tfjs-node backend: ${method}()`);
  return missing;
}

/**
 * Loads a serialized GraphDef into a new TensorFlow session: tfjs-node reads graphs only as SavedModels, so it is
 * written as one into a temporary folder, removed at once.
 */
export function loadGraphSession(graphDef: Uint8Array): GraphSession {
  const pb = graphProtos();
  const meta = new pb.MetaGraphDef();
  const info = new pb.MetaGraphDef.MetaInfoDef();
  info.addTags('serve');
  meta.setMetaInfoDef(info);
  meta.setGraphDef(pb.GraphDef.deserializeBinary(graphDef));
  const model = new pb.SavedModel();
  model.setSavedModelSchemaVersion(1);
  model.addMetaGraphs(meta);
  const dir = mkdtempSync(join(tmpdir(), 'vae-graph-'));
  try {
    writeFileSync(join(dir, 'saved_model.pb'), model.serializeBinary());
    const backend = tf.backend() as unknown as SessionBackend;
    return new TfjsNodeSession(backend, backend.loadSavedModelMetaGraph(dir, 'serve'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A loaded graph: each run feeds placeholders and fetches tensors (`node` or `node:output`) in one session call. */
export interface GraphSession {
  run(feeds: [string, tf.Tensor][], fetches: string[]): tf.Tensor[];
  dispose(): void;
}

/** Makes a session of a GraphDef: tfjs-node's own (loadGraphSession), or one that records TensorFlow's step stats. */
export type SessionLoader = (graphDef: Uint8Array) => GraphSession;

class TfjsNodeSession implements GraphSession {
  constructor(
    private readonly backend: SessionBackend,
    private readonly id: number,
  ) {}

  run(feeds: [string, tf.Tensor][], fetches: string[]): tf.Tensor[] {
    // The dtype named here matters to tfjs-node only for uint8; the tensors carry their own.
    const infos = feeds.map(([name]) => ({ name: `${name}:0`, tfDtype: 'DT_FLOAT' }));
    return this.backend.runSavedModel(
      this.id,
      feeds.map(([, t]) => t),
      infos,
      fetches.map((f) => (f.includes(':') ? f : `${f}:0`)),
    );
  }

  dispose(): void {
    this.backend.deleteSavedModel(this.id);
  }
}
