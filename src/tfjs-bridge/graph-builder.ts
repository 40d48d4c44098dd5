import { addGradients, reluGradientsFromOutputs } from './tensorflow-gradients.ts';
import { graphProtos, loadGraphSession, type GraphSession, type Proto, type SessionLoader } from './tfjs-node-session.ts';

/** A tensor in the graph being built: `<node>` or `<node>:<output>`. */
export type Ref = string;

type Padding = 'SAME' | 'VALID';
type DType = 'float32' | 'float64' | 'int32';

/**
 * Builds a TensorFlow graph node by node (as a GraphDef, with tfjs-node's protos), asks TensorFlow for its
 * gradients, and loads it as a session that runs a whole training step in one call. A session runs the graph's
 * independent ops in parallel and dispatches each in C++, with no JavaScript between them.
 * Every tensor is float32 unless said; float64 is for sums whose float32 rounding is too coarse (pairwise-graph.ts).
 */
export class GraphBuilder {
  private readonly pb: Proto = graphProtos();
  private graph: Proto = new this.pb.GraphDef();
  private readonly names = new Set<string>();

  placeholder(name: string, shape: number[]): Ref {
    return this.node(name, 'Placeholder', [], { dtype: this.type('float32'), shape: this.shape(shape) });
  }

  constant(values: number[], shape: number[], dtype: 'float32' | 'int32' = 'float32'): Ref {
    const tensor = new this.pb.Tensor();
    tensor.setDtype(dtype === 'float32' ? this.pb.DataType.DT_FLOAT : this.pb.DataType.DT_INT32);
    tensor.setTensorShape(this.shapeProto(shape));
    for (const v of values) dtype === 'float32' ? tensor.addFloatVal(v) : tensor.addIntVal(v);
    return this.node('const', 'Const', [], { dtype: this.type(dtype), value: this.attr((a) => a.setTensor(tensor)) });
  }

  scalar(value: number): Ref {
    return this.constant([value], []);
  }

  /** An op whose only attribute is the float32 element type: AddV2, Mul, Exp, Softplus, ... */
  op(op: string, ...inputs: Ref[]): Ref {
    return this.node(op.toLowerCase(), op, inputs, { T: this.type('float32') });
  }

  /** `op` on float64 tensors. */
  op64(op: string, ...inputs: Ref[]): Ref {
    return this.node(op.toLowerCase(), op, inputs, { T: this.type('float64') });
  }

  /** `x` as another element type. */
  cast(x: Ref, from: DType, to: DType): Ref {
    return this.node('cast', 'Cast', [x], { SrcT: this.type(from), DstT: this.type(to), Truncate: this.bool(false) });
  }

  /** a b, or a b^T with `transposeB`. */
  matMul(a: Ref, b: Ref, transposeB = false, dtype: DType = 'float32'): Ref {
    return this.node('matmul', 'MatMul', [a, b], {
      T: this.type(dtype),
      transpose_a: this.bool(false),
      transpose_b: this.bool(transposeB),
    });
  }

  /** Matrix products over the last two axes, batched over (and broadcasting) the leading ones; `adjointB` transposes b's. */
  batchMatMul(a: Ref, b: Ref, adjointB = false): Ref {
    return this.node('batch_matmul', 'BatchMatMulV2', [a, b], {
      T: this.type('float32'),
      adj_x: this.bool(false),
      adj_y: this.bool(adjointB),
    });
  }

  /** Channels-last bias, as TensorFlow's own dense and conv layers add it. */
  biasAdd(x: Ref, bias: Ref): Ref {
    return this.node('biasadd', 'BiasAdd', [x, bias], { T: this.type('float32'), data_format: this.string('NHWC') });
  }

  /** NHWC convolution with filters [height, width, in, out]. */
  conv2d(x: Ref, filter: Ref, strides: number[], padding: Padding): Ref {
    return this.node('conv2d', 'Conv2D', [x, filter], { ...this.convAttrs(strides, padding), use_cudnn_on_gpu: this.bool(true) });
  }

  /** The transposed convolution: the gradient of a Conv2D with these filters, to an output of `outputShape` (int32 [4]). */
  conv2dTranspose(x: Ref, filter: Ref, outputShape: Ref, strides: number[], padding: Padding): Ref {
    return this.node('conv2d_transpose', 'Conv2DBackpropInput', [outputShape, filter, x], {
      ...this.convAttrs(strides, padding),
      use_cudnn_on_gpu: this.bool(true),
    });
  }

