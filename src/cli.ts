import { Command, InvalidArgumentError, Option } from 'commander';
import { join } from 'node:path';
import { BACKENDS, selectBackend, type BackendName } from './backend.ts';
import { IdxError } from './data/idx.ts';
import { ModelConfigError } from './model/vae.ts';
import { createRunDir, runExperiment, VAE_LAB_VERSION } from './runner.ts';
import { formatFields } from './spec/fields.ts';
import { loadSpec, type LoadedSpec } from './spec/load.ts';
import { SpecError } from './spec/problems.ts';
import { LocalRunRecord } from './tracking/local.ts';
import { TrackerFanout } from './tracking/tracker.ts';
import { progressReporter } from './train/progress.ts';

/** Exit codes: 2 for input the user must fix (spec, data files), 1 for anything else that failed. */
const EXIT_BAD_INPUT = 2;

const say = (line: string) => process.stderr.write(`${line}\n`);

const program = new Command('vae')
  .description('Declarative Variational Autoencoder experiments: YAML spec in, trained model, metrics and pictures out.')
  .version(VAE_LAB_VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', '\nExamples:\n  npx vae run experiments/vae-mnist.yaml\n  npx vae run experiments/vae-mnist.yaml model.latent_dim=2 train.epochs=3\n  npx vae validate experiments/*.yaml\n  npx vae fields');

const specHelp = `
Overrides are Hydra-style dotted.path=value pairs, read as YAML and validated like the file:
  model.latent_dim=2  train.epochs=3  model.encoder.hidden=[512,256]  loss.reconstruction=mse

Spec fields (see also: npx vae fields):
${formatFields()}`;

program
  .command('run')
  .description('Train, evaluate on the test set and record a run in runs/<experiment>/<run-id>/.')
  .argument('<spec>', 'experiment spec (YAML)')
  .argument('[overrides...]', 'dotted.path=value overrides, e.g. train.epochs=1')
  .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(['auto', ...BACKENDS]).default('auto'))
  .option('--runs-dir <dir>', 'where run records go', 'runs')
  .addHelpText('after', specHelp)
  .action(async (file: string, overrides: string[], options: { backend: BackendName | 'auto'; runsDir: string }) => {
    const loaded = loadSpec(file, overrides);
    await runCommand(loaded, options);
  });

program
  .command('validate')
  .description('Check specs against the schema without training; prints every problem with its place.')
  .argument('<specs...>', 'experiment specs (YAML); overrides after a spec apply to every spec')
  .addHelpText('after', specHelp)
  .action((args: string[]) => {
    const files = args.filter((a) => !a.includes('='));
    const overrides = args.filter((a) => a.includes('='));
    if (files.length === 0) throw new InvalidArgumentError('name at least one spec file');
    const problems: SpecError[] = [];
    for (const file of files) {
      try {
        loadSpec(file, overrides);
        console.log(`${file}: ok`);
      } catch (e) {
        if (!(e instanceof SpecError)) throw e;
        problems.push(e);
      }
    }
    if (problems.length > 0) throw new SpecError(problems.flatMap((p) => p.problems));
  });

program
  .command('fields')
  .description('List every spec field with its default, what it takes and what it does.')
  .action(() => console.log(formatFields()));

async function runCommand(loaded: LoadedSpec, options: { backend: BackendName | 'auto'; runsDir: string }): Promise<void> {
  const backend = await selectBackend(options.backend);
  const { runId, runDir } = createRunDir(options.runsDir, loaded.spec.tracking.experiment);
  const record = new LocalRunRecord(runDir, runId);
  const tracker = new TrackerFanout([record]);

  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal) process.exit(s === 'SIGINT' ? 130 : 143);
    signal = s;
    say(`${s}: finishing the current step and saving what there is (again to quit at once)`);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

  say(`run ${runId} -> ${runDir}`);
  try {
    const outcome = await runExperiment(loaded, { runDir, runId, backend, tracker, progress: progressReporter(), say, shouldStop: () => signal !== undefined });
    await tracker.end(outcome.status, Date.now());
    say(`${outcome.status.toLowerCase()}: ${join(runDir, 'summary.json')}`);
    if (signal) process.exitCode = signal === 'SIGINT' ? 130 : 143;
  } catch (e) {
    await tracker.setTags({ 'vae.error': String((e as Error).message).slice(0, 5000) });
    await tracker.end('FAILED', Date.now());
    throw e;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

try {
  await program.parseAsync();
} catch (e) {
  if (e instanceof SpecError || e instanceof IdxError || e instanceof ModelConfigError || e instanceof InvalidArgumentError) {
    say(e.message);
    process.exitCode = EXIT_BAD_INPUT;
  } else {
    say(`error: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  }
}
