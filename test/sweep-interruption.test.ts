// Sweeps under interruption: real `vae sweep` processes, real tiny MNIST trials, a real MLflow server. A trial killed
// outright is FAILED and the others go on; Ctrl-C stops the running trials as KILLED with their checkpoints; running
// the sweep again goes on with both in their own runs, so every trial ends FINISHED exactly once.
//
// To signal a trial mid-run however fast or slow the machine is, the test freezes it (SIGSTOP) once its first
// checkpoint is down, and signals it only while it is frozen.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRunLocation } from '../src/record/run-location.ts';
import { RunRecord } from '../src/record/run-record.ts';
import { SweepRecord, type TrialOutcome } from '../src/sweep/record.ts';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import type { Run } from '../src/tracking/mlflow-records.ts';
import { checkpointDir, readSavedState } from '../src/train/checkpoint-files.ts';
import { vae, type CliResult } from './support/cli.ts';
import { startTestMlflow, type TestMlflow } from './support/mlflow-server.ts';

// Three trials, two at a time, four epochs of 96 steps each (4800 training images): the three after the first leave
// ample time to freeze a trial once its first checkpoint is down. With two epochs of 60 steps, a trial on a faster
// machine (an AMD EPYC, 2026-11-28) had finished training before the poll saw its checkpoint.
const SWEEP = ['experiments/vae-mnist.yaml', '--grid', 'model.latent_dim=2,3,4', '--parallel', '2'];
const EPOCHS = 4;
const TRIAL = ['data.limit=4800', 'train.batch_size=50', `train.epochs=${EPOCHS}`, 'eval.iwae_samples=0'];
const POLL_MS = 50;

const tag = (run: Run, key: string) => run.data.tags.find((t) => t.key === key)?.value;

/** A trial's `vae run` as the sweep started it: its process (and process group) id and its run folder. */
interface TrialProcess {
  trialId: string;
  pid: number;
  runDir: string;
}

/** The running trials of the sweep recorded in sweepDir, each once it has a run folder with a checkpoint. */
function trialsWithCheckpoint(sweepDir: string | undefined): TrialProcess[] {
  if (!sweepDir || !existsSync(join(sweepDir, 'logs'))) return [];
  const logs = join(sweepDir, 'logs');
  return readdirSync(logs)
    .filter((name) => name.endsWith('.record.json'))
    .flatMap((name) => {
      const locationFile = join(logs, name);
      const runDir = readRunLocation(locationFile)?.run_dir;
      if (!runDir || !checkpointDir(runDir)) return [];
      // The trial's command line names its location file, which no other process's does.
      const pids = execFileSync('pgrep', ['-f', '--', locationFile], { encoding: 'utf8' }).trim().split('\n');
      return pids[0] ? [{ trialId: name.replace(/\.record\.json$/, ''), pid: Number(pids[0]), runDir }] : [];
    });
}

