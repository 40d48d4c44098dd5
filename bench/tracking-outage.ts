// npx tsx bench/tracking-outage.ts [--epochs 4] [--rounds 2]
//
// Training speed while the tracking server is away, against a healthy one. Real `vae run`s of
// experiments/vae-mnist.yaml (all of MNIST, 48,000 training images an epoch) log to a throwaway MLflow server, and
// once epoch 1 has ended (as in issue #15's measurement):
//   healthy  the server stays up;
//   killed   the server is stopped (connections refused; the client retries with backoff);
//   hung     a proxy in front of it takes every request and never answers.
// The speed of an epoch is its perf/examples_per_s from the run's local record; a run's speed is the mean over
// epochs 2 and later. The conditions run interleaved, `--rounds` times, and the fastest round of each counts (other
// work on the machine only ever slows a round down). Each line carries the 1-minute load average at its end.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RunRecord } from '../src/record/run-record.ts';
import { vae } from '../test/support/cli.ts';
import { startTestMlflow, type TestMlflow } from '../test/support/mlflow-server.ts';
import { onlyRunDir } from '../test/support/run-record.ts';
import { startSwallowingProxy } from '../test/support/swallowing-proxy.ts';

const { values: flags } = parseArgs({ options: { epochs: { type: 'string', default: '4' }, rounds: { type: 'string', default: '2' } } });
const epochs = Number(flags.epochs);
const rounds = Number(flags.rounds);
type Condition = 'healthy' | 'killed' | 'hung';
const CONDITIONS: Condition[] = ['healthy', 'killed', 'hung'];

interface Measured {
  /** Mean examples/s over epochs 2 and later. */
  examplesPerSecond: number;
  perEpoch: number[];
  runSeconds: number;
  load: number;
}

/** One `vae run`; `onEpochOne` is called when epoch 1's line appears. */
async function timedRun(trackingUri: string, onEpochOne: () => Promise<void> | void): Promise<Measured> {
  const runsDir = mkdtempSync(join(tmpdir(), 'vae-bench-outage-'));
  try {
    let outage: Promise<void> | null = null;
    const started = Date.now();
    const result = await vae(['run', 'experiments/vae-mnist.yaml', `train.epochs=${epochs}`, '--runs-dir', runsDir], {
      env: { MLFLOW_TRACKING_URI: trackingUri },
      onStderr: (text) => {
        if (!outage && /^epoch 1 \|/m.test(text)) outage = Promise.resolve(onEpochOne());
      },
    });
    const runSeconds = (Date.now() - started) / 1000;
    await outage;
    if (result.code !== 0) throw new Error(`vae run failed (${result.code}):\n${result.stderr}`);
    const perEpoch = new RunRecord(onlyRunDir(runsDir))
      .readMetrics()
      .filter((p) => p.key === 'perf/examples_per_s')
      .sort((a, b) => a.step - b.step)
      .map((p) => p.value);
    const later = perEpoch.slice(1);
    return { examplesPerSecond: later.reduce((a, b) => a + b, 0) / later.length, perEpoch, runSeconds, load: loadavg()[0] };
  } finally {
    rmSync(runsDir, { recursive: true, force: true });
  }
}

async function measure(condition: Condition, server: TestMlflow): Promise<Measured> {
  if (condition === 'healthy') return timedRun(server.url, () => {});
  if (condition === 'killed') {
    try {
      return await timedRun(server.url, () => server.stop());
    } finally {
      await server.start();
    }
  }
  const proxy = await startSwallowingProxy(server.url);
  try {
    return await timedRun(proxy.url, () => proxy.swallow());
  } finally {
    await proxy.close();
  }
}

const server = await startTestMlflow();
const best = new Map<Condition, Measured>();
try {
  for (let round = 1; round <= rounds; round++) {
    for (const condition of CONDITIONS) {
      const m = await measure(condition, server);
      const epochsLine = m.perEpoch.map((v) => v.toFixed(0)).join(' / ');
      console.log(
        `round ${round} ${condition.padEnd(7)} ${m.examplesPerSecond.toFixed(0)} examples/s after epoch 1 (epochs ${epochsLine}); run ${m.runSeconds.toFixed(1)} s; load ${m.load.toFixed(2)}`,
      );
      if (!best.has(condition) || m.examplesPerSecond > best.get(condition)!.examplesPerSecond) best.set(condition, m);
    }
  }
} finally {
  await server.dispose();
}
const normal = best.get('healthy')!.examplesPerSecond;
for (const condition of CONDITIONS) {
  const m = best.get(condition)!;
  console.log(
    `${condition.padEnd(7)} best ${m.examplesPerSecond.toFixed(0)} examples/s = ${(m.examplesPerSecond / normal).toFixed(3)} of healthy`,
  );
}
