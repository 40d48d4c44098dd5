import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SpecError } from '../src/experiment-spec/problems.ts';
import { expandTrials, formatOverride, readBases, sweepId } from '../src/sweep/expand.ts';
import { loadSweepFile, sweepFromCommandLine } from '../src/sweep/spec.ts';
import type { Sweep } from '../src/sweep/sweep.generated.ts';
import { validateTrials } from '../src/sweep/validate-trials.ts';

const BAD = 'test/fixtures/bad-sweeps';

function trialsOf(sweep: Sweep) {
  return expandTrials(sweep, sweepId(sweep, readFileSync(sweep.base as string, 'utf8')));
}

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (e) {
    if (e instanceof SpecError) return e.message.split('\n');
    throw e;
  }
  assert.fail('expected a SpecError');
}

describe('sweep specs', () => {
  it('experiments/sweep-latent.yaml: latent_dim 2..50 x seeds 1..3 on the reference spec, every trial valid', () => {
    const sweep = loadSweepFile('experiments/sweep-latent.yaml');
    assert.equal(sweep.base, 'experiments/vae-mnist.yaml');
    assert.deepEqual(sweep.metric, { name: 'test/neg_elbo', direction: 'minimize' });
    const trials = trialsOf(sweep);
    assert.equal(trials.length, 15);
    assert.deepEqual(
      trials.slice(0, 4).map((t) => t.overrides),
      [
        ['model.latent_dim=2', 'seed=1'],
        ['model.latent_dim=2', 'seed=2'],
        ['model.latent_dim=2', 'seed=3'],
        ['model.latent_dim=5', 'seed=1'],
      ],
    );
    assert.deepEqual(
      trials.map((t) => t.index),
      [...trials.keys()],
    );
    assert.equal(new Set(trials.map((t) => t.id)).size, 15);
    assert.equal(new Set(trials.map((t) => t.setting)).size, 5);
    const specs = validateTrials(sweep, trials);
    assert.deepEqual([specs[3].spec.model.latent_dim, specs[3].spec.seed], [5, 1]);
  });

  it('trial ids depend on the sweep and the overrides, not on their order', () => {
    const sweep = loadSweepFile('experiments/sweep-latent.yaml');
    const [a, b] = [trialsOf(sweep), trialsOf(loadSweepFile('experiments/sweep-latent.yaml'))];
    assert.deepEqual(a, b);
    const reordered = expandTrials(
      { ...sweep, grid: { 'model.latent_dim': [50, 20, 10, 5, 2] } },
      sweepId(sweep, readFileSync(sweep.base as string, 'utf8')),
    );
    assert.equal(reordered.find((t) => t.setting === 'model.latent_dim=2' && t.overrides.includes('seed=1'))?.id, a[0].id);
  });

  it('random search with a fixed seed draws the same settings every time; another seed draws others', () => {
    const sweep: Sweep = {
      ...loadSweepFile('experiments/sweep-latent.yaml'),
      grid: { 'model.encoder.activation': ['relu', 'tanh'] },
      seeds: [],
      random: {
        trials: 3,
        params: {
          'loss.kl_weight': { uniform: [0.5, 2] },
          'train.optimizer.learning_rate': { log_uniform: [0.0001, 0.01] },
          'model.latent_dim': { int_range: [2, 8] },
          'loss.reconstruction': { choice: ['bce', 'mse'] },
        },
      },
    };
    const first = trialsOf(sweep);
    assert.equal(first.length, 6);
    assert.deepEqual(trialsOf(sweep), first);
    assert.notDeepEqual(
      trialsOf({ ...sweep, seed: 7 }).map((t) => t.overrides),
      first.map((t) => t.overrides),
    );
    for (const t of first) {
      const value = (key: string) => Number(t.overrides.find((o) => o.startsWith(`${key}=`))!.split('=')[1]);
      assert.ok(value('loss.kl_weight') >= 0.5 && value('loss.kl_weight') <= 2);
      assert.ok(value('train.optimizer.learning_rate') >= 0.0001 && value('train.optimizer.learning_rate') <= 0.01);
      assert.ok(Number.isInteger(value('model.latent_dim')) && value('model.latent_dim') >= 2 && value('model.latent_dim') <= 8);
    }
    validateTrials(sweep, first);
  });

  it('overrides read back as the values they were made from', () => {
    assert.deepEqual(
      ['x=2', 'x=0.001', 'x=mse', 'x="5"', 'x=[400,400]', 'x=true'],
      [2, 0.001, 'mse', '5', [400, 400], true].map((v) => formatOverride('x', v)),
    );
  });

  it('the command-line form: --grid and --seeds around an experiment file', () => {
    const sweep = sweepFromCommandLine(
      'experiments/vae-mnist.yaml',
      'vae-mnist',
      { grid: ['model.latent_dim=2,5', 'model.encoder.hidden=[400],[200, 200]'], seeds: '1,2' },
      ['train.epochs=1'],
    );
    assert.deepEqual(sweep.grid, { 'model.latent_dim': [2, 5], 'model.encoder.hidden': [[400], [200, 200]] });
    assert.equal(trialsOf(sweep).length, 8);
    assert.deepEqual(sweep.overrides, ['train.epochs=1']);
    assert.deepEqual(
      problemsOf(() => sweepFromCommandLine('experiments/vae-mnist.yaml', 'vae-mnist', { grid: ['model.latent_dim'], seeds: '1,x' }, [])),
      ["option '--grid model.latent_dim': must look like dotted.path=value,value,..., e.g. model.latent_dim=2,5,10"],
    );
    assert.deepEqual(
      problemsOf(() =>
        sweepFromCommandLine('experiments/vae-mnist.yaml', 'vae-mnist', { grid: ['model.latent_dim=2'], seeds: '1,-1' }, []),
      ),
      ["option '--seeds 1,-1': must be integer >= 0 and <= 4294967295 (got -1)"],
    );
  });
});

