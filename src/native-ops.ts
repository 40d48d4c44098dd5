import * as tf from '@tensorflow/tfjs';

type OpAttr = { name: string; type: number; value: number | boolean | string | number[] };

/**
 * The slice of tfjs-node's backend that runs a TensorFlow op by name. These are the backend's own methods (its
 * kernels call them), not a published API, which is one reason @tensorflow/tfjs-node's version is pinned.
 */
interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_ATTR_INT: number; TF_ATTR_STRING: number; TF_ATTR_SHAPE: number; TF_FLOAT: number; TF_INT32: number };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.TensorInfo[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.TensorInfo[], numOutputs: number): tf.Tensor[];
}

/**
 * TensorFlow ops on float32 tensors, called straight through tfjs-node. A tfjs op costs about 50 µs of JavaScript
 * before TensorFlow sees it (kernel lookup, gradient tape, scopes); this path costs about 18 µs, which decides the
 * speed of a model whose arithmetic takes a few milliseconds. The outputs are ordinary tfjs tensors, tracked by
 * tf.tidy, but no gradient is recorded for them.
 */
export class NativeOps {
  private readonly float: OpAttr[];

  private constructor(private readonly backend: NativeBackend) {
    this.float = [this.type('T', backend.binding.TF_FLOAT)];
  }

  /** The ops of the active backend, when it is tfjs-node's. */
  static ofActiveBackend(): NativeOps | undefined {
    return tf.getBackend() === 'tensorflow' ? new NativeOps(tf.backend() as unknown as NativeBackend) : undefined;
  }

  /** An op whose only attribute is the float32 element type: Add, Mul, Exp, ReluGrad, BiasAddGrad, ... */
  op(name: string, ...inputs: tf.Tensor[]): tf.Tensor {
    return this.backend.executeSingleOutput(name, this.float, inputs);
  }

  matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
    const attrs = [...this.float, this.bool('transpose_a', transposeA), this.bool('transpose_b', transposeB)];
    return this.backend.executeSingleOutput('MatMul', attrs, [a, b]);
  }

  /** Sum over `axes`, an int32 tensor. */
  sum(x: tf.Tensor, axes: tf.Tensor, keepDims: boolean): tf.Tensor {
    return this.backend.executeSingleOutput('Sum', [...this.float, this.int32('Tidx'), this.bool('keep_dims', keepDims)], [x, axes]);
  }

  /** Joins `xs` along `axis`, an int32 scalar. */
  concat(xs: tf.Tensor[], axis: tf.Tensor): tf.Tensor {
    const attrs = [...this.float, { name: 'N', type: this.backend.binding.TF_ATTR_INT, value: xs.length }, this.int32('Tidx')];
    return this.backend.executeSingleOutput('ConcatV2', attrs, [...xs, axis]);
  }

  /** `x` with the shape held by `shape`, an int32 tensor. */
  reshape(x: tf.Tensor, shape: tf.Tensor): tf.Tensor {
    return this.backend.executeSingleOutput('Reshape', [...this.float, this.int32('Tshape')], [x, shape]);
  }

  /**
   * A new float32 TensorFlow resource variable (a handle tensor). Unlike a tfjs variable it can be updated in place
   * by ops such as ResourceApplyAdam. `name` must be unique in the process; destroy it with destroyVariable.
   */
  createVariable(name: string, initial: tf.Tensor): tf.Tensor {
    const { binding } = this.backend;
    const handle = this.backend.executeSingleOutput('VarHandleOp', [
      { name: 'container', type: binding.TF_ATTR_STRING, value: '' },
      { name: 'shared_name', type: binding.TF_ATTR_STRING, value: name },
      this.type('dtype', binding.TF_FLOAT),
      { name: 'shape', type: binding.TF_ATTR_SHAPE, value: initial.shape },
    ], []);
    this.assignVariable(handle, initial);
    return handle;
  }

  assignVariable(handle: tf.Tensor, value: tf.Tensor): void {
    this.backend.executeMultipleOutputs('AssignVariableOp', [this.type('dtype', this.backend.binding.TF_FLOAT)], [handle, value], 0);
  }

  /** The variable's value, sharing its buffer until the next in-place update (which then copies). */
  readVariable(handle: tf.Tensor): tf.Tensor {
    return this.backend.executeSingleOutput('ReadVariableOp', [this.type('dtype', this.backend.binding.TF_FLOAT)], [handle]);
  }

  destroyVariable(handle: tf.Tensor): void {
    this.backend.executeMultipleOutputs('DestroyResourceOp', [], [handle], 0);
    handle.dispose();
  }

  /**
   * TensorFlow's Adam update, in place on the variable and its two moments in one pass:
   * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; var -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon).
   * The scalars are float32 scalar tensors; `beta1Power` and `beta2Power` are b1^t and b2^t.
   */
  applyAdam(variable: tf.Tensor, m: tf.Tensor, v: tf.Tensor, scalars: { beta1Power: tf.Tensor; beta2Power: tf.Tensor; learningRate: tf.Tensor; beta1: tf.Tensor; beta2: tf.Tensor; epsilon: tf.Tensor }, gradient: tf.Tensor): void {
    const { beta1Power, beta2Power, learningRate, beta1, beta2, epsilon } = scalars;
    this.backend.executeMultipleOutputs('ResourceApplyAdam', this.float, [variable, m, v, beta1Power, beta2Power, learningRate, beta1, beta2, epsilon, gradient], 0);
  }

  private type(name: string, value: number): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_TYPE, value };
  }

  private int32(name: string): OpAttr {
    return this.type(name, this.backend.binding.TF_INT32);
  }

  private bool(name: string, value: boolean): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_BOOL, value };
  }
}
