// A session that can record TensorFlow's step stats: what every kernel of a run cost, op by op, on the executor's
// own clock. tfjs-node's session calls take no RunOptions, so this one is made directly through the C API
// (TF_NewSession, TF_SessionRun with FULL_TRACE) on the same GraphDef; it is for profiling, not for training speed
// (its tensors cross as copies).
import * as tf from '@tensorflow/tfjs';
import {
  bufferBytes,
  importGraph,
  memory,
  outputsByName,
  tensorflowC,
  TF_FLOAT,
  TF_INT32,
  withStatus,
  type Pointer,
} from './tensorflow-c.ts';
import type { GraphSession } from './tfjs-node-session.ts';

/** One kernel's execution in a traced run. */
export interface KernelStat {
  node: string;
  /** The op type, from TensorFlow's timeline label (`name = Op(inputs)`), e.g. _FusedMatMul after Grappler. */
  op: string;
  /** Start, relative to the run's first kernel, and duration, in microseconds. */
  startMicros: number;
  micros: number;
  thread: number;
}

// RunOptions { trace_level: FULL_TRACE }: field 1, varint 3.
const FULL_TRACE = new Uint8Array([0x08, 0x03]);

export class ProfiledSession implements GraphSession {
  /** When set, every run records its kernels into `traces`. */
  tracing = false;
  readonly traces: KernelStat[][] = [];
  private readonly c = tensorflowC();
  private readonly graph: Pointer;
  private readonly session: Pointer;

  constructor(graphDef: Uint8Array) {
    this.graph = importGraph(this.c, graphDef);
    this.session = withStatus(this.c, (status, check) => {
      const options = this.c.newSessionOptions();
      const session = this.c.newSession(this.graph, options, status);
      this.c.deleteSessionOptions(options);
      check('could not create a session');
      return session;
    });
  }

  run(feeds: [string, tf.Tensor][], fetches: string[]): tf.Tensor[] {
    const { c } = this;
    const inputs = feeds.map(([, t]) => this.toTensorflow(t));
    const outputs: Pointer[] = fetches.map(() => null);
    const options = this.tracing ? c.newBufferFromString(FULL_TRACE, FULL_TRACE.length) : null;
    const metadata = this.tracing ? c.newBuffer() : null;
    try {
      withStatus(c, (status, check) => {
        c.sessionRun(
          this.session,
          options,
          outputsByName(
            c,
            this.graph,
            feeds.map(([name]) => name),
          ),
          inputs,
          inputs.length,
          outputsByName(c, this.graph, fetches),
          outputs,
          outputs.length,
          null,
          0,
          metadata,
          status,
        );
        check('could not run the graph');
      });
      if (metadata) this.traces.push(kernelStats(bufferBytes(metadata)));
      return outputs.map((t) => this.toTfjs(t));
    } finally {
      for (const t of [...inputs, ...outputs]) if (t) c.deleteTensor(t);
      if (options) c.deleteBuffer(options);
      if (metadata) c.deleteBuffer(metadata);
    }
  }

  dispose(): void {
    withStatus(this.c, (status) => {
      this.c.closeSession(this.session, status);
      this.c.deleteSession(this.session, status);
    });
    this.c.deleteGraph(this.graph);
  }

  private toTensorflow(t: tf.Tensor): Pointer {
    const data = t.dataSync();
    const tensor = this.c.allocateTensor(t.dtype === 'int32' ? TF_INT32 : TF_FLOAT, t.shape, t.rank, data.byteLength);
    memory(this.c.tensorData(tensor), data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return tensor;
  }

  private toTfjs(tensor: Pointer): tf.Tensor {
    const shape = Array.from({ length: this.c.numDims(tensor) }, (_, i) => Number(this.c.dim(tensor, i)));
    const bytes = memory(this.c.tensorData(tensor), this.c.tensorByteSize(tensor)).slice();
    const int = this.c.tensorType(tensor) === TF_INT32;
    return tf.tensor(int ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer), shape, int ? 'int32' : 'float32');
  }
}

export const loadProfiledSession = (graphDef: Uint8Array) => new ProfiledSession(graphDef);

/** The kernels of RunMetadata.step_stats, from its protobuf bytes (tfjs-node's protos do not include it). */
function kernelStats(runMetadata: Uint8Array): KernelStat[] {
  const stats: KernelStat[] = [];
  for (const [field, stepStats] of protoFields(runMetadata)) {
    if (field !== 1 || typeof stepStats === 'number') continue;
    for (const [devField, device] of protoFields(stepStats)) {
      if (devField !== 1 || typeof device === 'number') continue;
      for (const [nodeField, node] of protoFields(device)) {
        if (nodeField !== 2 || typeof node === 'number') continue;
        const values = new Map(protoFields(node));
        const text = (f: number) => new TextDecoder().decode(values.get(f) as Uint8Array | undefined);
        const num = (f: number) => Number(values.get(f) ?? 0);
        const label = text(8);
        stats.push({
          node: text(1),
          op: /= (\S+?)\(/.exec(label)?.[1] ?? label,
          startMicros: num(2),
          micros: num(4) - num(3),
          thread: num(10),
        });
      }
    }
  }
  const first = Math.min(...stats.map((s) => s.startMicros));
  return stats.map((s) => ({ ...s, startMicros: s.startMicros - first }));
}

/** A protobuf message's fields in order: varints as numbers, length-delimited fields as bytes; fixed-width ones skipped. */
function protoFields(bytes: Uint8Array): [number, number | Uint8Array][] {
  const fields: [number, number | Uint8Array][] = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 1; ; shift *= 128) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key & 7];
    if (wire === 0) fields.push([field, varint()]);
    else if (wire === 2) {
      const length = varint();
      fields.push([field, bytes.subarray(at, at + length)]);
      at += length;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`unexpected protobuf wire type ${wire}`);
  }
  return fields;
}