describe('a list of base specs (issue #12: one row per spec)', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  it('experiments/sweep-burda-table.yaml: every spec crossed with the seeds, each trial on its own spec', () => {
    const sweep = loadSweepFile('experiments/sweep-burda-table.yaml');
    const names = [
      'iwae-mnist',
      'iwae-k5-mnist',
      'iwae-2layer-mnist',
      'iwae-k5-2layer-mnist',
      'vamp-mnist',
      'beta-tc-mnist',
      'capacity-mnist',
    ];
    assert.deepEqual(
      sweep.base,
      names.map((n) => `experiments/${n}.yaml`),
    );
    const trials = expandTrials(sweep, sweepId(sweep, readBases(sweep)));
    const perSpec = names.flatMap((n) => [1, 2, 3].map((seed) => [n, seed] as const));
    assert.deepEqual(
      trials.map((t) => [t.index, t.base, t.spec, t.setting, t.overrides.join(' ')]),
      perSpec.map(([n, seed], i) => [i, `experiments/${n}.yaml`, `${n}.yaml`, `spec=${n}.yaml`, `seed=${seed}`]),
    );
    assert.equal(new Set(trials.map((t) => t.id)).size, 21, 'the same seed on two specs is two trials');
    const specs = validateTrials(sweep, trials);
    const objectives: Record<string, string> = {
      'iwae-mnist': 'elbo',
      'iwae-k5-mnist': 'iwae',
      'iwae-2layer-mnist': 'elbo',
      'iwae-k5-2layer-mnist': 'iwae',
      'vamp-mnist': 'elbo',
      'beta-tc-mnist': 'beta_tc',
      'capacity-mnist': 'capacity',
    };
    // Each row's reference: the same row's mean over the seeds in PyTorch (bench/pytorch_table.py).
    const references: Record<string, number> = {
      'iwae-mnist': 94.81,
      'iwae-k5-mnist': 92.89,
      'iwae-2layer-mnist': 105.46,
      'iwae-k5-2layer-mnist': 95.07,
      'vamp-mnist': 100.17,
      'beta-tc-mnist': 121.74,
      'capacity-mnist': 133.09,
    };
    assert.deepEqual(
      specs.map((s) => [s.spec.name, s.spec.loss.objective, s.spec.seed, s.spec.reference?.value, s.spec.tracking.experiment]),
      perSpec.map(([n, seed]) => [n, objectives[n], seed, references[n], 'sweep-burda-table']),
    );
    // The table's budget, the same for every row, and the reference's rule: PyTorch's mean plus max(0.5, its std).
    for (const { spec } of specs) {
      assert.deepEqual([spec.train.epochs, spec.train.batch_size, spec.eval.iwae_samples], [30, 100, 500], spec.name);
      assert.deepEqual([spec.reference?.metric, spec.reference?.passes], ['test/iwae_nll', 'at_most'], spec.name);
      assert.ok(spec.reference!.tolerance >= 0.5, spec.name);
    }
    assert.equal(specs.find((s) => s.spec.name === 'capacity-mnist')?.spec.loss.capacity?.anneal_steps, 5960);
  });

  it('the spec is the first axis, before the grid; settings are per spec and grid point', () => {
    const sweep: Sweep = { ...loadSweepFile('experiments/sweep-burda-table.yaml'), grid: { 'model.latent_dim': [2, 5] }, seeds: [1, 2] };
    const trials = expandTrials(sweep, sweepId(sweep, readBases(sweep)));
    assert.equal(trials.length, 28);
    assert.deepEqual([...new Set(trials.map((t) => t.setting))].slice(0, 4), [
      'spec=iwae-mnist.yaml model.latent_dim=2',
      'spec=iwae-mnist.yaml model.latent_dim=5',
      'spec=iwae-k5-mnist.yaml model.latent_dim=2',
      'spec=iwae-k5-mnist.yaml model.latent_dim=5',
    ]);
    assert.equal(new Set(trials.map((t) => t.setting)).size, 14);
    assert.equal(new Set(trials.map((t) => t.id)).size, 28);
  });

  it('the sweep id hashes every base file, in order', () => {
    const sweep = loadSweepFile('experiments/sweep-burda-table.yaml');
    const texts = readBases(sweep) as string[];
    const id = sweepId(sweep, texts);
    assert.notEqual(sweepId(sweep, [...texts.slice(0, -1), `${texts.at(-1)}\n# changed`]), id);
    assert.notEqual(sweepId({ ...sweep, base: [...sweep.base].reverse() }, [...texts].reverse()), id);
  });

  it('one base given as a string: the ids, labels and trials of before', () => {
    const sweep = loadSweepFile('experiments/sweep-latent.yaml');
    const text = readFileSync('experiments/vae-mnist.yaml', 'utf8');
    const { name, overrides, grid, seeds } = sweep;
    // The sweep id and trial ids as computed before lists of bases existed.
    const oldId = `${name}-${sha256(JSON.stringify({ name, base: sha256(text), overrides, grid, random: null, seeds, seed: null })).slice(0, 8)}`;
    assert.equal(sweepId(sweep, readBases(sweep)), oldId);
    const trials = expandTrials(sweep, oldId);
    for (const t of trials) {
      assert.equal(t.id, sha256([oldId, ...[...t.overrides].sort()].join('\n')).slice(0, 12));
      assert.equal(t.base, 'experiments/vae-mnist.yaml');
      assert.equal(t.spec, undefined);
      assert.equal(t.setting, t.overrides.filter((o) => !o.startsWith('seed=')).join(' '));
    }
  });
});

