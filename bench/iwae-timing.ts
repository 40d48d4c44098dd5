// The time and value of the importance-weighted bound on the test set, as `vae eval` and a run's test metrics
// compute it (testMetrics' seed, binarization and eval.iwae_memory_mb), and where a chunk's time goes.
//
//   npx tsx bench/iwae-timing.ts [--run runs/vae-mnist/<id>] [--spec experiments/vae-mnist.yaml] [--k 50]
//                                [--repeats 1] [--memory-mb 256,64] [--profile 5] [--top 15]
//
// With --run, the run's trained model and spec; otherwise the spec's model as initialised (the time is the same,
// the value is not a trained model's). Prints, per repeat, the seconds of importanceWeightedNll (wall and the
// process's CPU), its value to six decimals and the 1-minute load. --memory-mb times several eval.iwae_memory_mb
// caps in turn within each repeat (each cap draws its own noise, so its value differs). --profile N instead runs
// the bound through a session that records TensorFlow's step stats (a copy of the same graph, made through the C
// API, whose tensors cross as copies, so its whole time says less) and prints, over N chunks after the first, the
// span, kernel time per op type and the slowest nodes.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { imageShape } from '../src/data/images.ts';
import { importanceWeightedNll } from '../src/eval/iwae.ts';
import { graphVaeForward, type VaeForward } from '../src/eval/vae-forward.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { loadTrainedRun } from '../src/model/trained-run.ts';
import { buildVae } from '../src/model/vae.ts';
import { loadProfiledSession, type ProfiledSession } from '../src/tfjs-bridge/profiled-session.ts';
import { printKernelReport } from './kernel-report.ts';

const { values: args } = parseArgs({
  options: {
    run: { type: 'string' },
    spec: { type: 'string', default: 'experiments/vae-mnist.yaml' },
    k: { type: 'string', default: '50' },
    repeats: { type: 'string', default: '1' },
    'memory-mb': { type: 'string' },
    profile: { type: 'string' },
    top: { type: 'string', default: '15' },
  },
});
await selectBackend('tensorflow');
const { spec, vae } = args.run
  ? await loadTrainedRun(args.run, { runsDir: 'runs' })
  : await (async () => {
      const spec = loadSpec(args.spec!).spec;
      return { spec, vae: buildVae(spec, imageShape(loadDataset(spec.data, '.').train)) };
    })();
const test = loadDataset(spec.data, '.').test;
const options = {
  samples: Number(args.k),
  binarize: spec.data.binarize,
  seed: `${spec.seed}:iwae`,
  memoryBytes: spec.eval.iwae_memory_mb * 2 ** 20,
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

if (args.profile) {
  const chunks = Number(args.profile);
  let session: ProfiledSession | undefined;
  const forward = graphVaeForward(vae, (graphDef) => (session = loadProfiledSession(graphDef)));
  // Trace `chunks` runs after one of warm-up, then stop: the bound goes on untraced.
  let calls = 0;
  const traced: VaeForward = {
    terms: (x, eps) => forward.terms(x, eps),
    posterior: (x) => forward.posterior(x),
    logImportanceWeights: (x, eps, c) => {
      session!.tracing = calls++ > 0 && session!.traces.length < chunks;
      return forward.logImportanceWeights(x, eps, c);
    },
  };
  await importanceWeightedNll(vae, test, { ...options, forward: traced });
  printKernelReport(session!.traces, { unit: 'chunk', headline: `load ${load()}`, top: Number(args.top), decimals: 2 });
} else {
  // Several memory caps take turns within each repeat, so they share the machine's load.
  const caps = args['memory-mb']?.split(',').map(Number) ?? [spec.eval.iwae_memory_mb];
  for (let i = 0; i < Number(args.repeats) * caps.length; i++) {
    const memoryMb = caps[i % caps.length];
    const before = load();
    const [start, cpu] = [performance.now(), process.cpuUsage()];
    const value = await importanceWeightedNll(vae, test, { ...options, memoryBytes: memoryMb * 2 ** 20 });
    const seconds = (performance.now() - start) / 1000;
    const { user, system } = process.cpuUsage(cpu);
    console.log(
      `iwae k=${options.samples} on ${test.count} images, ${memoryMb} MB chunks: ${seconds.toFixed(3)} s (CPU ${((user + system) / 1e6).toFixed(2)} s), ` +
        `${value.toFixed(6)} nats (load ${before})`,
    );
  }
}