/** Calls check every POLL_MS until it returns something; bounded by the test's own timeout. */
async function pollFor<T>(check: () => T | undefined): Promise<T> {
  for (;;) {
    let found: T | undefined;
    try {
      found = check();
    } catch {
      // a file caught between its writes, or pgrep finding nothing: look again at the next tick
    }
    if (found !== undefined) return found;
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}

function trialLog(sweepDir: string, trialId: string): string {
  return readFileSync(new SweepRecord(sweepDir).logPath(trialId), 'utf8');
}

function allLogs(sweepDir: string): string {
  const logs = join(sweepDir, 'logs');
  return readdirSync(logs)
    .filter((name) => name.endsWith('.log'))
    .map((name) => `== ${name}\n${readFileSync(join(logs, name), 'utf8')}`)
    .join('\n');
}

describe('vae sweep under interruption', { timeout: 480_000 }, () => {
  let mlflow: TestMlflow;
  let client: MlflowClient;
  let env: NodeJS.ProcessEnv;
  const scratch: string[] = [];
  /** Trials this test froze: thawed again whatever happens, so a failed test leaves no process stopped for ever. */
  const frozenPids = new Set<number>();
  const freeze = (pid: number) => {
    frozenPids.add(pid);
    process.kill(pid, 'SIGSTOP');
  };

  before(async () => {
    mlflow = await startTestMlflow();
    client = MlflowClient.fromEnv(mlflow.url);
    env = { MLFLOW_TRACKING_URI: mlflow.url };
  });
  after(async () => {
    for (const pid of frozenPids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // ended already
      }
    }
    await mlflow?.dispose();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A sweep logging to an MLflow experiment of its own (the parent run is found by the sweep's id, the same for
   * the same grid), in a runs folder of its own; `sweepDir` is its record once it exists.
   */
  function startSweep(experiment: string, onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void) {
    const dir = mkdtempSync(join(tmpdir(), 'vae-sweep-stop-'));
    scratch.push(dir);
    const runsDir = join(dir, 'runs');
    const run = () => vae(['sweep', ...SWEEP, ...TRIAL, `tracking.experiment=${experiment}`, '--runs-dir', runsDir], { env, onStderr });
    const sweepDir = () => {
      const sweeps = join(runsDir, experiment, 'sweeps');
      return existsSync(sweeps) ? join(sweeps, readdirSync(sweeps)[0]) : undefined;
    };
    return { run, sweepDir };
  }

  async function childrenOf(sweepDir: string): Promise<Run[]> {
    const { experiment_id: experimentId, parent_run_id: parentRunId } = JSON.parse(
      readFileSync(join(sweepDir, 'sweep.json'), 'utf8'),
    ).mlflow;
    return (await client.searchRuns({ experimentIds: [experimentId], filter: `tags.\`mlflow.parentRunId\` = '${parentRunId}'` })).runs;
  }

  /** After the sweep run again: every trial FINISHED exactly once in MLflow, and the given ones in their first MLflow run. */
  async function assertEveryTrialFinishedOnce(sweepDir: string, sameMlflowRuns: TrialOutcome[]): Promise<void> {
    const children = await childrenOf(sweepDir);
    assert.deepEqual(children.map((c) => c.info.status).sort(), ['FINISHED', 'FINISHED', 'FINISHED'], allLogs(sweepDir));
    assert.equal(new Set(children.map((c) => tag(c, 'vae.trial_id'))).size, 3, 'one child per trial');
    for (const outcome of sameMlflowRuns) {
      assert.ok(
        children.some((c) => c.info.run_id === outcome.mlflow_run_id),
        `trial ${outcome.index} went on in MLflow run ${outcome.mlflow_run_id}`,
      );
      assert.equal(new RunRecord(outcome.run_dir!).readRun().status, 'FINISHED');
    }
  }

  it('a trial killed outright (kill -9) is FAILED and the others finish; run again, only it goes on, from its checkpoint', async () => {
    const sweep = startSweep('vae-sweep-crash');
    const running = sweep.run();
    const victim = await pollFor(() => trialsWithCheckpoint(sweep.sweepDir())[0]);
    freeze(victim.pid);
    assert.equal(new RunRecord(victim.runDir).readRun().status, 'RUNNING', 'frozen before its end');
    process.kill(victim.pid, 'SIGKILL');
    const first: CliResult = await running;
    const sweepDir = sweep.sweepDir()!;
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, /^2 finished, 1 failed$/m);

    const outcomes = new SweepRecord(sweepDir).outcomes();
    const killed = outcomes.get(victim.trialId)!;
    assert.equal(killed.status, 'FAILED');
    assert.equal(new RunRecord(victim.runDir).readRun().status, 'FAILED', 'the sweep recorded the end the trial could not');
    assert.match(trialLog(sweepDir, victim.trialId), /\[sweep\] vae run was killed by SIGKILL before it could record its end/);
    const children = await childrenOf(sweepDir);
    assert.equal(children.find((c) => c.info.run_id === killed.mlflow_run_id)?.info.status, 'FAILED', 'FAILED in MLflow too');
    assert.deepEqual(
      children.filter((c) => c.info.run_id !== killed.mlflow_run_id).map((c) => c.info.status),
      ['FINISHED', 'FINISHED'],
      allLogs(sweepDir),
    );

    const again = await sweep.run();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /3 trials \(2 finished before, 1 to resume\)/);
    assert.match(again.stderr, /^3 finished, 0 failed$/m);
    assert.match(trialLog(sweepDir, victim.trialId), new RegExp(`resuming after epoch \\d of ${EPOCHS}`));
    await assertEveryTrialFinishedOnce(sweepDir, [killed]);
  });

  it('Ctrl-C stops the running trials as KILLED with their checkpoints; run again, they resume and every trial finishes once', async () => {
    let interrupt: ((s: NodeJS.Signals) => void) | undefined;
    let stderr = '';
    const sweep = startSweep('vae-sweep-ctrl-c', (text, kill) => {
      interrupt = kill;
      stderr = text;
    });
    const running = sweep.run();
    // Both running trials frozen mid-run, each once its checkpoint of epoch 1 is down.
    const frozen = new Map<string, TrialProcess>();
    await pollFor(() => {
      for (const trial of trialsWithCheckpoint(sweep.sweepDir()).filter((t) => !frozen.has(t.trialId))) {
        freeze(trial.pid);
        frozen.set(trial.trialId, trial);
      }
      return frozen.size === 2 || undefined;
    });
    for (const trial of frozen.values()) assert.equal(new RunRecord(trial.runDir).readRun().status, 'RUNNING');
    interrupt!('SIGINT');
    // The sweep says so, then passes the Ctrl-C on to each trial, which handles it once thawed.
    await pollFor(() => /SIGINT: no new trials; stopping the running ones/.test(stderr) || undefined);
    for (const trial of frozen.values()) process.kill(trial.pid, 'SIGCONT');
    const first = await running;
    const sweepDir = sweep.sweepDir()!;
    assert.equal(first.code, 130, first.stderr);
    assert.match(
      first.stderr,
      /^0 finished, 0 failed, 2 stopped, 1 not started \(stopped by SIGINT; the same command again resumes the stopped trials and runs the rest\)$/m,
    );

    const outcomes = [...new SweepRecord(sweepDir).outcomes().values()];
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['KILLED', 'KILLED'], 'the trial never started has no outcome');
    for (const outcome of outcomes) {
      assert.equal(new RunRecord(outcome.run_dir!).readRun().status, 'KILLED');
      const state = readSavedState(checkpointDir(outcome.run_dir!)!);
      assert.ok(state.epoch >= 1 && state.epoch < EPOCHS, `trial ${outcome.index}: a checkpoint mid-run (epoch ${state.epoch})`);
    }
    assert.deepEqual(
      (await childrenOf(sweepDir)).map((c) => c.info.status),
      ['KILLED', 'KILLED'],
    );

    const again = await sweep.run();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /3 trials \(0 finished before, 2 to resume\)/);
    assert.match(again.stderr, /^3 finished, 0 failed$/m);
    for (const outcome of outcomes)
      assert.match(trialLog(sweepDir, outcome.trial_id), new RegExp(`resuming (after epoch \\d|epoch \\d after step \\d+) of ${EPOCHS}`));
    await assertEveryTrialFinishedOnce(sweepDir, outcomes);
  });
});