describe('bad sweep specs: one positioned line per problem', () => {
  const expectations: Record<string, string[]> = {
    '01-typos.yaml': [
      '{file}:5:12 seeds[1]: must be integer >= 0 and <= 4294967295 (got "two")',
      "{file}:6:1 paralel: unknown field; did you mean 'parallel'?",
      `{file}:7:43 metric.direction: must be one of minimize, maximize (got "minimise"); did you mean 'minimize'?`,
    ],
    '02-random.yaml': [
      "{file}:6:23 random.params['loss.kl_weight'].unifrom: unknown field; did you mean 'uniform'?",
      "{file}:7:27 random.params['model.encoder.hidden']: must be mapping with exactly one of the fields choice, uniform, log_uniform, int_range (got choice, uniform)",
      "{file}:8:36 random.params['train.batch_size'].int_range: must be list of integer (exactly 2 items) (got a list)",
      "{file}:9:5 random.params['model..latent_dim']: field name must be string of a dotted path of field names, e.g. model.latent_dim",
    ],
    '03-ranges.yaml': [
      "{file}:6:5 random.params['train.optimizer.learning_rate']: is also in grid:; sweep a field one way",
      "{file}:6:51 random.params['train.optimizer.learning_rate'].log_uniform: lo must be less than hi (got [0.01, 0.001])",
    ],
    '04-no-base.yaml': [
      "{file}:1:1 missing required field 'base' (The experiment spec every trial starts from, relative to the sweep file; or a list of specs, each crossed with the grid, the random draws and the seeds (one summary row per spec and setting).)",
    ],
    '06-base-list-entry.yaml': ['{file}:2:46 base[1]: must be string (at least 1 character) (got 3)'],
    '07-base-list-files.yaml': [
      '{file}:5:5 base[2]: no such spec file: experiments/iwae-kk5-mnist.yaml',
      '{file}:6:5 base[3]: is item 0 again (../../../experiments/iwae-mnist.yaml); list each spec once',
    ],
    '05-bad-combination.yaml': [
      "trial 0 (model.latent_dim=2 model.latnt=3 seed=1; and 3 more trials): override 'model.latnt=3': model.latnt: unknown field; did you mean 'latent_dim'?",
      "trial 2 (model.latent_dim=0 model.latnt=3 seed=1; and 1 more trial): override 'model.latent_dim=0': model.latent_dim: must be integer >= 1 and <= 1024 (got 0)",
    ],
  };
  for (const [name, lines] of Object.entries(expectations)) {
    it(name, () => {
      const file = `${BAD}/${name}`;
      const problems = problemsOf(() => {
        const sweep = loadSweepFile(file);
        validateTrials(sweep, trialsOf(sweep));
      });
      assert.deepEqual(
        problems,
        lines.map((l) => l.replace('{file}', file)),
      );
    });
  }
});
