// TensorFlow's own gradients for a graph, from its C API's TF_AddGradientsWithPrefix: the C++ gradient registry
// linked into the libtensorflow that tfjs-node already loads. Reached through koffi (an FFI whose binaries come as
// npm packages), so nothing is compiled at install time; the graph travels as serialized GraphDef bytes both ways.
import koffi from 'koffi';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The C API calls used here, bound once. */
interface TensorflowC {
  newGraph(): unknown;
  deleteGraph(graph: unknown): void;
  newStatus(): unknown;
  deleteStatus(status: unknown): void;
  getCode(status: unknown): number;
  message(status: unknown): string;
  newBufferFromString(bytes: Uint8Array, length: number): unknown;
  newBuffer(): unknown;
  deleteBuffer(buffer: unknown): void;
  newImportOptions(): unknown;
  deleteImportOptions(options: unknown): void;
  importGraphDef(graph: unknown, buffer: unknown, options: unknown, status: unknown): void;
  operationByName(graph: unknown, name: string): unknown;
  operationName(operation: unknown): string;
  addGradients(graph: unknown, prefix: string, y: Output[], ny: number, x: Output[], nx: number, dx: null, status: unknown, dy: Output[]): void;
  graphToGraphDef(graph: unknown, buffer: unknown, status: unknown): void;
}

interface Output {
  oper: unknown;
  index: number;
}

/** The TensorFlow C library under tfjs-node: the wheel's libtensorflow_cc.so.2 (or 2.9.1's libtensorflow), via its usual name. */
export function tensorflowLibraryPath(): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-node/package.json')), 'deps', 'lib', 'libtensorflow.so.2');
}

let bound: TensorflowC | undefined;
let loadError: string | undefined;

function bind(): TensorflowC {
  if (bound) return bound;
  if (loadError) throw new Error(loadError);
  try {
    const lib = koffi.load(tensorflowLibraryPath());
    koffi.opaque('TF_Graph');
    koffi.opaque('TF_Status');
    koffi.opaque('TF_Operation');
    koffi.opaque('TF_ImportGraphDefOptions');
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
      addGradients: lib.func('void TF_AddGradientsWithPrefix(TF_Graph *, const char *, TF_Output *y, int ny, TF_Output *x, int nx, TF_Output *dx, TF_Status *, _Out_ TF_Output *dy)'),
      graphToGraphDef: lib.func('void TF_GraphToGraphDef(TF_Graph *, TF_Buffer *, TF_Status *)'),
    };
    return bound;
  } catch (e) {
    loadError = `TensorFlow's C API could not be reached through koffi: ${(e as Error).message.split('\n')[0]}`;
    throw new Error(loadError);
  }
}

/** Why TensorFlow's gradients cannot be had here, or undefined when they can. */
export function tensorflowGradientsProblem(): string | undefined {
  try {
    bind();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** A tensor of the graph by TensorFlow's name: `<node>` (output 0) or `<node>:<output>`. */
function parseRef(ref: string): [string, number] {
  const colon = ref.lastIndexOf(':');
  return colon < 0 ? [ref, 0] : [ref.slice(0, colon), Number(ref.slice(colon + 1))];
}

/**
 * Adds to `graphDef` the ops that compute d(sum of ys)/d(each x), named under `prefix/`, and returns the grown
 * GraphDef with the names of the gradient tensors, in the order of `xs`.
 */
export function addGradients(graphDef: Uint8Array, ys: string[], xs: string[], prefix: string): { graphDef: Uint8Array; gradients: string[] } {
  const c = bind();
  const graph = c.newGraph();
  const status = c.newStatus();
  const check = (what: string) => {
    if (c.getCode(status) !== 0) throw new Error(`TensorFlow ${what}: ${c.message(status)}`);
  };
  try {
    const input = c.newBufferFromString(graphDef, graphDef.length);
    const options = c.newImportOptions();
    c.importGraphDef(graph, input, options, status);
    c.deleteImportOptions(options);
    c.deleteBuffer(input);
    check('could not import the graph');
    const outputs = (refs: string[]): Output[] =>
      refs.map((ref) => {
        const [name, index] = parseRef(ref);
        const oper = c.operationByName(graph, name);
        if (!oper) throw new Error(`the graph has no node ${name}`);
        return { oper, index };
      });
    const dy: Output[] = xs.map(() => ({ oper: null, index: 0 }));
    c.addGradients(graph, prefix, outputs(ys), ys.length, outputs(xs), xs.length, null, status, dy);
    check('could not differentiate the graph');
    const gradients = dy.map(({ oper, index }, i) => {
      if (!oper) throw new Error(`TensorFlow found no path from ${xs[i]} to the loss`);
      return `${c.operationName(oper)}:${index}`;
    });
    const output = c.newBuffer();
    try {
      c.graphToGraphDef(graph, output, status);
      check('could not serialize the graph');
      const { data, length } = koffi.decode(output, 'TF_Buffer') as { data: unknown; length: number };
      return { graphDef: new Uint8Array(koffi.view(data, length)).slice(), gradients };
    } finally {
      c.deleteBuffer(output);
    }
  } finally {
    c.deleteStatus(status);
    c.deleteGraph(graph);
  }
}
