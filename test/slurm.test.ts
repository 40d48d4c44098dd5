// `vae sweep plan` on a real one-node Slurm cluster (test/support/slurm-cluster.ts) against a real MLflow server: the
// array job runs every trial as a task under one parent run; a task cancelled mid-trial ends KILLED and is the only one
// a resubmission runs again, resuming it; a task whose node loses MLflow finishes on its own and `vae sweep summarize` uploads it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRunLocation } from '../src/record/run-location.ts';
import { RunRecord } from '../src/record/run-record.ts';
import { slurmTags } from '../src/run/run-tags.ts';
import { SweepRecord, type TrialOutcome } from '../src/sweep/record.ts';
import { findCheckpoint } from '../src/train/checkpoint.ts';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import type { Run } from '../src/tracking/mlflow-records.ts';
import { vae } from './support/cli.ts';
import { startTestMlflow, type TestMlflow } from './support/mlflow-server.ts';
import { pauseWhen, pauseWhenLogged } from './support/pause-process.ts';
import { markedProcesses, slurmUnavailable, startSlurmCluster, type SlurmCluster } from './support/slurm-cluster.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

// 2 settings x 2 seeds of a few seconds each: 200 images, one epoch, no importance-weighted bound.
const SWEEP = [
  'experiments/vae-mnist.yaml',
  '--grid',
  'model.latent_dim=2,5',
  '--seeds',
  '1,2',
  'data.limit=200',
  'train.epochs=1',
  'eval.iwae_samples=0',
  'train.batch_size=50',
  'tracking.experiment=vae-slurm',
];
const KILLED_TRIAL = 1;
const OFFLINE_TRIAL = 3;
// One task at a time on the 2-CPU node (each asks for 2), a few seconds each; generous for a loaded machine.
const ARRAY_TIMEOUT_MS = 180_000;

describe('slurmTags', () => {
  it("names the Slurm job and array task a run ran in, from Slurm's environment; nothing outside Slurm", () => {
    const env = { SLURM_JOB_ID: '12', SLURM_ARRAY_JOB_ID: '10', SLURM_ARRAY_TASK_ID: '2', SLURM_CONF: '/etc/slurm/slurm.conf' };
    assert.deepEqual(slurmTags(env), { 'slurm.job_id': '12', 'slurm.array_job_id': '10', 'slurm.array_task_id': '2' });
    assert.deepEqual(slurmTags({ SLURM_JOB_ID: '12' }), { 'slurm.job_id': '12' });
    assert.deepEqual(slurmTags({}), {});
  });
});

const tag = (run: Run, key: string) => run.data.tags.find((t) => t.key === key)?.value;
const unavailable = slurmUnavailable();

