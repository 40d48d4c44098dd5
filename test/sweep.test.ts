// End-to-end sweeps: real `vae sweep` processes, real tiny MNIST trials, a real MLflow server.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { completeTrialInMlflow } from '../src/sweep/complete-in-mlflow.ts';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import type { Run } from '../src/tracking/mlflow-records.ts';
import { ROOT, vae } from './support/cli.ts';
import { onlyRunDir } from './support/run-record.ts';
import { startTestMlflow, type TestMlflow } from './support/mlflow-server.ts';
import { scratchFolders } from './support/scratch.ts';

/** Temporary folders, removed when this file's tests end. */
const scratch = scratchFolders('vae-sweep-');

// A trial of a few seconds: 200 images, one epoch, no importance-weighted bound.
const TINY = ['data.limit=200', 'train.epochs=1', 'eval.iwae_samples=0', 'train.batch_size=50'];
const GRID = ['--grid', 'model.latent_dim=2,5', '--seeds', '1,2'];

const tag = (run: Run, key: string) => run.data.tags.find((t) => t.key === key)?.value;

describe('vae sweep', { timeout: 240_000 }, () => {
  let mlflow: TestMlflow;
  let client: MlflowClient;
  let env: NodeJS.ProcessEnv;
  const runsDir = join(scratch(), 'runs');

  before(async () => {
    mlflow = await startTestMlflow();
    client = MlflowClient.fromEnv(mlflow.url);
    env = { MLFLOW_TRACKING_URI: mlflow.url };
  });
  after(async () => mlflow?.dispose());

  async function runsOf(experiment: string, filter: string): Promise<Run[]> {
    const id = (await client.getExperimentByName(experiment))!.experiment_id;
    return (await client.searchRuns({ experimentIds: [id], filter })).runs;
  }

  function sweepDir(experiment: string): string {
    const sweeps = readdirSync(join(runsDir, experiment, 'sweeps'));
    assert.equal(sweeps.length, 1);
    return join(runsDir, experiment, 'sweeps', sweeps[0]);
  }

  it('validates every trial first: one bad combination stops the sweep before anything runs, exit 2', async () => {
    const dir = join(scratch(), 'runs');
    const result = await vae(
      ['sweep', 'experiments/vae-mnist.yaml', '--grid', 'model.latent_dim=2,0', '--seeds', '1,2', ...TINY, '--runs-dir', dir],
      { env },
    );
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [
      "trial 2 (model.latent_dim=0 seed=1; and 1 more trial): override 'model.latent_dim=0': model.latent_dim: must be integer >= 1 and <= 1024 (got 0)",
    ]);
    assert.equal(existsSync(dir), false, 'nothing may be recorded or started');
  });

  it('runs the trials as child runs of one parent run, which gets the table, the plot and the best setting', async () => {
    const result = await vae(['sweep', 'experiments/vae-mnist.yaml', ...GRID, ...TINY, '--parallel', '2', '--runs-dir', runsDir], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /4 finished, 0 failed/);
    assert.equal(result.stdout, '', 'trial output goes to the log files');
    const experiment = (await client.listExperiments()).find((e) => e.name === 'vae-mnist')!;
    assert.deepEqual(experiment.tags.find((t) => t.key === 'mlflow.experimentKind')?.value, 'custom_model_development');

    const parents = await runsOf('vae-mnist', "tags.`vae.sweep_role` = 'parent'");
    assert.equal(parents.length, 1);
    const parent = parents[0];
    assert.equal(parent.info.status, 'FINISHED');
    const parentUrl = `${mlflow.url}/#/experiments/${experiment.experiment_id}/runs/${parent.info.run_id}?workflowType=machine_learning`;
    assert.ok(result.stderr.trimEnd().endsWith(`View parent run vae-mnist-sweep at: ${parentUrl}`), result.stderr);
    assert.equal(tag(parent, 'vae.swept'), 'model.latent_dim,seed');
    const children = await runsOf('vae-mnist', `tags.\`mlflow.parentRunId\` = '${parent.info.run_id}'`);
    assert.equal(children.length, 4);
    const logs = () => {
      const dir = join(sweepDir('vae-mnist'), 'logs');
      return readdirSync(dir)
        .filter((name) => name.endsWith('.log'))
        .map((name) => `== ${name}\n${readFileSync(join(dir, name), 'utf8')}`)
        .join('\n');
    };
    for (const child of children) {
      assert.equal(child.info.status, 'FINISHED', logs());
      assert.equal(tag(child, 'vae.sweep_id'), tag(parent, 'vae.sweep_id'));
      assert.equal(tag(child, 'vae.swept'), 'model.latent_dim,seed');
    }
    const swept = children
      .map((c) => ['model.latent_dim', 'seed'].map((k) => c.data.params.find((p) => p.key === k)?.value).join('/'))
      .sort();
    assert.deepEqual(swept, ['2/1', '2/2', '5/1', '5/2']);

    const artifacts = (await client.listAllArtifacts(parent.info.run_id)).map((f) => f.path).sort();
    assert.deepEqual(artifacts, ['summary/summary.csv', 'summary/summary.md', 'summary/summary.png', 'summary/summary.vl.json']);
    const best = tag(parent, 'vae.best_setting');
    assert.match(best ?? '', /^model\.latent_dim=(2|5)$/);
    assert.ok(children.some((c) => c.info.run_id === tag(parent, 'vae.best_run_id')));

    const record = sweepDir('vae-mnist');
    const csv = readFileSync(join(record, 'summary.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 3);
    assert.match(csv[0], /^model\.latent_dim,finished,failed,test\/neg_elbo mean,test\/neg_elbo std,/);
    assert.equal(csv[1].split(',')[0], best!.split('=')[1], 'best setting first');
    const png = readFileSync(join(record, 'summary.png'));
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
    assert.equal(readdirSync(join(record, 'logs')).filter((name) => name.endsWith('.log')).length, 4);
    console.log(readFileSync(join(record, 'summary.md'), 'utf8'));
  });

  it('resumes: nothing reruns the second time; a trial whose record says FAILED reruns under the same parent', async () => {
    const runDirs = () => readdirSync(join(runsDir, 'vae-mnist')).filter((d) => d !== 'sweeps');
    const before = runDirs().length;
    const again = await vae(['sweep', 'experiments/vae-mnist.yaml', ...GRID, ...TINY, '--runs-dir', runsDir], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /4 trials \(4 finished before\)/);
    assert.equal(runDirs().length, before);

    const record = sweepDir('vae-mnist');
    const lines = readFileSync(join(record, 'trials.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const broken = { ...lines[0], status: 'FAILED', metrics: {} };
    writeFileSync(join(record, 'trials.jsonl'), [...lines, broken].map((l) => JSON.stringify(l)).join('\n') + '\n');
    const rerun = await vae(['sweep', 'experiments/vae-mnist.yaml', ...GRID, ...TINY, '--runs-dir', runsDir], { env });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /4 trials \(3 finished before\)/);
    assert.equal(runDirs().length, before + 1);
    const parents = await runsOf('vae-mnist', "tags.`vae.sweep_role` = 'parent'");
    assert.equal(parents.length, 1, 'the same parent run');
    const retried = await runsOf('vae-mnist', `tags.\`vae.trial_id\` = '${broken.trial_id}'`);
    assert.equal(retried.length, 2);
    assert.ok(retried.every((r) => tag(r, 'mlflow.parentRunId') === parents[0].info.run_id));
  });

  it('plan: the trial list, a Slurm array script and a Kubernetes Indexed Job', async () => {
    const dir = join(scratch(), 'runs');
    const result = await vae(['sweep', 'plan', 'experiments/sweep-latent.yaml', '--runs-dir', dir], {
      env: { MLFLOW_TRACKING_URI: 'http://mlflow.example:5000' },
    });
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout.trim().split('\n');
    assert.equal(rows.length, 16);
    assert.match(rows[1], /^ +0 {2}[0-9a-f]{12} {2}model\.latent_dim=2 seed=1$/);
    const [record] = readdirSync(join(dir, 'vae-mnist', 'sweeps')).map((s) => join(dir, 'vae-mnist', 'sweeps', s));
    const slurm = readFileSync(join(record, 'slurm.sbatch'), 'utf8');
    assert.match(slurm, /^#SBATCH --array=0-14%\d+$/m);
    // node itself, not npx, as the task's first process: it must outlive a scancel until the trial has saved.
    assert.ok(
      slurm.includes(
        `\nexec node ${join(ROOT, 'bin/vae.js')} sweep experiments/sweep-latent.yaml --runs-dir ${dir} --trial-index "$SLURM_ARRAY_TASK_ID"\n`,
      ),
      slurm,
    );
    const k8s = readFileSync(join(record, 'k8s-job.yaml'), 'utf8');
    assert.match(k8s, /completionMode: Indexed/);
    assert.match(k8s, /completions: 15/);
    assert.match(k8s, /value: http:\/\/mlflow\.example:5000/);
    assert.match(k8s, /- experiments\/sweep-latent\.yaml/);
    assert.ok(statSync(join(record, 'logs')).isDirectory(), 'the folder of the Slurm logs exists: Slurm does not create it');
    assert.match(result.stderr, /^warning: the runs folder .* is on a local file system/m);
    assert.doesNotMatch(result.stderr, /MLFLOW_TRACKING_URI/);
  });

  it('plan: warns when the tasks could not share one MLflow server', async () => {
    const dir = join(scratch(), 'runs');
    const unset = await vae(['sweep', 'plan', 'experiments/sweep-latent.yaml', '--runs-dir', dir], { env: { MLFLOW_TRACKING_URI: '' } });
    assert.equal(unset.code, 0, unset.stderr);
    assert.match(unset.stderr, /^warning: MLFLOW_TRACKING_URI is not set: each task would start an MLflow server of its own/m);
    const loopback = await vae(['sweep', 'plan', 'experiments/sweep-latent.yaml', '--runs-dir', dir], {
      env: { MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000' },
    });
    assert.match(loopback.stderr, /^warning: MLFLOW_TRACKING_URI=http:\/\/127\.0\.0\.1:5000 is this machine's loopback address/m);
  });

  it('fan-out: workers started at the same moment share one parent run; each trial runs once; summarize builds the table', async () => {
    const args = ['experiments/vae-mnist.yaml', ...GRID, ...TINY, 'tracking.experiment=vae-fanout', '--runs-dir', runsDir];
    const workers = await Promise.all([0, 1, 2, 3].map((i) => vae(['sweep', ...args, '--trial-index', String(i)], { env })));
    for (const w of workers) assert.equal(w.code, 0, w.stderr);

    const parents = await runsOf('vae-fanout', "tags.`vae.sweep_role` = 'parent'");
    assert.equal(parents.length, 1, 'exactly one parent run');
    const children = await runsOf('vae-fanout', `tags.\`mlflow.parentRunId\` = '${parents[0].info.run_id}'`);
    const trialIds = children.map((c) => tag(c, 'vae.trial_id'));
    assert.equal(children.length, 4);
    assert.equal(new Set(trialIds).size, 4, 'no trial twice');
    assert.equal((await runsOf('vae-fanout', '')).length, 5, 'no stray runs');
    // The lock leaves the user's experiment list, yet its name stays taken: no later worker can win it again.
    const lock = `vae-sweep-lock-${tag(parents[0], 'vae.sweep_id')}`;
    assert.equal((await client.getExperimentByName(lock))?.lifecycle_stage, 'deleted');
    assert.deepEqual(
      (await client.listExperiments()).map((e) => e.name).filter((name) => name.startsWith('vae-sweep-lock-')),
      [],
    );
    assert.equal(await client.createExperimentOnce(lock), null);
    const late = await vae(['sweep', ...args, '--trial-index', '0'], { env });
    assert.equal(late.code, 0, late.stderr);
    assert.match(late.stderr, /already finished in MLflow/);
    assert.ok(
      late.stderr.includes(
        `View parent run vae-mnist-sweep at: ${mlflow.url}/#/experiments/${parents[0].info.experiment_id}/runs/${parents[0].info.run_id}?workflowType=machine_learning`,
      ),
      late.stderr,
    );

    const summary = await vae(['sweep', 'summarize', ...args], { env });
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stderr, /4 of 4 trials finished in MLflow/);
    const csv = readFileSync(join(sweepDir('vae-fanout'), 'summary.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(csv.length, 3);
    const parent = await client.getRun(parents[0].info.run_id);
    assert.equal(parent.info.status, 'FINISHED');
    assert.ok(tag(parent, 'vae.best_setting'));
    assert.ok((await client.listAllArtifacts(parent.info.run_id)).some((f) => f.path === 'summary/summary.png'));
  });
  it('vae report on a parent run id: its children from MLflow, the table logged to the parent, exit 1 on a miss', async () => {
    const [parent] = await runsOf('vae-mnist', "tags.`vae.sweep_role` = 'parent'");
    // The reference spec's 105.6 nats are out of reach for one epoch on 200 images: every setting misses.
    assert.equal(tag(await client.getRun(parent.info.run_id), 'vae.reference'), 'miss');
    const out = join(scratch(), 'report');
    const report = await vae(['report', parent.info.run_id, '--out', out], { env });
    assert.equal(report.code, 1, report.stderr);
    assert.match(report.stderr, /^vae-mnist model\.latent_dim=2: test\/neg_elbo [\d.]+ ± [\d.]+ \(n=2\) against 105.6, .*, miss$/m);
    assert.match(report.stderr, /2 of 2 settings do not pass their reference/);
    const artifacts = (await client.listAllArtifacts(parent.info.run_id)).map((f) => f.path).filter((p) => p.startsWith('report/'));
    assert.deepEqual(artifacts.sort(), ['report/report.csv', 'report/report.md', 'report/report.png', 'report/report.vl.json']);
    assert.equal(readFileSync(join(out, 'report.csv'), 'utf8').trim().split('\n').length, 3);
  });

  it("vae report on a sweep whose parent's server is gone: the table still, then how to log it or skip logging", async () => {
    // The sweep's record, as if its MLflow server had stopped: the same trials, a parent on a port nothing serves.
    const copy = join(runsDir, 'vae-mnist', 'sweeps-copy', 'server-gone');
    cpSync(sweepDir('vae-mnist'), copy, { recursive: true });
    try {
      const definition = JSON.parse(readFileSync(join(copy, 'sweep.json'), 'utf8'));
      definition.mlflow.tracking_uri = 'http://127.0.0.1:9';
      writeFileSync(join(copy, 'sweep.json'), JSON.stringify(definition));
      const quick = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' };
      const out = join(copy, 'report');
      const report = await vae(['report', copy, '--out', out], { env: quick });
      assert.equal(report.code, 1, report.stderr);
      assert.match(report.stderr, /^vae-mnist model\.latent_dim=2: test\/neg_elbo .* miss$/m);
      assert.match(
        report.stderr,
        /the report is written, but not logged to parent run \w+: cannot reach MLflow at http:\/\/127\.0\.0\.1:9/,
      );
      assert.match(report.stderr, /npx vae ui.*--no-mlflow/);
      assert.ok(existsSync(join(out, 'report.png')));

      const local = await vae(['report', copy, '--out', join(copy, 'report-2'), '--no-mlflow'], { env: quick });
      assert.equal(local.code, 1, 'every setting still misses its reference');
      assert.doesNotMatch(local.stderr, /MLflow/);
      assert.match(local.stderr, /2 of 2 settings do not pass their reference/);
    } finally {
      rmSync(join(runsDir, 'vae-mnist', 'sweeps-copy'), { recursive: true, force: true });
    }
  });

  it('an array task of a trial that finished while MLflow was out of reach uploads its record instead of running it again', async () => {
    const args = ['experiments/vae-mnist.yaml', ...GRID, ...TINY, 'tracking.experiment=vae-fanout', '--runs-dir', runsDir];
    const [parent] = await runsOf('vae-fanout', "tags.`vae.sweep_role` = 'parent'");
    const [child] = await runsOf('vae-fanout', `tags.\`mlflow.parentRunId\` = '${parent.info.run_id}' AND params.seed = '1'`);
    // As a task that lost the server leaves it: MLflow saw the run start and never heard the end.
    await client.updateRun(child.info.run_id, 'RUNNING');
    const runDirs = () => readdirSync(join(runsDir, 'vae-fanout')).filter((d) => d !== 'sweeps').length;
    const before = runDirs();
    const index = JSON.parse(readFileSync(join(sweepDir('vae-fanout'), 'sweep.json'), 'utf8')).trials.find(
      (t: { id: string }) => t.id === tag(child, 'vae.trial_id'),
    ).index;
    const task = await vae(['sweep', ...args, '--trial-index', String(index)], { env });
    assert.equal(task.code, 0, task.stderr);
    assert.match(
      task.stderr,
      /finished on its node while MLflow was out of reach: MLflow had this run as RUNNING; uploaded the local record/,
    );
    assert.equal(runDirs(), before, 'not run again');
    assert.equal((await client.getRun(child.info.run_id)).info.status, 'FINISHED');
    assert.equal((await runsOf('vae-fanout', `tags.\`vae.trial_id\` = '${tag(child, 'vae.trial_id')}'`)).length, 1);
  });

  it('a trial whose run MLflow lost or never got is uploaded from its record when it ends, once', async () => {
    const run = await vae(
      ['run', 'experiments/vae-mnist.yaml', ...TINY, 'tracking.experiment=vae-lost', '--no-mlflow', '--runs-dir', runsDir],
      { env },
    );
    assert.equal(run.code, 0, run.stderr);
    const runDir = onlyRunDir(runsDir, 'vae-lost');
    const uploaded = await completeTrialInMlflow(runDir, client);
    assert.ok(uploaded, 'a run MLflow never got is uploaded');
    assert.match(uploaded.line, /MLflow had this run as missing; uploaded the local record/);
    const inMlflow = await client.getRun(uploaded.runId);
    assert.equal(inMlflow.info.status, 'FINISHED');
    assert.ok(inMlflow.data.metrics.some((m) => m.key === 'test/neg_elbo'));

    // The live tracker went offline before its last request: the run stays RUNNING in MLflow until the sweep completes it.
    await client.updateRun(uploaded.runId, 'RUNNING');
    const completed = await completeTrialInMlflow(runDir, client);
    assert.equal(completed?.runId, uploaded.runId, 'the same MLflow run, not a second one');
    assert.equal((await client.getRun(uploaded.runId)).info.status, 'FINISHED');
    assert.equal(await completeTrialInMlflow(runDir, client), undefined, 'nothing to do once MLflow has it as it ended');

    // A process killed after MLflow created its run but before it wrote the run's identity into its folder: the
    // run's vae.local_run_id tag leads the upload back to it.
    rmSync(join(runDir, 'mlflow.json'));
    await client.updateRun(uploaded.runId, 'RUNNING');
    assert.equal((await completeTrialInMlflow(runDir, client))?.runId, uploaded.runId, 'found by its tag, not created again');
    assert.equal((await client.getRun(uploaded.runId)).info.status, 'FINISHED');
    assert.equal((await runsOf('vae-lost', '')).length, 1);
  });
});

describe('vae sweep over a list of specs', { timeout: 120_000 }, () => {
  it('crosses each spec with the seeds and summarizes one row per spec, each against its own reference', async () => {
    const dir = scratch();
    const runsDir = join(dir, 'runs');
    const file = join(dir, 'two-specs.yaml');
    const [vaeSpec, iwaeSpec] = ['iwae-mnist.yaml', 'iwae-k5-mnist.yaml'].map((f) => join(ROOT, 'experiments', f));
    writeFileSync(
      file,
      [
        'name: two-specs',
        `base: [${vaeSpec}, ${iwaeSpec}]`,
        `overrides: [tracking.experiment=two-specs, ${TINY.join(', ')}]`,
        'seeds: [1]',
      ].join('\n'),
    );
    // From the temporary folder with a relative --runs-dir, so the record's run folders are relative too: the
    // report below reads them from the project root.
    const result = await vae(['sweep', file, '--no-mlflow', '--parallel', '2', '--runs-dir', 'runs'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /2 finished, 0 failed/);
    assert.match(result.stderr, /trial 1 started: spec=iwae-k5-mnist\.yaml seed=1/);
    assert.match(result.stderr, /^reference, spec=iwae-mnist\.yaml: test\/iwae_nll – against 94\.81, /m);
    assert.match(result.stderr, /^reference, spec=iwae-k5-mnist\.yaml: test\/iwae_nll – against 92\.89, /m);

    const record = join(runsDir, 'two-specs', 'sweeps', readdirSync(join(runsDir, 'two-specs', 'sweeps'))[0]);
    const csv = readFileSync(join(record, 'summary.csv'), 'utf8').trim().split('\n');
    assert.match(csv[0], /^spec,finished,failed,test\/neg_elbo mean,/);
    assert.deepEqual(
      csv
        .slice(1)
        .map((line) => line.split(',').slice(0, 3).join(','))
        .sort(),
      ['iwae-k5-mnist.yaml,1,0', 'iwae-mnist.yaml,1,0'],
    );
    const trials = readFileSync(join(record, 'trials.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { spec: string; run_dir: string });
    // Each trial ran its own spec: the IWAE objective only on the k = 5 spec.
    const objectives = trials.map((t) => [
      t.spec,
      JSON.parse(readFileSync(join(record, t.run_dir, 'params.json'), 'utf8'))['loss.objective'],
    ]);
    assert.deepEqual(objectives.sort(), [
      ['iwae-k5-mnist.yaml', 'iwae'],
      ['iwae-mnist.yaml', 'elbo'],
    ]);

    const report = await vae(['report', record, '--out', join(dir, 'report')]);
    assert.equal(report.code, 1, `a few steps miss the references: ${report.stderr}`);
    assert.match(report.stderr, /^iwae-mnist: .*against 94\.81/m);
    assert.match(report.stderr, /^iwae-k5-mnist: .*against 92\.89/m);
    assert.equal(
      readFileSync(join(dir, 'report', 'report.csv'), 'utf8')
        .trim()
        .split('\n').length,
      3,
    );

    // A run folder gone from under the record is named, with what to do, not a bare ENOENT.
    rmSync(join(record, trials[0].run_dir), { recursive: true });
    const broken = await vae(['report', record, '--out', join(dir, 'report-2')]);
    assert.equal(broken.code, 2, broken.stderr);
    assert.match(
      broken.stderr,
      /run folder .* has no run\.json\. Sweeps recorded before 2026-11-28 name their run folders from the directory they ran in/,
    );
  });
});
