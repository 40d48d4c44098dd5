// The signals `vae sweep --trial-index` gets while its one trial runs (Slurm cancelling the task, Kubernetes stopping
// the pod, a kill from a shell): the trial hears each once and records what it has, and this process waits for it.
/**
 * While one trial runs, a signal waits for it to record what it has (KILLED, with its checkpoint) instead of ending this
 * process at once: a Slurm job ends when its first process does, and its other processes are then lost.
 */
export function passSignalsToTrial(say: (line: string) => void) {
  // Slurm signals every process of a job it cancels, the trial's `vae run` too, which a second signal would make quit
  // unsaved. Elsewhere (Kubernetes stops a pod through its first process; a kill from a shell) it hears only from here.
  const trialHearsItself = process.env.SLURM_JOB_ID !== undefined;
  let stopping: NodeJS.Signals | undefined;
  let kill: ((signal: NodeJS.Signals) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = signal;
    say(`${signal}: waiting for the trial to record what it has`);
    if (!trialHearsItself) kill?.(signal);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return {
    onSpawn: (k: (signal: NodeJS.Signals) => void) => {
      kill = k;
      // A trial started after the signal was not there to hear it.
      if (stopping) k(stopping);
    },
    received: () => stopping,
    stop: () => void process.off('SIGINT', onSignal).off('SIGTERM', onSignal),
  };
}
