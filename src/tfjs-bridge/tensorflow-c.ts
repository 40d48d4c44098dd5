// The calls of TensorFlow's C API that vae-lab makes itself, bound through koffi (an FFI whose binaries come as npm
// packages) in the libtensorflow that tfjs-node already loads, so nothing is compiled at install time.
// koffi is loaded on first use, so a machine where it cannot load still trains (through autodiff) and says why.
import type Koffi from 'koffi';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** A C pointer as koffi hands it over. */
export type Pointer = unknown;

/** TF_Output: one output of an operation. */
export interface Output {
  oper: Pointer;
  index: number;
}

export interface TensorflowC {
  newGraph(): Pointer;
  deleteGraph(graph: Pointer): void;
  newStatus(): Pointer;
  deleteStatus(status: Pointer): void;
  getCode(status: Pointer): number;
  message(status: Pointer): string;
  newBufferFromString(bytes: Uint8Array, length: number): Pointer;
  newBuffer(): Pointer;
  deleteBuffer(buffer: Pointer): void;
  newImportOptions(): Pointer;
  deleteImportOptions(options: Pointer): void;
  importGraphDef(graph: Pointer, buffer: Pointer, options: Pointer, status: Pointer): void;
  operationByName(graph: Pointer, name: string): Pointer;
  operationName(operation: Pointer): string;
  addGradients(
    graph: Pointer,
    prefix: string,
    y: Output[],
    ny: number,
    x: Output[],
    nx: number,
    dx: Output[] | null,
    status: Pointer,
    dy: Output[],
  ): void;
  graphToGraphDef(graph: Pointer, buffer: Pointer, status: Pointer): void;
  newSessionOptions(): Pointer;
  deleteSessionOptions(options: Pointer): void;
  newSession(graph: Pointer, options: Pointer, status: Pointer): Pointer;
  closeSession(session: Pointer, status: Pointer): void;
  deleteSession(session: Pointer, status: Pointer): void;
  sessionRun(
    session: Pointer,
    runOptions: Pointer | null,
    inputs: Output[],
    inputValues: Pointer[],
    ninputs: number,
    outputs: Output[],
    outputValues: Pointer[],
    noutputs: number,
    targets: null,
    ntargets: number,
    runMetadata: Pointer | null,
    status: Pointer,
  ): void;
  allocateTensor(dtype: number, dims: number[], numDims: number, length: number): Pointer;
  deleteTensor(tensor: Pointer): void;
  tensorData(tensor: Pointer): Pointer;
  tensorByteSize(tensor: Pointer): number;
  numDims(tensor: Pointer): number;
  dim(tensor: Pointer, index: number): number;
  tensorType(tensor: Pointer): number;
}

/** TF_DataType values. */
export const TF_FLOAT = 1;
export const TF_INT32 = 3;

/** The TensorFlow C library under tfjs-node: the wheel's libtensorflow_cc.so.2 (or 2.9.1's libtensorflow), by its usual name. */
export function tensorflowLibraryPath(): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-node/package.json')), 'deps', 'lib', 'libtensorflow.so.2');
}

let bound: TensorflowC | undefined;
let koffi: typeof Koffi;
let loadError: string | undefined;

