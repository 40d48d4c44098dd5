// From what the user typed to a sweep ready to run: definition, id, trials, every trial's spec validated.
import { availableParallelism } from 'node:os';
import { loadSpec, type LoadedSpec } from '../experiment-spec/load.ts';
import { expandTrials, readBases, sweepId, type Trial } from './expand.ts';
import { SweepRecord } from './record.ts';
import { isSweepFile, loadSweepFile, sweepFromCommandLine, type CommandLineSweep } from './spec.ts';
import type { Sweep } from './sweep.generated.ts';
import { validateTrials } from './validate-trials.ts';
import { UsageError } from '../errors.ts';

export interface PreparedSweep {
  /** The file the user named: a sweep file, or the experiment file of a --grid/--seeds sweep. */
  file: string;
  sweep: Sweep;
  id: string;
  trials: Trial[];
  specs: LoadedSpec[];
  /** The MLflow experiment and runs/ folder of the trials (and so of the parent run). */
  experiment: string;
  /** Parameters of the parent run: what was swept, over what. */
  params: Record<string, string>;
  /** The keys the trials differ in, for the `vae.swept` tag. */
  swept: string[];
}

export function prepareSweep(file: string, overrides: readonly string[], cli: CommandLineSweep): PreparedSweep {
  let sweep: Sweep;
  if (isSweepFile(file)) {
    if (cli.grid.length > 0 || cli.seeds !== undefined)
      throw new UsageError(`${file} is a sweep file: put grid and seeds in it, or name an experiment file with --grid/--seeds`);
    sweep = loadSweepFile(file, overrides);
  } else {
    sweep = sweepFromCommandLine(file, loadSpec(file, overrides).spec.name, cli, overrides);
  }
  const id = sweepId(sweep, readBases(sweep));
  const trials = expandTrials(sweep, id);
  const specs = validateTrials(sweep, trials);
  const experiments = new Set(specs.map((s) => s.spec.tracking.experiment));
  if (experiments.size > 1)
    throw new UsageError(
      `sweep ${sweep.name}: all trials must log to one experiment (a parent run has its children beside it); got ${[...experiments].join(', ')}${Array.isArray(sweep.base) ? `; add tracking.experiment=<name> to the sweep's overrides:` : ''}`,
    );
  const listed = Array.isArray(sweep.base);
  const swept = [
    ...(listed ? ['spec'] : []),
    ...Object.keys(sweep.grid),
    ...Object.keys(sweep.random?.params ?? {}),
    ...(sweep.seeds.length > 0 ? ['seed'] : []),
  ];
  const params: Record<string, string> = {
    'sweep.base': Array.isArray(sweep.base) ? sweep.base.join(', ') : sweep.base,
    'sweep.trials': String(trials.length),
    'sweep.overrides': sweep.overrides.join(' '),
    ...Object.fromEntries(Object.entries(sweep.grid).map(([k, v]) => [`grid.${k}`, JSON.stringify(v)])),
    ...Object.fromEntries(Object.entries(sweep.random?.params ?? {}).map(([k, v]) => [`random.${k}`, JSON.stringify(v)])),
    ...(sweep.random ? { 'random.trials': String(sweep.random.trials), 'sweep.seed': String(sweep.seed) } : {}),
    ...(sweep.seeds.length > 0 ? { seeds: sweep.seeds.join(',') } : {}),
  };
  return { file, sweep, id, trials, specs, experiment: [...experiments][0], params, swept };
}

export function recordOf(prepared: PreparedSweep, runsDir: string): SweepRecord {
  return SweepRecord.at(runsDir, prepared.experiment, prepared.id);
}

/**
 * Trials at once when the sweep does not say: one per core. TensorFlow's kernels at batch 128 do not keep two cores
 * busy, and each trial's start-up, data loading and evaluation are single-threaded, so a process per core wins
 * (measured in docs/results.md, "Trials at once").
 */
export function defaultParallel(): number {
  return Math.max(1, availableParallelism());
}
