// Every reach into tfjs and tfjs-node internals and TensorFlow's C API (all in src/tfjs-bridge/) is still there:
// a tfjs-node upgrade that removes one fails here, by name, rather than as a slow fall-back to autodiff in every run.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/backend.ts';
import { Vae } from '../src/model/vae.ts';
import { RunRecord } from '../src/record/run-record.ts';
import { GraphBuilder } from '../src/tfjs-bridge/graph-builder.ts';
import { tensorflowLibraryPath } from '../src/tfjs-bridge/tensorflow-c.ts';
import { tensorflowGradientsProblem } from '../src/tfjs-bridge/tensorflow-gradients.ts';
import { adamBetaPowers } from '../src/tfjs-bridge/tfjs-adam.ts';
import { missingKernelInternals } from '../src/tfjs-bridge/tfjs-node-kernels.ts';
import { graphProtos, missingInternals, type Proto } from '../src/tfjs-bridge/tfjs-node-session.ts';
import { AutodiffStep } from '../src/train/autodiff-step.ts';
import { createTrainingStep } from '../src/train/trainer.ts';
import { vae } from './support/cli.ts';
import { onlyRunDir, TINY_RUN } from './support/run-record.ts';

before(async () => {
  assert.equal((await selectBackend('tensorflow')).name, 'tensorflow', 'tfjs-node must load (npm ci builds it)');
});

describe('the tfjs-node and TensorFlow pieces the graph steps use', () => {
  it('tfjs-node still has its compiled protos and its SavedModel session calls', () => {
    assert.deepEqual(
      missingInternals(),
      [],
      `tfjs-node ${tf.version['tfjs-node' as keyof typeof tf.version] ?? ''} lacks what src/tfjs-bridge/tfjs-node-session.ts uses`,
    );
  });

  it("tfjs-node's backend still runs an op by name, which the ReLU step kernel uses, and ReLU's gradient is unchanged", () => {
    assert.deepEqual(missingKernelInternals(), [], 'tfjs-node lacks what src/tfjs-bridge/tfjs-node-kernels.ts uses');
    const x = tf.tensor1d([-1, 0, 2, Number.NaN]);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.relu(t)))(x);
    assert.deepEqual(Array.from(grad.dataSync()), [0, 0, 1, Number.NaN]);
    tf.dispose([x, grad]);
  });

  it('tf.train.adam still keeps its running powers of beta1 and beta2, which checkpoints save', () => {
    const optimizer = tf.train.adam(1e-3);
    const [beta1Power, beta2Power] = adamBetaPowers(optimizer);
    assert.ok(Math.abs(beta1Power.dataSync()[0] - 0.9) < 1e-7 && Math.abs(beta2Power.dataSync()[0] - 0.999) < 1e-7);
    optimizer.dispose();
  });

  it("TensorFlow's C API answers through koffi, with the gradient of a small graph", () => {
    assert.equal(tensorflowGradientsProblem(), undefined, `cannot reach TF_AddGradientsWithPrefix in ${tensorflowLibraryPath()}`);
    // d/dx sum(softplus(x) * x) = sigmoid(x) * x + softplus(x), computed by TensorFlow's registry and run in a session.
    const g = new GraphBuilder();
    const x = g.placeholder('x', [-1]);
    const y = g.sum(g.op('Mul', g.op('Softplus', x), x), [0]);
    const [dx] = g.gradients([y], [x]);
    const session = g.load();
    const values = tf.tensor1d([-2, -0.5, 0, 1, 3]);
    const [got] = session.run([[x, values]], [dx]);
    const want = tf.tidy(() => tf.sigmoid(values).mul(values).add(tf.softplus(values)));
    assert.ok(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0] < 1e-6, `${got.dataSync()} vs ${want.dataSync()}`);
    session.dispose();
    tf.dispose([values, got, want]);
  });

  it("ReLU's gradient reads the ReLU's output, which leaves Grappler free to fuse the ReLU into the product before it", () => {
    const g = new GraphBuilder();
    const [x, w, b] = [g.placeholder('x', [-1, 3]), g.placeholder('w', [3, 2]), g.placeholder('b', [2])];
    const relu = g.op('Relu', g.biasAdd(g.matMul(x, w), b));
    g.gradients([g.sum(relu, [0, 1])], [w, b]);
    let graphDef: Uint8Array = new Uint8Array();
    g.load((bytes) => {
      graphDef = bytes;
      return { run: () => [], dispose: () => {} };
    });
    const nodes: Proto[] = graphProtos().GraphDef.deserializeBinary(graphDef).getNodeList();
    const reluGrads = nodes.filter((n) => n.getOp() === 'ReluGrad');
    assert.deepEqual(
      reluGrads.map((n) => n.getInputList()[1]),
      [relu],
    );
  });

  it('a model the graph cannot express trains through autodiff, and the step says why', () => {
    const input = tf.input({ shape: [16] });
    const h = tf.layers.dropout({ rate: 0.1, name: 'drop' }).apply(tf.layers.dense({ units: 8 }).apply(input)) as tf.SymbolicTensor;
    const encoder = tf.model({
      inputs: input,
      outputs: [tf.layers.dense({ units: 2 }).apply(h), tf.layers.dense({ units: 2 }).apply(h)] as tf.SymbolicTensor[],
    });
    const z = tf.input({ shape: [2] });
    const decoder = tf.model({ inputs: z, outputs: tf.layers.dense({ units: 16 }).apply(z) as tf.SymbolicTensor });
    const step = createTrainingStep(new Vae(encoder, decoder, { kind: 'bernoulli' }, 2), 1e-3, 'auto');
    assert.ok(step instanceof AutodiffStep);
    assert.match(step.description, /autodiff .*native graph step is unavailable: layer drop \(Dropout\) has no graph translation/);
    step.dispose();
  });

  it('without koffi a run still trains, through autodiff, and its log and tags say why', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'vae-no-koffi-'));
    try {
      const result = await vae(
        ['run', 'experiments/vae-mnist.yaml', ...TINY_RUN, 'eval.iwae_samples=0', '--no-mlflow', '--runs-dir', runsDir],
        {
          env: { NODE_OPTIONS: `--require ${join(import.meta.dirname, 'support', 'without-koffi.cjs')}` },
        },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout + result.stderr,
        /training step: tfjs autodiff \+ tf\.train\.adam \(the native graph step is unavailable: TensorFlow's C API could not be reached through koffi: .*koffi is not available/,
      );
      assert.match(new RunRecord(onlyRunDir(runsDir)).readTags()['vae.training_step'], /autodiff/);
    } finally {
      rmSync(runsDir, { recursive: true, force: true });
    }
  });
});
