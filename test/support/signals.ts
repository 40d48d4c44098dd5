// Signals sent to a `vae run` child at a point in its training, not after a delay: a delay that lands mid-epoch on
// one machine lands after the run's end on a faster one.
import type { MetricPoint } from '../../src/record/entries.ts';
import { RunRecord } from '../../src/record/run-record.ts';
import { onlyRunDir } from './run-record.ts';

export type StderrWatcher = (text: string, kill: (s: NodeJS.Signals) => void) => void;

/**
 * Sends `signal` as soon as the run under `runsDir` has logged a running loss past `step`: a point inside an epoch
 * however fast the machine trains. Call stop() once the run has ended.
 */
export function signalPastStep(runsDir: string, step: number, signal: NodeJS.Signals): { onStderr: StderrWatcher; stop: () => void } {
  let watching: NodeJS.Timeout | undefined;
  const onStderr: StderrWatcher = (_text, kill) => {
    watching ??= setInterval(() => {
      let points: MetricPoint[];
      try {
        points = new RunRecord(onlyRunDir(runsDir)).readMetrics();
      } catch {
        return; // no record yet, or a line caught half-written: look again at the next tick
      }
      if (points.some((p) => p.key === 'train/running_loss' && p.step > step)) {
        clearInterval(watching);
        kill(signal);
      }
    }, 20);
  };
  return { onStderr, stop: () => clearInterval(watching) };
}
