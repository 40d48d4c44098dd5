import { loadSpec, type LoadedSpec } from '../experiment-spec/load.ts';
import { formatProblem, SpecError, type Problem } from '../experiment-spec/problems.ts';
import { describeTrial, type Trial } from './expand.ts';
import type { Sweep } from './sweep.generated.ts';

/**
 * Every trial's spec (base + the sweep's overrides + the trial's), loaded and validated before any trial starts,
 * so a bad combination stops the sweep at once instead of failing one trial an hour in. A problem shared by many
 * trials (one bad grid value over every seed) is reported once, at its first trial.
 */
export function validateTrials(sweep: Sweep, trials: readonly Trial[]): LoadedSpec[] {
  const loaded: LoadedSpec[] = [];
  const problems = new Map<string, { problem: Problem; trial: Trial; count: number }>();
  for (const trial of trials) {
    try {
      loaded.push(loadSpec(trial.base, [...sweep.overrides, ...trial.overrides]));
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      for (const problem of e.problems) {
        const key = formatProblem(problem);
        const seen = problems.get(key);
        if (seen) seen.count += 1;
        else problems.set(key, { problem, trial, count: 1 });
      }
    }
  }
  if (problems.size > 0) {
    throw new SpecError(
      [...problems.values()].map(({ problem, trial, count }) => ({
        ...problem,
        within: `trial ${trial.index} (${describeTrial(trial) || 'no overrides'}${count > 1 ? `; and ${count - 1} more trial${count > 2 ? 's' : ''}` : ''}):`,
      })),
    );
  }
  return loaded;
}