  /** The sum over `axes`, which drop out of the shape. */
  sum(x: Ref, axes: number[], dtype: DType = 'float32'): Ref {
    return this.reduce('Sum', x, axes, false, dtype);
  }

  /** The mean over `axis`, which drops out of the shape. */
  mean(x: Ref, axis: number): Ref {
    return this.reduce('Mean', x, [axis], false);
  }

  /** `x` with a new axis of size 1 at `axis`, to broadcast against another tensor. */
  expandDims(x: Ref, axis: number): Ref {
    return this.node('expand_dims', 'ExpandDims', [x, this.constant([axis], [], 'int32')], {
      T: this.type('float32'),
      Tdim: this.type('int32'),
    });
  }

  /**
   * log(sum(exp(x))) over `axis`, which drops out of the shape, computed stably: the maximum is taken out first. It
   * goes through StopGradient, since the result does not depend on it (its gradient would be zero, in rounding).
   */
  logSumExp(x: Ref, axis: number): Ref {
    const max = (keepDims: boolean) =>
      this.node('stop_gradient', 'StopGradient', [this.reduce('Max', x, [axis], keepDims)], { T: this.type('float32') });
    return this.op('AddV2', this.op('Log', this.sum(this.op('Exp', this.op('Sub', x, max(true))), [axis])), max(false));
  }

  /** `shape` may hold one -1, as in tf.reshape. */
  reshape(x: Ref, shape: number[] | Ref): Ref {
    const target = typeof shape === 'string' ? shape : this.constant(shape, [shape.length], 'int32');
    return this.node('reshape', 'Reshape', [x, target], { T: this.type('float32'), Tshape: this.type('int32') });
  }

  /** Stacks equal-shaped tensors along a new first axis. */
  stack(xs: Ref[]): Ref {
    return this.node('stack', 'Pack', xs, {
      T: this.type('float32'),
      N: this.attr((a) => a.setI(xs.length)),
      axis: this.attr((a) => a.setI(0)),
    });
  }

  /** The n slices of `x` along its first axis. */
  unstack(x: Ref, n: number): Ref[] {
    const node = this.node('unstack', 'Unpack', [x], {
      T: this.type('float32'),
      num: this.attr((a) => a.setI(n)),
      axis: this.attr((a) => a.setI(0)),
    });
    return Array.from({ length: n }, (_, i) => `${node}:${i}`);
  }

  /** `x` cut along its last axis into consecutive pieces of `sizes` columns. */
  splitColumns(x: Ref, sizes: number[]): Ref[] {
    const node = this.node('split', 'SplitV', [x, this.constant(sizes, [sizes.length], 'int32'), this.constant([-1], [], 'int32')], {
      T: this.type('float32'),
      Tlen: this.type('int32'),
      num_split: this.attr((a) => a.setI(sizes.length)),
    });
    return sizes.map((_, i) => `${node}:${i}`);
  }

  concat(xs: Ref[], axis: number, dtype: 'float32' | 'int32' = 'float32'): Ref {
    return this.node('concat', 'ConcatV2', [...xs, this.constant([axis], [], 'int32')], {
      T: this.type(dtype),
      N: this.attr((a) => a.setI(xs.length)),
      Tidx: this.type('int32'),
    });
  }

  /** A tensor of `like`'s shape with every element `value` (a scalar). */
  fillLike(like: Ref, value: Ref): Ref {
    return this.node('fill', 'Fill', [this.shapeOf(like), value], { T: this.type('float32'), index_type: this.type('int32') });
  }

  /** The first dimension of `x` as an int32 [1]: the batch size, known only when the graph runs. */
  leadingDim(x: Ref): Ref {
    const int = (v: number) => this.constant([v], [1], 'int32');
    return this.node('leading_dim', 'StridedSlice', [this.shapeOf(x), int(0), int(1), int(1)], {
      T: this.type('int32'),
      Index: this.type('int32'),
      ...Object.fromEntries(
        ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((k) => [k, this.attr((a) => a.setI(0))]),
      ),
    });
  }

  /** A resource variable, living in the session between runs. */
  variable(name: string, shape: number[]): Ref {
    return this.node(name, 'VarHandleOp', [], {
      dtype: this.type('float32'),
      shape: this.shape(shape),
      container: this.string(''),
      shared_name: this.string(name),
    });
  }

  read(variable: Ref): Ref {
    return this.node('read', 'ReadVariableOp', [variable], { dtype: this.type('float32') });
  }