/** The bound calls; throws, with the reason, when koffi, the library or one of its symbols cannot be reached. */
export function tensorflowC(): TensorflowC {
  if (bound) return bound;
  if (loadError) throw new Error(loadError);
  try {
    koffi = require('koffi') as typeof Koffi;
    const lib = koffi.load(tensorflowLibraryPath());
    for (const name of [
      'TF_Graph',
      'TF_Status',
      'TF_Operation',
      'TF_ImportGraphDefOptions',
      'TF_SessionOptions',
      'TF_Session',
      'TF_Tensor',
    ])
      koffi.opaque(name);
    koffi.struct('TF_Buffer', { data: 'void *', length: 'size_t', data_deallocator: 'void *' });
    koffi.struct('TF_Output', { oper: 'TF_Operation *', index: 'int' });
    bound = {
      newGraph: lib.func('TF_Graph *TF_NewGraph()'),
      deleteGraph: lib.func('void TF_DeleteGraph(TF_Graph *)'),
      newStatus: lib.func('TF_Status *TF_NewStatus()'),
      deleteStatus: lib.func('void TF_DeleteStatus(TF_Status *)'),
      getCode: lib.func('int TF_GetCode(const TF_Status *)'),
      message: lib.func('const char *TF_Message(const TF_Status *)'),
      newBufferFromString: lib.func('TF_Buffer *TF_NewBufferFromString(const void *proto, size_t proto_len)'),
      newBuffer: lib.func('TF_Buffer *TF_NewBuffer()'),
      deleteBuffer: lib.func('void TF_DeleteBuffer(TF_Buffer *)'),
      newImportOptions: lib.func('TF_ImportGraphDefOptions *TF_NewImportGraphDefOptions()'),
      deleteImportOptions: lib.func('void TF_DeleteImportGraphDefOptions(TF_ImportGraphDefOptions *)'),
      importGraphDef: lib.func('void TF_GraphImportGraphDef(TF_Graph *, const TF_Buffer *, const TF_ImportGraphDefOptions *, TF_Status *)'),
      operationByName: lib.func('TF_Operation *TF_GraphOperationByName(TF_Graph *, const char *)'),
      operationName: lib.func('const char *TF_OperationName(TF_Operation *)'),
      addGradients: lib.func(
        'void TF_AddGradientsWithPrefix(TF_Graph *, const char *, TF_Output *y, int ny, TF_Output *x, int nx, TF_Output *dx, TF_Status *, _Out_ TF_Output *dy)',
      ),
      graphToGraphDef: lib.func('void TF_GraphToGraphDef(TF_Graph *, TF_Buffer *, TF_Status *)'),
      newSessionOptions: lib.func('TF_SessionOptions *TF_NewSessionOptions()'),
      deleteSessionOptions: lib.func('void TF_DeleteSessionOptions(TF_SessionOptions *)'),
      newSession: lib.func('TF_Session *TF_NewSession(TF_Graph *, const TF_SessionOptions *, TF_Status *)'),
      closeSession: lib.func('void TF_CloseSession(TF_Session *, TF_Status *)'),
      deleteSession: lib.func('void TF_DeleteSession(TF_Session *, TF_Status *)'),
      sessionRun: lib.func(
        'void TF_SessionRun(TF_Session *, const TF_Buffer *, const TF_Output *, TF_Tensor **, int, const TF_Output *, _Out_ TF_Tensor **, int, const TF_Operation **, int, TF_Buffer *, TF_Status *)',
      ),
      allocateTensor: lib.func('TF_Tensor *TF_AllocateTensor(int, const int64_t *, int, size_t)'),
      deleteTensor: lib.func('void TF_DeleteTensor(TF_Tensor *)'),
      tensorData: lib.func('void *TF_TensorData(const TF_Tensor *)'),
      tensorByteSize: lib.func('size_t TF_TensorByteSize(const TF_Tensor *)'),
      numDims: lib.func('int TF_NumDims(const TF_Tensor *)'),
      dim: lib.func('int64_t TF_Dim(const TF_Tensor *, int)'),
      tensorType: lib.func('int TF_TensorType(const TF_Tensor *)'),
    };
    return bound;
  } catch (e) {
    loadError = `TensorFlow's C API could not be reached through koffi: ${(e as Error).message.split('\n')[0]}`;
    throw new Error(loadError);
  }
}

/** Runs `body` with a fresh TF_Status, turning a failure into an Error that says what was being done. */
export function withStatus<T>(c: TensorflowC, body: (status: Pointer, check: (what: string) => void) => T): T {
  const status = c.newStatus();
  try {
    return body(status, (what) => {
      if (c.getCode(status) !== 0) throw new Error(`TensorFlow ${what}: ${c.message(status)}`);
    });
  } finally {
    c.deleteStatus(status);
  }
}

/** `length` bytes of C memory at `pointer`, without a copy (valid while that memory is). */
export function memory(pointer: Pointer, length: number): Uint8Array {
  return new Uint8Array(koffi.view(pointer, length));
}

/** The bytes a TF_Buffer holds, copied out. */
export function bufferBytes(buffer: Pointer): Uint8Array {
  const { data, length } = koffi.decode(buffer, 'TF_Buffer') as { data: Pointer; length: number };
  return length === 0 ? new Uint8Array(0) : memory(data, length).slice();
}

/** A new TF_Graph holding `graphDef`; the caller deletes it. */
export function importGraph(c: TensorflowC, graphDef: Uint8Array): Pointer {
  const graph = c.newGraph();
  try {
    withStatus(c, (status, check) => {
      const input = c.newBufferFromString(graphDef, graphDef.length);
      const options = c.newImportOptions();
      c.importGraphDef(graph, input, options, status);
      c.deleteImportOptions(options);
      c.deleteBuffer(input);
      check('could not import the graph');
    });
    return graph;
  } catch (e) {
    c.deleteGraph(graph);
    throw e;
  }
}

/** TF_Outputs for tensor names `<node>` (output 0) or `<node>:<output>`. */
export function outputsByName(c: TensorflowC, graph: Pointer, refs: string[]): Output[] {
  return refs.map((ref) => {
    const colon = ref.lastIndexOf(':');
    const [name, index] = colon < 0 ? [ref, 0] : [ref.slice(0, colon), Number(ref.slice(colon + 1))];
    const oper = c.operationByName(graph, name);
    if (!oper) throw new Error(`the graph has no node ${name}`);
    return { oper, index };
  });
}
