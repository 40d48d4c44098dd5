// The run folder's layout lives in src/record/run-record.ts alone; these tests pin what other code relies on.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readRunLocation, writeRunLocation } from '../src/record/run-location.ts';
import { RUN_ARTIFACTS, RunRecord, type RunSummary } from '../src/record/run-record.ts';
import { scratchFolders } from './support/scratch.ts';

const runsDir = scratchFolders('vae-run-record-');

describe('the run record', () => {
  it('reads back what it wrote, typed, and a NaN loss survives the metrics log', () => {
    const record = RunRecord.create(runsDir(), 'vae-mnist');
    assert.match(record.runId, /^\d{8}-\d{6}-[0-9a-f]{6}$/);
    record.writeRun({ run_id: record.runId, experiment: 'vae-mnist', run_name: 'x', status: 'RUNNING', start_time: 1, end_time: null });
    record.writeParams({ 'model.latent_dim': '20' });
    record.writeTags({ 'mlflow.runName': 'x' });
    record.startMetrics();
    record.appendMetrics([
      { key: 'train/loss', value: 1.5, step: 1, timestamp: 2 },
      { key: 'train/loss', value: NaN, step: 2, timestamp: 3 },
    ]);
    assert.equal(record.exists(), true);
    assert.equal(record.readRun().status, 'RUNNING');
    assert.deepEqual(record.readParams(), { 'model.latent_dim': '20' });
    assert.deepEqual(
      record.readMetrics().map((p) => p.value),
      [1.5, NaN],
    );
    assert.deepEqual([...record.lastLoggedSteps()], [['train/loss', 2]]);
    assert.equal(record.readMlflow(), null);
    assert.equal(record.readSummary(), null);
    assert.deepEqual(record.readDatasets(), []);
  });

  it('lists as artifacts everything but the record itself, checkpoints and half-written files', () => {
    const record = RunRecord.create(runsDir(), 'vae-mnist');
    record.writeRun({ run_id: record.runId, experiment: 'e', run_name: 'x', status: 'FINISHED', start_time: 1, end_time: 2 });
    record.writeMlflow({ tracking_uri: 'http://127.0.0.1:5000', experiment_id: '1', run_id: 'a'.repeat(32) });
    const summary = record.writeSummary({ metrics: { 'test/neg_elbo': 105 } } as unknown as RunSummary);
    const { current, writing, previous } = record.checkpointDirs(123);
    for (const dir of [current, writing, previous, record.modelDir('encoder'), record.path('images')]) mkdirSync(dir, { recursive: true });
    for (const dir of [current, writing, previous]) writeFileSync(join(dir, 'state.json'), '{}');
    writeFileSync(join(record.modelDir('encoder'), 'model.json'), '{}');
    writeFileSync(record.path('images/samples.png'), 'png');
    writeFileSync(record.path('images/samples.png.99.tmp'), 'half');
    assert.deepEqual(record.artifacts(), [RUN_ARTIFACTS.summary, 'images/samples.png', `${RUN_ARTIFACTS.model}/encoder/model.json`].sort());
    assert.equal(summary, record.path(RUN_ARTIFACTS.summary));
  });

  it('finds a local run by its MLflow run id or logged model id', () => {
    const root = runsDir();
    const record = RunRecord.create(root, 'vae-mnist');
    RunRecord.create(root, 'other');
    record.writeMlflow({ tracking_uri: 'http://x', experiment_id: '1', run_id: 'b'.repeat(32), model_id: `m-${'c'.repeat(32)}` });
    assert.equal(RunRecord.findByMlflowId(root, 'run_id', 'b'.repeat(32))?.dir, record.dir);
    assert.equal(RunRecord.findByMlflowId(root, 'model_id', `m-${'c'.repeat(32)}`)?.dir, record.dir);
    assert.equal(RunRecord.findByMlflowId(root, 'run_id', 'd'.repeat(32)), undefined);
  });

  it('tells a parent process where it recorded, as JSON', () => {
    const root = runsDir();
    const record = RunRecord.create(root, 'vae-mnist');
    const file = join(root, 'where.json');
    assert.equal(readRunLocation(file), undefined);
    writeRunLocation(file, record);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { run_id: record.runId, run_dir: record.dir });
    assert.deepEqual(
      readdirSync(root).filter((name) => name.endsWith('.tmp')),
      [],
    );
  });
});
