// The `vae` command: argument parsing only. Commands load their modules when they run, so `vae validate` and
// `--help` answer without loading TensorFlow.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { formatFields } from './experiment-spec/fields.ts';
import { loadSpec } from './experiment-spec/load.ts';
import { SpecError } from './experiment-spec/problems.ts';
import { BACKENDS } from './backend-names.ts';
import { EXIT_FAILURE, EXIT_USER_ERROR, RuntimeFailure, UsageError, UserError } from './errors.ts';
import { say } from './commands/say.ts';
import { DEFAULT_IMAGE, imageReferenceProblem } from './sweep/image-reference.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const backendOption = () => new Option('--backend <name>', 'TensorFlow.js backend').choices(['auto', ...BACKENDS]).default('auto');

const program = new Command('vae')
  .description('Declarative Variational Autoencoder experiments: YAML spec in, trained model, metrics and pictures out.')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  // Usage errors throw instead of exiting, so they get the bad-input exit code below; subcommands inherit this.
  .exitOverride()
  .addHelpText(
    'after',
    `
Examples:
  npx vae run experiments/vae-mnist.yaml
  npx vae run experiments/vae-mnist.yaml model.latent_dim=2 train.epochs=3
  npx vae validate experiments/*.yaml
  npx vae fields
  npx vae ui`,
  );

const specHelp = `
Overrides are Hydra-style dotted.path=value pairs, read as YAML and validated like the file:
  model.latent_dim=2  train.epochs=3  model.encoder.hidden=[512,256]  loss.reconstruction=mse

Spec fields (also: npx vae fields):
${formatFields()}`;

program
  .command('run')
  .description('Train, evaluate on the test set and record the run in runs/<experiment>/<run-id>/ and MLflow.')
  .argument('[spec]', 'experiment spec (YAML); not with --resume')
  .argument('[overrides...]', 'dotted.path=value overrides, e.g. train.epochs=1')
  .option('--resume <run-dir>', 'go on with an interrupted run from its last checkpoint (runs/<experiment>/<run-id>)')
  .option('--previous-checkpoint', 'with --resume: go on from the checkpoint saved before the last one, when the last is damaged')
  .addOption(backendOption())
  .option('--runs-dir <dir>', 'where run records go', 'runs')
  .option('--no-mlflow', 'record only under runs/ (upload later with vae sync)')
  .option('--tag <key=value>', 'extra run tag, repeatable (e.g. mlflow.parentRunId=<id> for a child run)', collectTag, {})
  .option('--record-file <file>', 'write {"run_id", "run_dir"} as JSON to this file once the run folder exists (for sweeps and scripts)')
  .addHelpText(
    'after',
    `
MLflow: logs to MLFLOW_TRACKING_URI when set, else to a local server on the store in runs/mlflow (started if needed).
${specHelp}`,
  )
  .action(async (file: string | undefined, overrides: string[], options) => {
    if (options.resume) {
      if (file !== undefined)
        throw new UsageError('--resume takes the run folder only: the run goes on with the resolved spec it recorded');
      const { runCommand, resumePoint } = await import('./commands/run.ts');
      const { runId, checkpoint, specFile } = resumePoint(options.resume, options.previousCheckpoint ? 'previous' : 'latest');
      await runCommand(loadSpec(specFile, [], { ownRunSpec: true }), options, { runDir: options.resume, runId, checkpoint });
      return;
    }
    if (options.previousCheckpoint) throw new UsageError('--previous-checkpoint goes with --resume <run-dir>');
    if (file === undefined) throw new UsageError('vae run: give a spec (or --resume <run-dir>)');
    const loaded = loadSpec(file, overrides);
    const { runCommand } = await import('./commands/run.ts');
    await runCommand(loaded, options);
  });

