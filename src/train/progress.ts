import cliProgress from 'cli-progress';

export interface ProgressReporter {
  startEpoch(epoch: number, epochs: number, steps: number): void;
  update(step: number, values: { loss: number; examplesPerSecond: number }): void;
  endEpoch(epoch: number, metrics: Record<string, number>): void;
}

/** A live bar on a terminal; plain lines at most every `intervalSeconds` when output goes to a file or CI log. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr, intervalSeconds = 15): ProgressReporter {
  return stream.isTTY ? new BarProgress(stream) : new LineProgress(stream, intervalSeconds);
}

/** The one-line epoch summary both reporters end an epoch with. */
export function epochSummary(epoch: number, m: Record<string, number>): string {
  const parts = [
    `epoch ${epoch}`,
    `train loss ${m['train/loss'].toFixed(2)} (recon ${m['train/recon'].toFixed(2)}, kl ${m['train/kl'].toFixed(2)})`,
  ];
  if (m['val/loss'] !== undefined) parts.push(`val loss ${m['val/loss'].toFixed(2)}`);
  parts.push(`${Math.round(m['perf/examples_per_s'])} ex/s`, `${m['perf/epoch_seconds'].toFixed(1)} s`);
  return parts.join(' | ');
}

class BarProgress implements ProgressReporter {
  private bar: cliProgress.SingleBar | undefined;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  startEpoch(epoch: number, epochs: number, steps: number): void {
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} batches | loss {loss} | {rate} ex/s | eta {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(steps, 0, { loss: '...', rate: '...' });
  }

  update(step: number, values: { loss: number; examplesPerSecond: number }): void {
    this.bar?.update(step, { loss: Number.isNaN(values.loss) ? '-' : values.loss.toFixed(2), rate: Math.round(values.examplesPerSecond) });
  }

  endEpoch(epoch: number, metrics: Record<string, number>): void {
    this.bar?.stop();
    this.stream.write(epochSummary(epoch, metrics) + '\n');
  }
}

class LineProgress implements ProgressReporter {
  private lastPrint = 0;
  private label = '';
  private steps = 0;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly intervalSeconds: number,
  ) {}

  startEpoch(epoch: number, epochs: number, steps: number): void {
    this.label = `epoch ${epoch}/${epochs}`;
    this.steps = steps;
    this.lastPrint = performance.now();
  }

  update(step: number, values: { loss: number; examplesPerSecond: number }): void {
    if (performance.now() - this.lastPrint < this.intervalSeconds * 1000 || step === this.steps) return;
    this.lastPrint = performance.now();
    this.stream.write(
      `${this.label} batch ${step}/${this.steps} | loss ${values.loss.toFixed(2)} | ${Math.round(values.examplesPerSecond)} ex/s\n`,
    );
  }

  endEpoch(epoch: number, metrics: Record<string, number>): void {
    this.stream.write(epochSummary(epoch, metrics) + '\n');
  }
}
