// tfjs-node's backend internals that its own kernels use: the binding's constants and executeSingleOutput, which
// runs one TensorFlow op by name. test/tfjs-bridge.test.ts checks they are still there.
import * as tf from '@tensorflow/tfjs';

/** The slice of tfjs-node's backend a kernel needs to run a TensorFlow op by name. */
interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number; TF_Version: string };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: number }[], inputs: tf.TensorInfo[]): tf.Tensor;
}

/** Which of those internals the loaded tfjs-node lacks (empty when all are there). */
export function missingKernelInternals(): string[] {
  const backend = tf.backend() as unknown as Partial<NativeBackend>;
  const missing = typeof backend.executeSingleOutput === 'function' ? [] : ['tfjs-node backend: executeSingleOutput()'];
  for (const name of ['TF_ATTR_TYPE', 'TF_FLOAT', 'TF_Version'] as const)
    if (backend.binding?.[name] === undefined) missing.push(`tfjs-node binding: ${name}`);
  return missing;
}

/** The version of the TensorFlow C library tfjs-node loaded (2.21.0 when built from the PyPI wheel by npm ci). */
export function nativeTensorflowVersion(): string {
  return String((tf.backend() as unknown as Partial<NativeBackend>).binding?.TF_Version ?? 'unknown');
}

let reluStepRegistered = false;

/**
 * tfjs-node builds step(x) out of seven TensorFlow ops, two of them full-size fills, and every ReLU gradient of the
 * autodiff step calls it (on tfjs-node that step trains only when the graph step cannot). For alpha = 0, ReLU's case,
 * sign(relu(x)) is the same function, NaN included, in two native ops; any other alpha or dtype keeps tfjs-node's
 * kernel.
 */
export function registerReluStepKernel(): void {
  const original = tf.getKernel('Step', 'tensorflow');
  if (!original || reluStepRegistered) return;
  reluStepRegistered = true;
  tf.unregisterKernel('Step', 'tensorflow');
  tf.registerKernel({
    kernelName: 'Step',
    backendName: 'tensorflow',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if ((args.attrs as { alpha?: number }).alpha !== 0 || x.dtype !== 'float32') return original.kernelFunc(args);
      const backend = args.backend as unknown as NativeBackend;
      const attrs = [{ name: 'T', type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT }];
      return tf.tidy(() => backend.executeSingleOutput('Sign', attrs, [backend.executeSingleOutput('Relu', attrs, [x])]));
    },
  });
}