program
  .command('validate')
  .description('Check specs against the schema without training; prints every problem with its place.')
  .argument('<specs...>', 'experiment specs or sweep files (YAML), then any dotted.path=value overrides to apply to each')
  .addHelpText('after', specHelp)
  .action(async (args: string[]) => {
    const files = args.filter((a) => !a.includes('='));
    const overrides = args.filter((a) => a.includes('='));
    if (files.length === 0) throw new UsageError('vae validate: name at least one spec file before the overrides');
    const { isSweepFile } = await import('./sweep/spec.ts');
    const problems: SpecError[] = [];
    for (const file of files) {
      try {
        if (isSweepFile(file)) {
          // The sweep file, then every trial's spec, as `vae sweep` checks them before it starts any.
          const { prepareSweep } = await import('./sweep/prepare.ts');
          console.log(`${file}: ok (a sweep of ${prepareSweep(file, overrides, { grid: [] }).trials.length} trials)`);
        } else {
          loadSpec(file, overrides);
          console.log(`${file}: ok`);
        }
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

const runRef = 'a run folder (runs/<experiment>/<run-id>), an MLflow run id, or the id of its MLflow logged model (m-...)';
const toolCommand = (name: string, description: string) =>
  program
    .command(name)
    .description(description)
    .argument('<run>', runRef)
    .addOption(backendOption())
    .option('--runs-dir <dir>', 'where run records are', 'runs');
const modelTools = () => import('./commands/model-tools.ts');

toolCommand('eval', 'Recompute the test metrics of a finished run (e.g. the importance-weighted bound with k = 5000).')
  .option('--k <samples>', "importance samples per example (default: the run's eval.iwae_samples)", positiveInt)
  .action(async (ref: string, options) => (await modelTools()).evalCommand(ref, options));

toolCommand('sample', 'Decode z drawn from the prior into a PNG grid.')
  .option('--n <count>', 'how many samples', positiveInt, 64)
  .option('--seed <seed>', 'seed of the prior draws', positiveInt, 0)
  .requiredOption('--out <file.png>', 'where to write the grid')
  .action(async (ref: string, options) => (await modelTools()).sampleCommand(ref, options));

toolCommand('reconstruct', 'Images above their reconstructions, as a PNG grid.')
  .option('--input <file>', "IDX images or one PNG (default: the run's test set)")
  .option('--n <count>', 'how many images', positiveInt, 32)
  .requiredOption('--out <file.png>', 'where to write the grid')
  .action(async (ref: string, options) => (await modelTools()).reconstructCommand(ref, options));

toolCommand('encode', 'Posterior means and log-variances of images, to CSV or NPY ([N, 2, latent]: mu, logvar).')
  .option('--input <file>', "IDX images or one PNG (default: the run's test set)")
  .requiredOption('--out <file>', 'file.csv or file.npy')
  .action(async (ref: string, options) => (await modelTools()).encodeCommand(ref, options));

toolCommand('score', 'Per-example negative ELBO (an anomaly score, in nats) to CSV, with a summary of its distribution.')
  .option('--input <file>', "IDX images or one PNG (default: the run's test set)")
  .option('--samples <count>', 'reparameterised draws averaged per example', positiveInt, 10)
  .option('--seed <seed>', 'seed of the draws', positiveInt, 0)
  .requiredOption('--out <file.csv>', 'where to write the scores')
  .action(async (ref: string, options) => (await modelTools()).scoreCommand(ref, options));

program
  .command('sync')
  .description('Upload local run records to MLflow completely (after a run that could not reach the server); safe to repeat.')
  .argument('<run-dirs...>', 'run records, e.g. runs/vae-mnist/20261125-101500-a1b2c3')
  .action(async (runDirs: string[]) => (await import('./commands/mlflow.ts')).syncCommand(runDirs));

program
  .command('report')
  .description(
    "Obtained vs reference: groups runs into settings (their specs without the seed), compares each setting's mean over seeds with its spec's reference: block, and writes report.md, .csv and .png; exits 1 when a setting does not pass.",
  )
  .argument('<runs...>', 'run, sweep or experiment folders under runs/, or MLflow run ids (a sweep parent: all its children)')
  .option('--out <dir>', 'where to write the report (default: <runs-dir>/reports/<time>)')
  .option('--runs-dir <dir>', 'the runs folder', 'runs')
  .option('--no-mlflow', "do not log the report to the sweeps' parent runs")
  .addHelpText(
    'after',
    `
Examples:
  npx vae report runs/vae-mnist/sweeps/<sweep-id>     # a sweep's trials; the report is also logged to its parent run
  npx vae report runs/vae-mnist                       # every run of an experiment
  MLFLOW_TRACKING_URI=http://host:5000 npx vae report <parent-run-id>`,
  )
  .action(async (runs: string[], options: { out?: string; runsDir: string; mlflow: boolean }) =>
    (await import('./commands/report.ts')).reportCommand(runs, options),
  );

program
  .command('ui')
  .description(
    'Open the MLflow UI on the local store <runs-dir>/mlflow (starts the server if needed; port 5000, or VAE_MLFLOW_PORT) and print the URL of each experiment.',
  )
  .option('--stop', 'stop every MLflow server on that store instead')
  .option('--runs-dir <dir>', 'the runs folder whose store to serve', 'runs')
  .action(async (options: { stop?: boolean; runsDir: string }) =>
    (await import('./commands/mlflow.ts')).uiCommand({ stop: Boolean(options.stop), runsDir: options.runsDir }),
  );

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number >= 0 (got '${text}')`);
  return n;
}

// --- vae sweep (issue 5): sweeps, one trial of one (array jobs), their plan, their summary ---
const sweepHelp = `
A sweep is a sweep file (experiments/sweep-latent.yaml: base, grid, random, seeds, metric; see schemas/sweep.schema.json)
or an experiment file with --grid/--seeds; a sweep file's base may be a list of specs, each crossed with the rest
(experiments/sweep-burda-table.yaml). Overrides apply to every trial. Every trial's spec is validated before any
starts. Running the same sweep again skips trials that finished and reruns the others.

Examples:
  npx vae sweep experiments/sweep-latent.yaml
  npx vae sweep experiments/vae-mnist.yaml --grid model.latent_dim=2,5,10,20,50 --seeds 1,2,3 train.epochs=3
  npx vae sweep plan experiments/sweep-latent.yaml       # trial list, Slurm array script, Kubernetes Indexed Job
  npx vae sweep experiments/sweep-latent.yaml --trial-index 4   # one trial (default from SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX)
  npx vae sweep summarize experiments/sweep-latent.yaml  # the summary from MLflow's child runs`;

const withSweepOptions = (command: Command) =>
  command
    .argument('<spec>', 'sweep file, or an experiment file with --grid/--seeds')
    .argument('[overrides...]', 'dotted.path=value overrides for every trial')
    .option(
      '--grid <path=v1,v2,...>',
      'sweep a field over these values (repeatable; each value read as YAML)',
      (text: string, all: string[]) => [...all, text],
      [],
    )
    .option('--seeds <n1,n2,...>', 'run every setting once per seed')
    .option('--parallel <n>', "trials at once (default: the sweep's parallel, else one per core)", positiveInt)
    .option('--runs-dir <dir>', 'where run and sweep records go', 'runs')
    .option('--no-mlflow', 'record only under runs/ (no parent run)');
const sweepCommands = () => import('./commands/sweep.ts');

// `vae sweep <spec>` runs the default subcommand; options live on the subcommands so each parses its own.
const sweep = program
  .command('sweep')
  .description('Sweeps: many `vae run` trials as child runs of one MLflow parent run, which gets the summary table and plot.')
  .addHelpText('after', sweepHelp);

withSweepOptions(sweep.command('run', { isDefault: true }))
  .description("Run the sweep's trials (skipping finished ones), then write the summary (the default: vae sweep <spec>).")
  .option('--trial-index <i>', "run only trial i and attach it to the sweep's parent run (array jobs)", positiveInt)
  .addOption(new Option('--backend <name>', 'TensorFlow.js backend of the trials').choices(['auto', ...BACKENDS]))
  .addHelpText('after', sweepHelp)
  .action(async (file: string, overrides: string[], options) => (await sweepCommands()).sweepCommand(file, overrides, options));

withSweepOptions(sweep.command('plan'))
  .description('Print the trial list and write a Slurm job-array script and a Kubernetes Indexed Job into the sweep record.')
  .option('--image <ref>', "the Kubernetes Job's container image (the Dockerfile, built and pushed)", imageReference, DEFAULT_IMAGE)
  .action(async (file: string, overrides: string[], options) => (await sweepCommands()).planCommand(file, overrides, options));

withSweepOptions(sweep.command('summarize'))
  .description("Build the summary (table, plot, best setting) from the parent run's children in MLflow, e.g. after an array job.")
  .action(async (file: string, overrides: string[], options) => (await sweepCommands()).summarizeCommand(file, overrides, options));
// --- end vae sweep ---

function isSystemError(error: Error): boolean {
  const { code, syscall } = error as NodeJS.ErrnoException;
  return typeof code === 'string' && typeof syscall === 'string';
}

function imageReference(text: string): string {
  const problem = imageReferenceProblem(text);
  if (problem) throw new InvalidArgumentError(problem);
  return text;
}

function collectTag(text: string, tags: Record<string, string>): Record<string, string> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--tag takes key=value (got '${text}')`);
  return { ...tags, [text.slice(0, eq)]: text.slice(eq + 1) };
}

try {
  await program.parseAsync();
} catch (e) {
  const error = e as Error;
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USER_ERROR;
  } else if (error instanceof UserError) {
    say(error.message);
    process.exitCode = EXIT_USER_ERROR;
  } else if (error instanceof RuntimeFailure) {
    say(error.message);
    process.exitCode = EXIT_FAILURE;
  } else if (isSystemError(error)) {
    // The disk filled up or went read-only mid-run (ENOSPC, EROFS, EIO): the message says it all, a stack would not help.
    say(`error: ${error.message.split('\n')[0]}`);
    process.exitCode = EXIT_FAILURE;
  } else {
    say(`error: ${error.stack ?? error}`);
    process.exitCode = EXIT_FAILURE;
  }
}