describe('a planned sweep on a real Slurm cluster', { skip: unavailable, timeout: 420_000 }, () => {
  let cluster: SlurmCluster;
  let mlflow: TestMlflow;
  let proxy: TcpProxy;
  let client: MlflowClient;
  let env: NodeJS.ProcessEnv;
  let sweep: SweepRecord;
  let trials: { id: string; index: number }[];
  let firstJob: string;
  const work = mkdtempSync(join(tmpdir(), 'vae-slurm-sweep-'));
  const runsDir = join(work, 'runs');

  before(async () => {
    // Both at once (the server takes longest); whichever started is stopped by after() when the other did not.
    const [slurm, server] = await Promise.allSettled([startSlurmCluster(), startTestMlflow()]);
    if (slurm.status === 'fulfilled') cluster = slurm.value;
    if (server.status === 'fulfilled') mlflow = server.value;
    for (const started of [slurm, server]) if (started.status === 'rejected') throw started.reason;
    // The tasks reach MLflow through a proxy the test can cut, as a node loses its route to the tracking server.
    proxy = await startTcpProxy(mlflow.url);
    client = MlflowClient.fromEnv(mlflow.url);
    // Retries as MLflow's client makes them, only quicker, so a task that lost the server gives up in about 3 s.
    env = { MLFLOW_TRACKING_URI: proxy.url, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.1', MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0' };
  });
  after(async () => {
    await cluster?.stop();
    await proxy?.close();
    await mlflow?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  async function children(): Promise<Run[]> {
    const experimentId = (await client.getExperimentByName('vae-slurm'))!.experiment_id;
    const parents = (await client.searchRuns({ experimentIds: [experimentId], filter: "tags.`vae.sweep_role` = 'parent'" })).runs;
    assert.equal(parents.length, 1, 'one parent run');
    const filter = `tags.\`mlflow.parentRunId\` = '${parents[0].info.run_id}'`;
    return (await client.searchRuns({ experimentIds: [experimentId], filter })).runs;
  }
  const childrenOf = (runs: Run[], index: number) => runs.filter((r) => tag(r, 'vae.trial_id') === trials[index].id);
  const outcome = (index: number): TrialOutcome => sweep.outcomes().get(trials[index].id)!;
  const slurmLog = (job: string, index: number) => join(sweep.dir, 'logs', `slurm-${job}_${index}.log`);
  const trialLog = (index: number) => sweep.logPath(trials[index].id);
  const readIfThere = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  /** Whether the trial's run folder has the MLflow identity its tracker writes once MLflow created the run. */
  const inMlflow = (index: number) => {
    const runDir = readRunLocation(sweep.runLocationPath(trials[index].id))?.run_dir;
    return runDir !== undefined && new RunRecord(runDir).readMlflow() !== null;
  };
  const everyLog = () =>
    readdirSync(join(sweep.dir, 'logs'))
      .filter((name) => name.endsWith('.log'))
      .map((name) => `== ${name}\n${readFileSync(join(sweep.dir, 'logs', name), 'utf8')}`)
      .join('\n');

  it('runs the plan as an array job: a task cancelled mid-trial, and one whose node loses MLflow mid-trial', async () => {
    const plan = await vae(['sweep', 'plan', ...SWEEP, '--runs-dir', runsDir], { env });
    assert.equal(plan.code, 0, plan.stderr);
    const [sweepId] = readdirSync(join(runsDir, 'vae-slurm', 'sweeps'));
    sweep = SweepRecord.at(runsDir, 'vae-slurm', sweepId);
    trials = (JSON.parse(readFileSync(sweep.path('sweep.json'), 'utf8')) as { trials: typeof trials }).trials;
    assert.equal(trials.length, 4);

    firstJob = await cluster.sbatch([sweep.path('slurm.sbatch')], env);
    console.log(`Slurm array job ${firstJob}: ${trials.length} tasks of sweep ${sweepId}`);
    // Each trial is caught as its training starts, however fast or slow the machine is.
    const training = (index: number) =>
      pauseWhenLogged(['run', `vae.trial_id=${trials[index].id}`], trialLog(index), /^training step:/m, 120_000);

    await training(KILLED_TRIAL);
    // scancel sends SIGCONT, then SIGTERM to every process of the task: the trial saves what it has.
    await cluster.command('scancel', [`${firstJob}_${KILLED_TRIAL}`]);

    // The last task, and tasks run one at a time: cutting the proxy takes MLflow from this one only. It is caught
    // training once MLflow has its run (runs are created in the background, so the log's line can come first).
    const offline = await pauseWhen(
      ['run', `vae.trial_id=${trials[OFFLINE_TRIAL].id}`],
      () => /^training step:/m.test(readIfThere(trialLog(OFFLINE_TRIAL))) && inMlflow(OFFLINE_TRIAL),
      'its training with its MLflow run created',
      () => readIfThere(trialLog(OFFLINE_TRIAL)),
      120_000,
    );
    proxy.cut();
    process.kill(offline, 'SIGCONT');
    await cluster.waitForJob(firstJob, ARRAY_TIMEOUT_MS);
    proxy.restore();

    for (const index of [0, 1, 2, 3]) assert.ok(existsSync(slurmLog(firstJob, index)), `task ${index} has its Slurm log\n${everyLog()}`);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => outcome(i).status),
      ['FINISHED', 'KILLED', 'FINISHED', 'FINISHED'],
      everyLog(),
    );
  });

  it('every trial ran as an array task: its run carries the Slurm job and task ids', async () => {
    const runs = await children();
    for (const { index } of trials) {
      const [run] = childrenOf(runs, index);
      assert.ok(run, `trial ${index} has a child run\n${everyLog()}`);
      assert.equal(tag(run, 'slurm.array_job_id'), firstJob);
      assert.equal(tag(run, 'slurm.array_task_id'), String(index));
      assert.match(tag(run, 'slurm.job_id') ?? '', /^\d+$/);
    }
  });

  it('the cancelled trial is KILLED in MLflow and in its local record, with a checkpoint to resume from', async () => {
    const [run] = childrenOf(await children(), KILLED_TRIAL);
    assert.equal(run.info.status, 'KILLED', everyLog());
    const runDir = outcome(KILLED_TRIAL).run_dir!;
    assert.equal(new RunRecord(runDir).readRun().status, 'KILLED');
    assert.ok(findCheckpoint(runDir), 'a checkpoint');
    const log = readFileSync(slurmLog(firstJob, KILLED_TRIAL), 'utf8');
    assert.match(log, /CANCELLED/);
    assert.match(
      log,
      /^SIGTERM: waiting for the trial to record what it has\ntrial 1 killed$/m,
      'the task outlived the SIGTERM until its trial had saved',
    );
  });

  it('the trial that lost MLflow finished on its node; vae sweep summarize uploads it, once', async () => {
    assert.match(readFileSync(trialLog(OFFLINE_TRIAL), 'utf8'), /could not upload this run to MLflow/);
    const [lost] = childrenOf(await children(), OFFLINE_TRIAL);
    assert.equal(lost.info.status, 'RUNNING', 'MLflow saw the run start, then nothing');

    const summary = await vae(['sweep', 'summarize', ...SWEEP, '--runs-dir', runsDir], { env });
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(
      summary.stderr,
      new RegExp(`^trial ${OFFLINE_TRIAL} \\(${trials[OFFLINE_TRIAL].id}\\) finished on its node while MLflow was out of reach`, 'm'),
    );
    assert.match(summary.stderr, /3 of 4 trials finished in MLflow/);
    const uploaded = childrenOf(await children(), OFFLINE_TRIAL);
    assert.deepEqual(
      uploaded.map((r) => [r.info.run_id, r.info.status]),
      [[lost.info.run_id, 'FINISHED']],
      'the same run, completed',
    );
    assert.ok(uploaded[0].data.metrics.some((m) => m.key === 'test/neg_elbo'));
  });

  it('resubmitting the plan resumes only the cancelled trial, from its checkpoint; summarize builds the table from every child, once each', async () => {
    const job = await cluster.sbatch([sweep.path('slurm.sbatch')], env);
    console.log(`Slurm array job ${job}: the same plan again`);
    await cluster.waitForJob(job, ARRAY_TIMEOUT_MS);
    for (const index of [0, 2, 3]) assert.match(readFileSync(slurmLog(job, index), 'utf8'), /already finished in MLflow; nothing to do/);
    const resumed = readFileSync(slurmLog(job, KILLED_TRIAL), 'utf8');
    assert.match(resumed, /trial 1 \(.*\): .*, resuming .* ->/, everyLog());
    assert.match(resumed, /trial 1 finished/, everyLog());

    const runs = await children();
    for (const { index } of trials) {
      const finished = childrenOf(runs, index).filter((r) => r.info.status === 'FINISHED');
      assert.equal(finished.length, 1, `trial ${index} finished exactly once in MLflow`);
    }
    assert.equal(runs.length, 4, 'the cancelled trial went on from its checkpoint in its own MLflow run');

    const summary = await vae(['sweep', 'summarize', ...SWEEP, '--runs-dir', runsDir], { env });
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stderr, /4 of 4 trials finished in MLflow/);
    const csv = readFileSync(sweep.path('summary.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 3, 'a row per setting');
    console.log(readFileSync(sweep.path('summary.md'), 'utf8'));
  });

  it('leaves no process behind', async () => {
    const dir = cluster.env.VAE_TEST_SLURM_CLUSTER!;
    await cluster.stop();
    assert.deepEqual(markedProcesses(dir), []);
  });
});
