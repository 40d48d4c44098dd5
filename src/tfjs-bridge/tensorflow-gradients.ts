// TensorFlow's own gradients for a graph, from the C API's TF_AddGradientsWithPrefix: the C++ gradient registry
// linked into the libtensorflow that tfjs-node loads. The graph travels as serialized GraphDef bytes both ways.
import { bufferBytes, importGraph, outputsByName, tensorflowC, withStatus, type Output } from './tensorflow-c.ts';
import type { Proto } from './tfjs-node-session.ts';

/** Why TensorFlow's gradients cannot be had here, or undefined when they can. */
export function tensorflowGradientsProblem(): string | undefined {
  try {
    tensorflowC();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Adds to `graphDef` the ops that compute d(sum of ys)/d(each x), named under `prefix/`, and returns the grown
 * GraphDef with the names of the gradient tensors, in the order of `xs`. `dys`, one per y and of its shape, weight
 * each y's elements (d loss / d y); without them every element counts once.
 */
export function addGradients(
  graphDef: Uint8Array,
  ys: string[],
  xs: string[],
  prefix: string,
  dys?: string[],
): { graphDef: Uint8Array; gradients: string[] } {
  const c = tensorflowC();
  const graph = importGraph(c, graphDef);
  try {
    return withStatus(c, (status, check) => {
      const dy: Output[] = xs.map(() => ({ oper: null, index: 0 }));
      const seeds = dys ? outputsByName(c, graph, dys) : null;
      c.addGradients(graph, prefix, outputsByName(c, graph, ys), ys.length, outputsByName(c, graph, xs), xs.length, seeds, status, dy);
      check('could not differentiate the graph');
      const gradients = dy.map(({ oper, index }, i) => {
        if (!oper) throw new Error(`TensorFlow found no path from ${xs[i]} to the loss`);
        return `${c.operationName(oper)}:${index}`;
      });
      const output = c.newBuffer();
      try {
        c.graphToGraphDef(graph, output, status);
        check('could not serialize the graph');
        return { graphDef: bufferBytes(output), gradients };
      } finally {
        c.deleteBuffer(output);
      }
    });
  } finally {
    c.deleteGraph(graph);
  }
}

/**
 * Points every ReluGrad of `graph` (a GraphDef) at its Relu's output instead of the Relu's input, and returns the
 * graph. TensorFlow's C++ gradient of Relu reads the input (Python's reads the output); both give the same values,
 * since relu(x) > 0 exactly where x > 0. Read by the gradient, the input of a Relu (a BiasAdd) has two consumers,
 * and Grappler then leaves the Relu out of the fused convolution or product before it: on the conv VAE, three
 * ReLU kernels of four a step, each a pass over memory (docs/results.md, "Speed").
 */
export function reluGradientsFromOutputs(graph: Proto): Proto {
  const nodes: Proto[] = graph.getNodeList();
  const reluOf = new Map<string, string>(nodes.filter((n) => n.getOp() === 'Relu').map((n) => [n.getInputList()[0], n.getName()]));
  for (const node of nodes) {
    const [gradient, features, ...rest]: string[] = node.getInputList();
    const relu = node.getOp() === 'ReluGrad' ? reluOf.get(features) : undefined;
    if (relu) node.setInputList([gradient, relu, ...rest]);
  }
  return graph;
}
