// A run's MLflow requests, sent in the background and in order, so a slow, restarting or silent tracking server never
// holds up training. MLflow's Python client does the same with MLFLOW_ENABLE_ASYNC_LOGGING: one worker, metric points
// merged into batches, flushed when the run ends. The local record is written before anything is queued here, so
// whatever this queue never sends, `vae sync` uploads from there.
import { LOG_BATCH_LIMITS } from './mlflow-log-batch.ts';
import type { Metric } from './mlflow-records.ts';

type Job = { points: Metric[] } | { send: () => Promise<void> };

export interface LoggingQueueOptions {
  /** Sends up to LOG_BATCH_LIMITS.metrics points, gathered from consecutive addMetrics calls. */
  sendMetrics: (points: Metric[]) => Promise<void>;
  /** Said once, when the queue stops sending: why. */
  onStop: (reason: string) => void;
  /** How many jobs may wait; one more means the server has been away too long, and the queue stops. */
  capacity?: number;
}

/** Enough for hours of per-step points; each job is a few small objects, files are read only when sent. */
const QUEUE_CAPACITY = 10_000;

export class LoggingQueue {
  private readonly jobs: Job[] = [];
  private readonly abort = new AbortController();
  private readonly capacity: number;
  /** The worker, while it has jobs. */
  private working: Promise<void> | null = null;

  constructor(private readonly options: LoggingQueueOptions) {
    this.capacity = options.capacity ?? QUEUE_CAPACITY;
  }

  /** Aborts when the queue stops: give it to the client that sends, so a request in flight is dropped too. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  add(send: () => Promise<void>): void {
    this.push({ send });
  }

  addMetrics(points: Metric[]): void {
    if (points.length > 0) this.push({ points });
  }

  /** Waits until every job was sent, but at most `ms`; past that the queue stops with what is left unsent. */
  async drain(ms: number): Promise<void> {
    if (!this.working || this.stopped) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((done) => (timer = setTimeout(() => done(false), ms)));
    const drained = await Promise.race([this.working.then(() => true), timeout]);
    clearTimeout(timer);
    if (!drained) this.stop(`${this.jobs.length + 1} logging calls were still queued ${ms / 1000} s after the run ended`);
  }

  /** Drops every job and the request in flight; later jobs are ignored. */
  stop(reason: string): void {
    if (this.stopped) return;
    this.jobs.length = 0;
    this.abort.abort();
    this.options.onStop(reason);
  }

  private push(job: Job): void {
    if (this.stopped) return;
    if (this.jobs.length >= this.capacity) return this.stop(`${this.capacity} logging calls were waiting for the server`);
    this.jobs.push(job);
    this.working ??= this.work();
  }

  private async work(): Promise<void> {
    while (this.jobs.length > 0 && !this.stopped) {
      const job = this.jobs.shift()!;
      try {
        await ('send' in job ? job.send() : this.options.sendMetrics(this.withFollowingPoints(job.points)));
      } catch (err) {
        this.stop(err instanceof Error ? err.message : String(err));
      }
    }
    this.working = null;
  }

  /** `points` and those of the metric jobs right behind it, up to one request's worth. */
  private withFollowingPoints(points: Metric[]): Metric[] {
    const batch = [...points];
    for (let next = this.jobs[0]; next && 'points' in next; next = this.jobs[0]) {
      if (batch.length + next.points.length > LOG_BATCH_LIMITS.metrics) break;
      batch.push(...next.points);
      this.jobs.shift();
    }
    return batch;
  }
}
