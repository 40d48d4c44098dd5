import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GENERATED_TYPES, generateSpecTypes } from '../scripts/generate-spec-types.ts';
import { experimentFields } from '../src/experiment-spec/fields.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { SpecError } from '../src/experiment-spec/problems.ts';
import { isSweepFile } from '../src/sweep/spec.ts';
import { vae } from './support/cli.ts';
import { scratchFolders } from './support/scratch.ts';

const BAD = 'test/fixtures/bad-specs';
const expected = JSON.parse(readFileSync(join(BAD, 'expected.json'), 'utf8')) as Record<string, string[]>;
const specFolder = scratchFolders('vae-spec-');
const badFolder = scratchFolders('vae-bad-');

describe('experiment specs', () => {
  // Sweep files (experiments/sweep-*.yaml) have their own schema; test/sweep-spec.test.ts checks them.
  for (const file of readdirSync('experiments').filter((f) => f.endsWith('.yaml') && !isSweepFile(join('experiments', f)))) {
    it(`experiments/${file} validates`, () => {
      const { spec } = loadSpec(join('experiments', file));
      assert.equal(typeof spec.name, 'string');
    });
  }

  it('experiments/vae-mnist.yaml is the pytorch/examples reference setup', () => {
    const { spec } = loadSpec('experiments/vae-mnist.yaml');
    assert.deepEqual(
      [
        spec.model.architecture,
        spec.model.encoder.hidden,
        spec.model.latent_dim,
        spec.loss.reconstruction,
        spec.train.batch_size,
        spec.train.optimizer.learning_rate,
        spec.train.epochs,
        spec.data.binarize,
      ],
      ['mlp', [400], 20, 'bce', 128, 0.001, 10, 'none'],
    );
  });

  it('fills every default from the schema', () => {
    const dir = specFolder();
    writeFileSync(join(dir, 'minimal.yaml'), 'name: minimal\n');
    const { spec } = loadSpec(join(dir, 'minimal.yaml'));
    assert.equal(spec.model.latent_dim, 20);
    assert.deepEqual(spec.model.decoder, { hidden: [400], activation: 'relu' });
    assert.equal(spec.tracking.experiment, 'minimal');
    assert.deepEqual(spec.data.split, { train: 0.9, val: 0.1 });
  });

  it('merges Hydra-style overrides as YAML values', () => {
    const { spec } = loadSpec('experiments/vae-mnist.yaml', [
      'model.latent_dim=2',
      'model.encoder.hidden=[512, 256]',
      'loss.reconstruction=mse',
      'model.decoder.hidden[0]=300',
    ]);
    assert.equal(spec.model.latent_dim, 2);
    assert.deepEqual(spec.model.encoder.hidden, [512, 256]);
    assert.equal(spec.loss.reconstruction, 'mse');
    assert.deepEqual(spec.model.decoder.hidden, [300]);
  });

  for (const target of GENERATED_TYPES) {
    it(`${target.types} is current with ${target.schema}`, async () => {
      assert.equal(readFileSync(target.types, 'utf8'), await generateSpecTypes(target), 'run npm run gen:types');
    });
  }

  it('lists every field with its description for --help', async () => {
    const fields = experimentFields();
    assert.ok(fields.length >= 25);
    for (const f of fields) assert.ok(f.description.length > 0, `${f.path} has no description`);
    const help = await vae(['run', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /model\.latent_dim = 20 +integer >= 1 and <= 1024\n +Size of z\./);
    assert.match(help.stdout, /loss\.reconstruction = "bce" +one of bce, mse\n/);
  });
});

describe('bad specs: one positioned line per problem, exit 2, nothing written', { concurrency: 4 }, () => {
  const files = readdirSync(BAD)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

  it('the corpus has at least 20 bad specs and an expectation for each', () => {
    assert.ok(files.length >= 20);
    assert.deepEqual(Object.keys(expected).sort(), files);
  });

  for (const name of files) {
    it(name, async () => {
      const file = join(BAD, name);
      const overrides = (readFileSync(file, 'utf8').match(/^# overrides: (.*)$/m)?.[1] ?? '').split(' ').filter(Boolean);
      const runsDir = join(badFolder(), 'runs');
      const result = await vae(['run', file, ...overrides, '--runs-dir', runsDir, '--no-mlflow']);
      assert.equal(result.code, 2, result.stderr);
      assert.deepEqual(
        result.stderr.trimEnd().split('\n'),
        expected[name].map((l) => l.replace('{file}', file)),
      );
      assert.equal(existsSync(runsDir), false, 'a rejected spec must not create a run');
    });
  }

  it('a file that is not UTF-8', () => {
    const file = join(badFolder(), 'latin1.yaml');
    writeFileSync(file, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0x74, 0xe9, 0x0a]));
    assert.throws(
      () => loadSpec(file),
      (e: SpecError) => e.message === `${file}:1:1 is not UTF-8 text; save the spec as UTF-8`,
    );
  });

  it('a missing file', () => {
    assert.throws(
      () => loadSpec('experiments/nope.yaml'),
      (e: SpecError) => e.message === 'experiments/nope.yaml:1:1 cannot read spec: no such file',
    );
  });

  it('vae validate reports every file', async () => {
    const result = await vae(['validate', 'experiments/vae-mnist.yaml', join(BAD, '03-enum-typo.yaml')]);
    assert.equal(result.code, 2);
    assert.match(result.stdout, /experiments\/vae-mnist\.yaml: ok/);
    assert.match(
      result.stderr,
      /03-enum-typo\.yaml:3:17 model\.architecture: must be one of mlp, conv \(got "cnn"\); did you mean 'conv'\?/,
    );
  });

  it('vae validate checks sweep files and every trial they expand to', async () => {
    const result = await vae(['validate', 'experiments/sweep-latent.yaml', 'test/fixtures/bad-sweeps/05-bad-combination.yaml']);
    assert.equal(result.code, 2);
    assert.match(result.stdout, /experiments\/sweep-latent\.yaml: ok \(a sweep of 15 trials\)/);
    assert.match(
      result.stderr,
      /^trial 0 \(model\.latent_dim=2 model\.latnt=3 seed=1; and 3 more trials\): override 'model\.latnt=3': model\.latnt: unknown field; did you mean 'latent_dim'\?$/m,
    );
  });
});
