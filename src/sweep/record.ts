// The local record of a sweep: runs/<experiment>/sweeps/<sweep-id>/
//   sweep.json      the definition, its trials and the MLflow parent run
//   trials.jsonl    one TrialOutcome per line, appended as trials end (the last line of a trial wins)
//   logs/<trial>.log  everything the trial's `vae run` printed
//   summary.csv/.md/.png/.vl.json, plan.txt, slurm.sbatch, k8s-job.yaml
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../record/atomic-write.ts';

export type TrialStatus = 'FINISHED' | 'FAILED' | 'KILLED';

const DEFINITION = 'sweep.json';

/** sweep.json: what the sweep is, and where its MLflow parent run is once it has one. */
export interface SweepDefinition {
  sweep_id: string;
  file: string;
  definition: unknown;
  experiment: string;
  trials: unknown[];
  mlflow?: { tracking_uri: string; experiment_id: string; parent_run_id: string };
}

export interface TrialOutcome {
  trial_id: string;
  index: number;
  overrides: string[];
  setting: string;
  /** With a list of base specs: the trial's spec, as Trial.spec. */
  spec?: string;
  status: TrialStatus;
  /**
   * The trial's run record (runs/<experiment>/<run-id>), when `vae run` got as far as creating it: relative to the
   * sweep record's folder in trials.jsonl, absolute from outcomes().
   */
  run_dir?: string;
  mlflow_run_id?: string;
  /** Final metrics from the run's summary. */
  metrics: Record<string, number>;
  start_time: number;
  end_time: number;
}

export class SweepRecord {
  constructor(readonly dir: string) {}

  static at(runsDir: string, experiment: string, sweepId: string): SweepRecord {
    return new SweepRecord(join(runsDir, experiment, 'sweeps', sweepId));
  }

  /** Whether this folder holds a sweep record: its sweep.json. */
  exists(): boolean {
    return existsSync(join(this.dir, DEFINITION));
  }

  writeDefinition(definition: SweepDefinition): void {
    this.write(DEFINITION, `${JSON.stringify(definition, null, 2)}\n`);
  }

  /** The sweep's MLflow parent run, as sweep.json names it, when the sweep has one. */
  parentRun(): SweepDefinition['mlflow'] {
    return (JSON.parse(readFileSync(join(this.dir, DEFINITION), 'utf8')) as SweepDefinition).mlflow;
  }

  logPath(trialId: string): string {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    return join(this.dir, 'logs', `${trialId}.log`);
  }

  /** Where the trial's `vae run --record-file` says which run folder it recorded in. */
  runLocationPath(trialId: string): string {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    return join(this.dir, 'logs', `${trialId}.record.json`);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, content: string | Uint8Array): string {
    mkdirSync(this.dir, { recursive: true });
    const target = join(this.dir, name);
    // A reader (or a second worker) never sees half a file.
    writeFileAtomic(target, content);
    return target;
  }

  /**
   * One line per outcome; appends of a line this short are atomic, so workers on one machine can share the file.
   * The run folder is written relative to this record's folder, so the record finds its runs from any working
   * directory, in a container that mounts runs/ elsewhere, or after runs/ moves.
   */
  appendOutcome(outcome: TrialOutcome): void {
    mkdirSync(this.dir, { recursive: true });
    const runDir = outcome.run_dir === undefined ? {} : { run_dir: relative(this.dir, outcome.run_dir) };
    appendFileSync(join(this.dir, 'trials.jsonl'), `${JSON.stringify({ ...outcome, ...runDir })}\n`);
  }

  /** The latest outcome of each trial id. */
  outcomes(): Map<string, TrialOutcome> {
    const file = join(this.dir, 'trials.jsonl');
    const latest = new Map<string, TrialOutcome>();
    if (!existsSync(file)) return latest;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const outcome = JSON.parse(line) as TrialOutcome;
      latest.set(outcome.trial_id, outcome.run_dir === undefined ? outcome : { ...outcome, run_dir: this.runDir(outcome.run_dir) });
    }
    return latest;
  }

  /**
   * A run folder as trials.jsonl holds it, as an absolute path. Records written before run folders
   * were relative to the record hold them relative to the sweep's working directory; those are taken as they are.
   */
  private runDir(stored: string): string {
    const fromRecord = resolve(this.dir, stored);
    return existsSync(fromRecord) || !existsSync(stored) ? fromRecord : stored;
  }
}
