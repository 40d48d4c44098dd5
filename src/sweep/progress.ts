import cliProgress from 'cli-progress';

export interface SweepCounts {
  total: number;
  done: number;
  running: number;
  failed: number;
  /** Stopped by a signal (KILLED), each with what it had saved: the sweep run again resumes them. */
  stopped: number;
}

export interface SweepProgress {
  update(counts: SweepCounts, event?: string): void;
  stop(): void;
}

/** A live bar on a terminal; otherwise one line per change (a trial started or ended), for logs and CI. */
export function sweepProgress(stream: NodeJS.WriteStream = process.stderr): SweepProgress {
  if (!stream.isTTY) {
    return {
      update: (c, event) =>
        event &&
        stream.write(
          `${event} | ${c.done}/${c.total} done, ${c.running} running, ${c.failed} failed${c.stopped ? `, ${c.stopped} stopped` : ''}\n`,
        ),
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'trials [{bar}] {value}/{total} done | {running} running | {failed} failed | {stopped} stopped | {event}',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (c, event) => {
      if (!started) bar.start(c.total, c.done, { running: c.running, failed: c.failed, stopped: c.stopped, event: event ?? '' });
      else bar.update(c.done, { running: c.running, failed: c.failed, stopped: c.stopped, ...(event ? { event } : {}) });
      started = true;
    },
    stop: () => started && bar.stop(),
  };
}
