// The Kubernetes Indexed Job of `vae sweep plan`: a batch/v1 Job by Kubernetes' own schema (pinned, offline), and a
// pod command line that, stopped the way Kubernetes stops a pod, leaves its trial KILLED with a checkpoint.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { RunRecord } from '../src/record/run-record.ts';
import { readRunLocation } from '../src/record/run-location.ts';
import { prepareSweep, recordOf } from '../src/sweep/prepare.ts';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import { findCheckpoint } from '../src/train/checkpoint.ts';
import { ROOT, vae } from './support/cli.ts';
import { startTestMlflow, type TestMlflow } from './support/mlflow-server.ts';

// Kubernetes v1.33's Job schema, strict; where it comes from is in its $comment (scripts/kubernetes-job-schema.sh).
const JOB_SCHEMA = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/kubernetes/job-batch-v1.schema.json'), 'utf8'));
const IMAGE = 'registry.example.com/team/vae-lab:1.0';
// One trial far longer than the test waits: it is stopped right after its first checkpoint, mid-run.
const SWEEP = ['experiments/vae-mnist.yaml', '--seeds', '1'];
const LONG_TRIAL = ['data.limit=500', 'train.batch_size=50', 'train.epochs=1000', 'eval.iwae_samples=0', 'tracking.experiment=vae-k8s'];

interface Container {
  image: string;
  workingDir: string;
  command: string[];
  env: { name: string; value: string }[];
  volumeMounts?: unknown;
}
interface Job {
  spec: { template: { spec: { containers: Container[]; volumes?: unknown; terminationGracePeriodSeconds: number } } };
}

function jobValidator() {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
  // The OpenAPI formats the schema names, with the ranges Kubernetes gives them.
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  const validate = ajv.compile(JOB_SCHEMA);
  return (job: unknown) => (validate(job) ? '' : ajv.errorsText(validate.errors));
}

/** A folder laid out as the image's /app: the files the Dockerfile copies, and a runs/ of its own. */
function imageLikeCheckout(): string {
  const app = mkdtempSync(join(tmpdir(), 'vae-k8s-app-'));
  for (const entry of ['bin', 'src', 'schemas', 'experiments', 'node_modules', 'package.json', 'tsconfig.json']) {
    symlinkSync(join(ROOT, entry), join(app, entry));
  }
  return app;
}

async function plan(runsDir: string, args: string[], env: NodeJS.ProcessEnv): Promise<Job> {
  const result = await vae(['sweep', 'plan', ...args, '--runs-dir', runsDir, '--image', IMAGE], { env });
  assert.equal(result.code, 0, result.stderr);
  const manifest = result.stderr.match(/^ {2}Kubernetes: kubectl apply -f (\S+)$/m)?.[1];
  assert.ok(manifest, result.stderr);
  return parse(readFileSync(manifest, 'utf8')) as Job;
}

