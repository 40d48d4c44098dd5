// Signals sent to a `vae run` child at a point in its training, not after a delay: a delay that lands mid-epoch on
// one machine lands after the run's end on a faster one.
import { RunRecord } from '../../src/record/run-record.ts';
import { onlyRunDir } from './run-record.ts';

export type StderrWatcher = (text: string, kill: (s: NodeJS.Signals) => void) => void;

/**
 * Sends `signal` as soon as `reached` holds for the one run folder under `runsDir`, checked every 20 ms from the
 * run's first line on stderr. `reached` may throw while the record is not there yet or caught half-written: it is
 * asked again at the next tick. Call stop() once the run has ended.
 */
export function signalWhen(
  runsDir: string,
  reached: (runDir: string) => boolean,
  signal: NodeJS.Signals,
): { onStderr: StderrWatcher; stop: () => void } {
  let watching: NodeJS.Timeout | undefined;
  const onStderr: StderrWatcher = (_text, kill) => {
    watching ??= setInterval(() => {
      try {
        if (!reached(onlyRunDir(runsDir))) return;
      } catch {
        return;
      }
      clearInterval(watching);
      kill(signal);
    }, 20);
  };
  return { onStderr, stop: () => clearInterval(watching) };
}

/** Sends `signal` once the run has logged a running loss past `step`: a point inside an epoch however fast the machine trains. */
export function signalPastStep(runsDir: string, step: number, signal: NodeJS.Signals): { onStderr: StderrWatcher; stop: () => void } {
  const past = (runDir: string) => new RunRecord(runDir).readMetrics().some((p) => p.key === 'train/running_loss' && p.step > step);
  return signalWhen(runsDir, past, signal);
}
