// Runs a sweep's trials `parallel` at a time; a trial whose last attempt left a run to go on with is resumed. A signal
// stops starting new trials and passes itself on, once, to each running one, which then records what it has (KILLED,
// with its checkpoint).
import { describeTrial, type Trial } from './expand.ts';
import { sweepProgress, type SweepCounts } from './progress.ts';
import type { SweepRecord } from './record.ts';
import { runTrial, type TrialLaunch } from './run-trial.ts';

export interface TrialPool {
  todo: Trial[];
  /** Trial id -> the run folder its last attempt left to resume (see trial-runs.ts). */
  resumeDirs: Map<string, string>;
  parallel: number;
  counts: SweepCounts;
  record: SweepRecord;
  launch: Omit<TrialLaunch, 'logFile' | 'locationFile' | 'onSpawn'>;
}

/** The signal that stopped the sweep, if one did; every outcome is appended to the sweep record as it comes. */
export async function runTrials(pool: TrialPool): Promise<NodeJS.Signals | undefined> {
  const { todo, counts, record } = pool;
  const progress = sweepProgress();
  const kills = new Set<(s: NodeJS.Signals) => void>();
  let stopping: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = signal;
    progress.update(counts, `${signal}: no new trials; stopping the running ones (they record what they have)`);
    // Trials run in their own process groups, so each gets exactly this one signal (a second would make it quit unsaved).
    for (const kill of kills) kill(signal);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  progress.update(counts, 'started');
  try {
    let next = 0;
    const worker = async () => {
      while (!stopping && next < todo.length) {
        const trial = todo[next++];
        const resumeDir = pool.resumeDirs.get(trial.id);
        counts.running += 1;
        progress.update(counts, `trial ${trial.index} ${resumeDir ? 'resumed' : 'started'}: ${describeTrial(trial)}`);
        let kill: ((s: NodeJS.Signals) => void) | undefined;
        const launch = {
          ...pool.launch,
          logFile: record.logPath(trial.id),
          locationFile: record.runLocationPath(trial.id),
          onSpawn: (k: (s: NodeJS.Signals) => void) => kills.add((kill = k)),
        };
        const outcome = await runTrial(trial, launch, resumeDir);
        if (kill) kills.delete(kill);
        record.appendOutcome(outcome);
        counts.running -= 1;
        if (outcome.status === 'FINISHED') counts.done += 1;
        else if (outcome.status === 'KILLED') counts.stopped += 1;
        else counts.failed += 1;
        progress.update(
          counts,
          `trial ${trial.index} ${outcome.status.toLowerCase()}${outcome.status === 'FINISHED' ? '' : ` (log: ${record.logPath(trial.id)})`}`,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(pool.parallel, todo.length)) }, worker));
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  return stopping;
}