describe('the Kubernetes Job of vae sweep plan', { timeout: 300_000 }, () => {
  let mlflow: TestMlflow;
  const scratch: string[] = [];
  before(async () => {
    mlflow = await startTestMlflow();
  });
  after(async () => {
    await mlflow?.dispose();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  it('is a valid batch/v1 Job that runs the given image with node as its first process and mounts nothing', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'vae-k8s-plan-'));
    scratch.push(runsDir);
    const job = await plan(runsDir, ['experiments/sweep-latent.yaml'], { MLFLOW_TRACKING_URI: 'http://mlflow.example:5000' });
    const valid = jobValidator();
    assert.equal(valid(job), '');
    const pod = job.spec.template.spec;
    const [container] = pod.containers;
    assert.equal(container.image, IMAGE);
    assert.deepEqual(container.command.slice(0, 4), ['node', 'bin/vae.js', 'sweep', 'experiments/sweep-latent.yaml']);
    assert.equal(pod.volumes, undefined);
    assert.equal(container.volumeMounts, undefined);

    // The schema is strict and reaches every level: a misspelt field anywhere, or a wrong type, is refused.
    const misspelt = structuredClone(job) as unknown as { spec: Record<string, unknown> };
    misspelt.spec.backoffLimitPerIndx = 0;
    assert.match(valid(misspelt), /must NOT have additional properties/);
    const deep = structuredClone(job);
    Object.assign(deep.spec.template.spec.containers[0], { workingdir: '/app' });
    assert.match(valid(deep), /containers\/0 must NOT have additional properties/);
    const wrongType = structuredClone(job);
    wrongType.spec.template.spec.terminationGracePeriodSeconds = '120' as unknown as number;
    assert.match(valid(wrongType), /terminationGracePeriodSeconds must be integer/);
  });

  it('takes the sweep file relative to the checkout the image holds, and warns when the image cannot hold it', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'vae-k8s-outside-'));
    scratch.push(outside);
    copyFileSync(join(ROOT, 'experiments/vae-mnist.yaml'), join(outside, 'mine.yaml'));
    const result = await vae(['sweep', 'plan', join(outside, 'mine.yaml'), '--seeds', '1', '--runs-dir', join(outside, 'runs')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /^warning: .*mine\.yaml is outside this checkout, so the Kubernetes Job's image, built from it, will not hold it/m,
    );

    const inside = await plan(join(outside, 'runs'), [join(ROOT, 'experiments/vae-mnist.yaml'), '--seeds', '1'], {});
    assert.equal(inside.spec.template.spec.containers[0].command[3], 'experiments/vae-mnist.yaml');
  });

  it('SIGTERM to its command, as the first process of its own PID namespace, leaves the trial KILLED with a checkpoint', async () => {
    const app = imageLikeCheckout();
    scratch.push(app);
    const runsDir = join(app, 'runs');
    const job = await plan(runsDir, [...SWEEP, ...LONG_TRIAL], { MLFLOW_TRACKING_URI: mlflow.url });
    const [container] = job.spec.template.spec.containers;
    assert.equal(container.workingDir, '/app', 'the image holds the checkout at /app; here the folder laid out like it');
    const prepared = prepareSweep(SWEEP[0], LONG_TRIAL, { grid: [], seeds: '1' });
    const record = recordOf(prepared, runsDir);
    const trial = prepared.trials[0];

    // As in a pod: the command is process 1 of its PID namespace, where a signal from outside (the kubelet's) is
    // delivered only if that process handles it, and Kubernetes sets JOB_COMPLETION_INDEX.
    const pod = spawn('unshare', ['--user', '--map-root-user', '--pid', '--fork', '--kill-child', ...container.command], {
      cwd: app,
      env: { ...process.env, ...Object.fromEntries(container.env.map((e) => [e.name, e.value])), JOB_COMPLETION_INDEX: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    pod.stdout.on('data', (d) => (output += d));
    pod.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((done) => pod.on('close', (code) => done(code)));
    try {
      const runDir = await firstCheckpoint(app, record.runLocationPath(trial.id), exited, () => output);
      const pid1 = Number(readFileSync(`/proc/${pod.pid}/task/${pod.pid}/children`, 'utf8').trim());
      process.kill(pid1, 'SIGTERM');
      // Kubernetes waits this long, then SIGKILLs whatever is left (the timer must not hold the test up once the pod ends).
      const grace = job.spec.template.spec.terminationGracePeriodSeconds;
      const code = await Promise.race([
        exited,
        sleep(grace * 1000, undefined, { ref: false }).then(() => `still running after the ${grace} s grace period`),
      ]);
      const log = readFileSync(record.logPath(trial.id), 'utf8');
      assert.equal(code, 143, `${output}\n--- trial log ---\n${log}`);

      assert.match(log, /SIGTERM: finishing the current step/);
      const run = new RunRecord(runDir);
      assert.equal(run.readRun().status, 'KILLED');
      const checkpoint = findCheckpoint(runDir);
      assert.ok(checkpoint, 'the stopped trial keeps a checkpoint');
      assert.ok(checkpoint.state.epoch < 1000, 'stopped mid-run');
      assert.equal(record.outcomes().get(trial.id)?.status, 'KILLED');
      const mlflowRunId = run.readMlflow()?.run_id;
      assert.ok(mlflowRunId);
      assert.equal((await MlflowClient.fromEnv(mlflow.url).getRun(mlflowRunId)).info.status, 'KILLED');
    } finally {
      pod.kill('SIGKILL'); // unshare --kill-child takes the whole namespace with it
    }
  });
});

/** The trial's run folder once its first checkpoint is on disk; fails if the pod ends first or takes minutes. */
async function firstCheckpoint(app: string, locationFile: string, exited: Promise<number | null>, output: () => string): Promise<string> {
  let ended = false;
  void exited.then(() => (ended = true));
  for (let waited = 0; waited < 180_000; waited += 250) {
    const location = readRunLocation(locationFile);
    // The pod's paths are relative to its working directory.
    const runDir = location && resolve(app, location.run_dir);
    if (runDir && findCheckpoint(runDir)) return runDir;
    assert.ok(!ended, `the pod ended before its trial saved a checkpoint:\n${output()}`);
    await sleep(250);
  }
  assert.fail(`no checkpoint after 3 minutes:\n${output()}${existsSync(locationFile) ? '' : '\n(the trial never said where it records)'}`);
}
