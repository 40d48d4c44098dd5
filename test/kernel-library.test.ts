// TensorFlow's CPU kernels follow the model (src/backend.ts, kernelsFor): Eigen's for MLPs, whose products oneDNN
// would run on one thread, oneDNN's for convolutions. Each case is a fresh process, as TensorFlow reads the choice
// once; the op types TensorFlow traced say which library really ran the graph step.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { kernelsFor } from '../src/backend.ts';
import { ROOT } from './support/cli.ts';

// Two traced graph steps of the spec's model, in a process of their own; prints the kernels as JSON.
const PROFILE = join(import.meta.dirname, '..', 'bench', 'profile-step.ts');

async function tracedKernels(spec: string, env: NodeJS.ProcessEnv = {}): Promise<{ kernels: string; reason: string; ops: string[] }> {
  const base = { ...process.env };
  delete base.TF_ENABLE_ONEDNN_OPTS;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', PROFILE, '--spec', spec, '--warmup', '0', '--steps', '2', '--json'],
    {
      cwd: ROOT,
      env: { ...base, ...env },
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

const onednnOps = (ops: string[]) => ops.filter((op) => op.startsWith('_Mkl'));

describe("TensorFlow's CPU kernels follow the model", () => {
  it('picks Eigen for an MLP and oneDNN for a conv model or an unknown one', () => {
    assert.equal(kernelsFor('mlp'), 'Eigen');
    assert.equal(kernelsFor('conv'), 'oneDNN');
    assert.equal(kernelsFor(undefined), 'oneDNN');
  });

  it("an MLP's graph step runs on Eigen's kernels, and the backend line says so", async () => {
    const { kernels, reason, ops } = await tracedKernels('experiments/vae-mnist.yaml');
    assert.equal(kernels, 'Eigen');
    assert.match(reason, /Eigen kernels/);
    assert.ok(ops.includes('MatMul'), `no Eigen MatMul among ${ops.join(', ')}`);
    assert.deepEqual(onednnOps(ops), []);
    // Each hidden layer's ReLU runs inside its fused product (reluGradientsFromOutputs makes that possible).
    assert.ok(ops.includes('_FusedMatMul') && !ops.includes('Relu'), `a ReLU kernel of its own among ${ops.join(', ')}`);
  });

  it("a conv model's graph step runs on oneDNN's kernels", async () => {
    const { kernels, ops } = await tracedKernels('experiments/vae-mnist-conv.yaml');
    assert.equal(kernels, 'oneDNN');
    assert.ok(
      onednnOps(ops).some((op) => op.includes('Conv')),
      `no oneDNN convolution among ${ops.join(', ')}`,
    );
  });

  it('a TF_ENABLE_ONEDNN_OPTS the user set wins, read as TensorFlow reads it', async () => {
    const { kernels: eigen, ops: eigenOps } = await tracedKernels('experiments/vae-mnist-conv.yaml', { TF_ENABLE_ONEDNN_OPTS: 'False' });
    assert.equal(eigen, 'Eigen');
    assert.deepEqual(onednnOps(eigenOps), []);

    const { kernels, ops } = await tracedKernels('experiments/vae-mnist.yaml', { TF_ENABLE_ONEDNN_OPTS: '1' });
    assert.equal(kernels, 'oneDNN');
    assert.notDeepEqual(onednnOps(ops), []);
  });
});
