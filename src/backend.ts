import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BACKENDS, type BackendName } from './backend-names.ts';
import { RuntimeFailure } from './errors.ts';
import type { Experiment } from './experiment-spec/spec.generated.ts';
import { registerConv2dBackpropFilter } from './kernels/conv2d-backprop-filter.ts';
import { nativeTensorflowVersion, registerReluStepKernel } from './tfjs-bridge/tfjs-node-kernels.ts';

export interface BackendChoice {
  name: BackendName;
  /** One line for the user: what ran and, when it is not the fastest, why. */
  reason: string;
  /** The TensorFlow C library under tfjs-node, when that is the backend. */
  tensorflowVersion?: string;
  /** TensorFlow's CPU kernels in this process, when tfjs-node is the backend (see kernelsFor). */
  kernels?: KernelLibrary;
}

type KernelLibrary = 'oneDNN' | 'Eigen';
type Architecture = Experiment['model']['architecture'];

const require = createRequire(import.meta.url);
// A variable, so the type checker does not require the optional native package to be installed.
const TFJS_NODE = '@tensorflow/tfjs-node';

/**
 * Picks the fastest backend that works here: native TensorFlow (tfjs-node), else WebAssembly, else plain JS.
 * `architecture`, when the process trains one kind of model, picks TensorFlow's CPU kernels for it (kernelsFor).
 */
export async function selectBackend(requested: BackendName | 'auto', architecture?: Architecture): Promise<BackendChoice> {
  const notes: string[] = [];
  const candidates = requested === 'auto' ? BACKENDS : [requested];
  for (const name of candidates) {
    const failure = await activate(name, architecture);
    if (!failure) {
      const native = name === 'tensorflow' ? { tensorflowVersion: nativeTensorflowVersion(), kernels: loadedKernels } : undefined;
      const what = native
        ? `backend tensorflow (TensorFlow ${native.tensorflowVersion} through tfjs-node, ${native.kernels} kernels)`
        : `backend ${name}`;
      return { name, reason: notes.length > 0 ? `${what} (${notes.join('; ')})` : what, ...native };
    }
    notes.push(`${name} unavailable: ${failure}`);
  }
  throw new RuntimeFailure(`no usable TensorFlow.js backend: ${notes.join('; ')}`);
}

/**
 * TensorFlow's CPU kernels for a model: oneDNN's (TensorFlow's default on x86) for convolutions, Eigen's for MLPs.
 * TensorFlow runs a oneDNN matrix product on one thread when its operands fit in the L2 cache, which every product
 * of the reference MLP does (784 x 400 at batch 128: 1.86 MB against 2 MB), while Eigen's use every core; so the
 * MLP's step is faster on Eigen and the conv VAE's on oneDNN (docs/results.md, "Speed").
 */
export function kernelsFor(architecture: Architecture | undefined): KernelLibrary {
  return architecture === 'mlp' ? 'Eigen' : 'oneDNN';
}

let loadedKernels: KernelLibrary | undefined;

async function activate(name: BackendName, architecture: Architecture | undefined): Promise<string | undefined> {
  try {
    if (name === 'tensorflow' && !loadedKernels) {
      // TensorFlow's C++ start-up chatter (CPU feature notices) is noise on a user's terminal.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      // TensorFlow reads this once, as tfjs-node loads it; a value the user set wins.
      process.env.TF_ENABLE_ONEDNN_OPTS ??= kernelsFor(architecture) === 'Eigen' ? '0' : '1';
      await import(TFJS_NODE);
      // TensorFlow reads a boolean: 0 or false, in any case, turns oneDNN off.
      loadedKernels = /^(0|false)$/i.test(process.env.TF_ENABLE_ONEDNN_OPTS) ? 'Eigen' : 'oneDNN';
    }
    if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    }
    if (!(await tf.setBackend(name))) return 'failed to initialise';
    await tf.ready();
    // wasm lacks this kernel (conv models could not train) and cpu's is very slow.
    if (name !== 'tensorflow') registerConv2dBackpropFilter(name);
    else registerReluStepKernel();
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}
