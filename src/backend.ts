import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BACKENDS, type BackendName } from './backend-names.ts';
import { RuntimeFailure } from './errors.ts';
import { registerConv2dBackpropFilter } from './kernels/conv2d-backprop-filter.ts';
import { nativeTensorflowVersion, registerReluStepKernel } from './tfjs-bridge/tfjs-node-kernels.ts';

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
  throw new RuntimeFailure(`no usable TensorFlow.js backend: ${notes.join('; ')}`);
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
    else registerReluStepKernel();
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}
