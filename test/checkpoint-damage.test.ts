// Damaged checkpoints: the checksums in a checkpoint's state, the one line a resume gives when a file is damaged, and
// the way back through the checkpoint saved before it. Real runs on small slices of real MNIST.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { RunRecord } from '../src/record/run-record.ts';
import { checkpointDamage, describeFiles, firstDamagedFile } from '../src/train/checkpoint-files.ts';
import { findCheckpoint } from '../src/train/checkpoint.ts';
import { vae } from './support/cli.ts';
import { scratchFolders } from './support/scratch.ts';
import { onlyRunDir } from './support/run-record.ts';
import { signalWhen } from './support/signals.ts';

const SPEC = 'experiments/vae-mnist.yaml';
// 60 steps an epoch: long enough that a kill sent once epoch 2's checkpoint is down lands inside epoch 3 or 4.
const RUN = ['data.limit=3000', 'train.batch_size=50', 'train.epochs=4', 'eval.iwae_samples=0'];

const tempDir = scratchFolders('vae-damage-');

/** A run under runsDir killed outright (SIGKILL) once its checkpoint of `epoch` is saved. */
async function killedAfterCheckpoint(runsDir: string, epoch: number): Promise<string> {
  const watcher = signalWhen(runsDir, (runDir) => (findCheckpoint(runDir)?.state.epoch ?? 0) >= epoch, 'SIGKILL');
  const killed = await vae(['run', SPEC, ...RUN, '--runs-dir', runsDir, '--no-mlflow'], { onStderr: watcher.onStderr });
  watcher.stop();
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  return onlyRunDir(runsDir);
}

describe('damaged checkpoints', () => {
  it('names the first file that is missing, cut short or changed since it was saved', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'encoder'));
    writeFileSync(join(dir, 'encoder', 'weights.bin'), 'abcdef');
    writeFileSync(join(dir, 'optimizer.bin'), '123456');
    const saved = describeFiles(dir);
    assert.deepEqual(Object.keys(saved), ['encoder/weights.bin', 'optimizer.bin']);
    assert.equal(firstDamagedFile(dir, saved), undefined);
    writeFileSync(join(dir, 'optimizer.bin'), '123457');
    assert.deepEqual(firstDamagedFile(dir, saved), {
      file: join(dir, 'optimizer.bin'),
      problem: 'its SHA-256 differs from the one saved with it',
    });
    truncateSync(join(dir, 'encoder', 'weights.bin'), 2);
    assert.deepEqual(firstDamagedFile(dir, saved), { file: join(dir, 'encoder', 'weights.bin'), problem: '2 bytes where 6 were saved' });
    rmSync(join(dir, 'encoder', 'weights.bin'));
    assert.deepEqual(firstDamagedFile(dir, saved), { file: join(dir, 'encoder', 'weights.bin'), problem: 'missing' });
    writeFileSync(join(dir, 'state.json'), '{"epoch": 2, "la');
    assert.match(checkpointDamage(dir) ?? '', new RegExp(`^${join(dir, 'state.json')}: damaged \\(.*JSON.*\\)$`));
  });

  it(
    'a .bin file cut short: resume says so in one line (exit 2), and --previous-checkpoint finishes the run; older checkpoints still load',
    { timeout: 240_000 },
    async () => {
      const runDir = await killedAfterCheckpoint(tempDir(), 2);
      const latest = findCheckpoint(runDir)!;
      const previous = findCheckpoint(runDir, 'previous')!;
      assert.ok(
        latest.state.epoch >= 2 && latest.state.epoch < 4,
        `killed inside epoch 3 or 4 (checkpoint of epoch ${latest.state.epoch})`,
      );
      assert.equal(previous.state.epoch, latest.state.epoch - 1, 'the checkpoint saved before it is kept');

      // A copy as an older version wrote it: no checksums in its state. It still resumes.
      const olderRunsDir = tempDir();
      const olderRunDir = join(olderRunsDir, 'vae-mnist', basename(runDir));
      cpSync(runDir, olderRunDir, { recursive: true });
      const olderState = join(new RunRecord(olderRunDir).checkpointDirs().current, 'state.json');
      const { files, ...state } = JSON.parse(readFileSync(olderState, 'utf8'));
      assert.ok(Object.keys(files).includes('encoder/weights.bin'), 'a checksum for every file');
      writeFileSync(olderState, JSON.stringify(state));

      const refused = await vae(['run', '--resume', runDir, '--no-mlflow', '--previous-checkpoint']);
      assert.equal(refused.code, 2, refused.stderr);
      assert.equal(
        refused.stderr,
        `${latest.dir} is intact: resume from it, without --previous-checkpoint\n`,
        'nothing is dropped by mistake',
      );

      const weights = join(latest.dir, 'encoder', 'weights.bin');
      const bytes = readFileSync(weights).byteLength;
      truncateSync(weights, 100);
      const [damaged, older] = await Promise.all([
        vae(['run', '--resume', runDir, '--no-mlflow']),
        vae(['run', '--resume', olderRunDir, '--no-mlflow']),
      ]);
      assert.equal(damaged.code, 2, damaged.stderr);
      assert.equal(
        damaged.stderr,
        `${weights}: damaged (100 bytes where ${bytes} were saved); resume from the checkpoint before it (after epoch ${previous.state.epoch}) with: npx vae run --resume ${runDir} --previous-checkpoint\n`,
      );
      assert.equal(older.code, 0, older.stderr);
      assert.equal(new RunRecord(olderRunDir).readSummary()!.epochs_completed, 4);

      const resumed = await vae(['run', '--resume', runDir, '--no-mlflow', '--previous-checkpoint']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /the damaged latest checkpoint is deleted; the previous one takes its place/);
      assert.match(resumed.stderr, new RegExp(`resuming after epoch ${previous.state.epoch} of 4`));
      const record = new RunRecord(runDir);
      assert.equal(record.readRun().status, 'FINISHED');
      assert.equal(record.readSummary()!.epochs_completed, 4);
      const steps = record.readMetrics().map((p) => `${p.key}@${p.step}`);
      assert.deepEqual(
        steps.filter((s, i) => steps.indexOf(s) !== i),
        [],
        'the epoch trained again logs no metric step twice',
      );
      assert.equal(checkpointDamage(findCheckpoint(runDir)!.dir), undefined);
    },
  );
});