  assign(variable: Ref, value: Ref): Ref {
    return this.node('assign', 'AssignVariableOp', [variable, value], { dtype: this.type('float32') });
  }

  /**
   * TensorFlow's Adam update of `variable` and its moments, in place. `scalars`: beta1^t, beta2^t, learning rate,
   * beta1, beta2, epsilon.
   */
  applyAdam(variable: Ref, m: Ref, v: Ref, scalars: Ref[], gradient: Ref): Ref {
    return this.node('adam', 'ResourceApplyAdam', [variable, m, v, ...scalars, gradient], { T: this.type('float32') });
  }

  /** `x`, once every op in `after` has run: how a fetch makes ops without outputs (updates) happen. */
  after(x: Ref, after: Ref[]): Ref {
    return this.node('after', 'Identity', [x, ...after.map((op) => `^${op}`)], { T: this.type('float32') });
  }

  /**
   * d(sum of ys)/d(each x), from TensorFlow's own gradient registry; the gradient ops join this graph. `dys` weight
   * the elements of each y (see addGradients).
   */
  gradients(ys: Ref[], xs: Ref[], dys?: Ref[]): Ref[] {
    let prefix = 'gradients';
    for (let i = 1; this.names.has(prefix); i++) prefix = `gradients_${i}`;
    const { graphDef, gradients } = addGradients(this.graph.serializeBinary(), ys, xs, prefix, dys);
    this.graph = reluGradientsFromOutputs(this.pb.GraphDef.deserializeBinary(graphDef));
    for (const node of this.graph.getNodeList()) this.names.add(node.getName());
    this.names.add(prefix);
    return gradients;
  }

  load(loader: SessionLoader = loadGraphSession): GraphSession {
    return loader(this.graph.serializeBinary());
  }

  private node(base: string, op: string, inputs: Ref[], attrs: Record<string, Proto>): Ref {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    const node = new this.pb.NodeDef();
    node.setName(name);
    node.setOp(op);
    node.setInputList(inputs);
    for (const [key, value] of Object.entries(attrs)) node.getAttrMap().set(key, value);
    this.graph.addNode(node);
    return name;
  }

  private reduce(op: 'Sum' | 'Mean' | 'Max', x: Ref, axes: number[], keepDims: boolean, dtype: DType = 'float32'): Ref {
    return this.node(op.toLowerCase(), op, [x, this.constant(axes, [axes.length], 'int32')], {
      T: this.type(dtype),
      Tidx: this.type('int32'),
      keep_dims: this.bool(keepDims),
    });
  }

  /** The shape of `x` when the graph runs, as an int32 vector. */
  private shapeOf(x: Ref): Ref {
    return this.node('shape', 'Shape', [x], { T: this.type('float32'), out_type: this.type('int32') });
  }

  private convAttrs(strides: number[], padding: Padding): Record<string, Proto> {
    return {
      T: this.type('float32'),
      strides: this.ints([1, ...strides, 1]),
      padding: this.string(padding),
      data_format: this.string('NHWC'),
      dilations: this.ints([1, 1, 1, 1]),
    };
  }

  private attr(set: (a: Proto) => void): Proto {
    const a = new this.pb.AttrValue();
    set(a);
    return a;
  }

  private type(dtype: DType): Proto {
    const { DT_FLOAT, DT_DOUBLE, DT_INT32 } = this.pb.DataType;
    return this.attr((a) => a.setType({ float32: DT_FLOAT, float64: DT_DOUBLE, int32: DT_INT32 }[dtype]));
  }

  private bool(value: boolean): Proto {
    return this.attr((a) => a.setB(value));
  }

  private string(value: string): Proto {
    return this.attr((a) => a.setS(new TextEncoder().encode(value)));
  }

  private ints(values: number[]): Proto {
    const list = new this.pb.AttrValue.ListValue();
    for (const v of values) list.addI(v);
    return this.attr((a) => a.setList(list));
  }

  /** -1 for a dimension known only when the graph runs (the batch). */
  private shapeProto(dims: number[]): Proto {
    const shape = new this.pb.TensorShape();
    for (const size of dims) {
      const dim = new this.pb.TensorShape.Dim();
      dim.setSize(size);
      shape.addDim(dim);
    }
    return shape;
  }

  private shape(dims: number[]): Proto {
    return this.attr((a) => a.setShape(this.shapeProto(dims)));
  }
}
