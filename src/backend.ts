import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { registerConv2dBackpropFilter } from './kernels/conv2d-backprop-filter.ts';

export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendChoice {
  name: BackendName;
  /** One line for the user: what ran and, when it is not the fastest, why. */
  reason: string;
  /** The TensorFlow C library under tfjs-node, when that is the backend. */
  tensorflowVersion?: string;
}

const require = createRequire(import.meta.url);
// A variable, so the type checker does not require the optional native package to be installed.
const TFJS_NODE = '@tensorflow/tfjs-node';

/** Picks the fastest backend that works here: native TensorFlow (tfjs-node), else WebAssembly, else plain JS. */
export async function selectBackend(requested: BackendName | 'auto'): Promise<BackendChoice> {
  const notes: string[] = [];
  const candidates = requested === 'auto' ? BACKENDS : [requested];
  for (const name of candidates) {
    const failure = await activate(name);
    if (!failure) {
      const tensorflowVersion = name === 'tensorflow' ? nativeTensorflowVersion() : undefined;
      const what = tensorflowVersion ? `backend tensorflow (TensorFlow ${tensorflowVersion} through tfjs-node)` : `backend ${name}`;
      return { name, reason: notes.length > 0 ? `${what} (${notes.join('; ')})` : what, tensorflowVersion };
    }
    notes.push(`${name} unavailable: ${failure}`);
  }
  throw new Error(`no usable TensorFlow.js backend: ${notes.join('; ')}`);
}

async function activate(name: BackendName): Promise<string | undefined> {
  try {
    if (name === 'tensorflow') {
      // TensorFlow's C++ start-up chatter (CPU feature notices) is noise on a user's terminal.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      await import(TFJS_NODE);
    }
    if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    }
    if (!(await tf.setBackend(name))) return 'failed to initialise';
    await tf.ready();
    // wasm lacks this kernel (conv models could not train) and cpu's is very slow.
    if (name !== 'tensorflow') registerConv2dBackpropFilter(name);
    else registerNativeStep();
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/** The version of the TensorFlow C library tfjs-node loaded (2.21.0 when built from the PyPI wheel by npm ci). */
function nativeTensorflowVersion(): string {
  return String((tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding?.TF_Version ?? 'unknown');
}

let nativeStepRegistered = false;

/** The slice of tfjs-node's backend a kernel needs to run a TensorFlow op by name (its own kernels call it). */
interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: number }[], inputs: tf.TensorInfo[]): tf.Tensor;
}

/**
 * tfjs-node builds step(x) out of seven TensorFlow ops, two of them full-size fills, and every ReLU gradient of the
 * autodiff step calls it (on tfjs-node that step trains only when the graph step cannot). For alpha = 0, ReLU's case,
 * sign(relu(x)) is the same function, NaN included, in two native ops; any other alpha or dtype keeps tfjs-node's
 * kernel.
 */
function registerNativeStep(): void {
  const original = tf.getKernel('Step', 'tensorflow');
  if (!original || nativeStepRegistered) return;
  nativeStepRegistered = true;
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
