// Every user mistake the other tests know, fed to the real CLI: each is a short message and exit code 2, never a
// stack trace. A mistake that reaches the user as a plain Error (a bug in how we report it) fails here.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunRecord } from '../src/record/run-record.ts';
import { vae } from './support/cli.ts';
import { scratchFolders } from './support/scratch.ts';

const tmp = scratchFolders('vae-user-errors-')();
const runsDir = join(tmp, 'runs');
const notARun = mkdtempSync(join(tmp, 'not-a-run-'));
const textFile = join(tmp, 'notes.txt');
writeFileSync(textFile, 'not a spec\n');
const picturesDir = mkdtempSync(join(tmp, 'pictures-'));
writeFileSync(join(picturesDir, 'notes.png'), 'not a picture\n');
// No tracking server is ever contacted: each mistake must be caught before that.
const env = { MLFLOW_TRACKING_URI: '' };

interface Mistake {
  what: string;
  args: string[];
  /** What the one message must say. */
  says: RegExp;
}

const MISTAKES: Mistake[] = [
  { what: 'run without a spec', args: ['run'], says: /give a spec/ },
  {
    what: 'run with a spec and --resume',
    args: ['run', 'experiments/vae-mnist.yaml', '--resume', notARun],
    says: /--resume takes the run folder only/,
  },
  { what: 'run on a missing file', args: ['run', join(tmp, 'missing.yaml')], says: /missing\.yaml/ },
  { what: 'run on a text file', args: ['run', textFile], says: /notes\.txt:1:1/ },
  {
    what: 'an override of the wrong type',
    args: ['run', 'experiments/vae-mnist.yaml', 'model.latent_dim=twenty'],
    says: /model\.latent_dim/,
  },
  { what: 'an override of an unknown field', args: ['run', 'experiments/vae-mnist.yaml', 'model.latnet_dim=2'], says: /latnet_dim/ },
  {
    what: 'a spec with a typo',
    args: ['run', 'test/fixtures/bad-specs/02-unknown-field-typo.yaml'],
    says: /02-unknown-field-typo\.yaml:\d+:\d+/,
  },
  { what: 'an unknown backend', args: ['run', 'experiments/vae-mnist.yaml', '--backend', 'gpu'], says: /gpu/ },
  { what: 'a tag without a value', args: ['run', 'experiments/vae-mnist.yaml', '--tag', 'novalue'], says: /--tag takes key=value/ },
  { what: 'resume of a folder that is no run', args: ['run', '--resume', notARun], says: new RegExp(notARun) },
  {
    what: '--previous-checkpoint without --resume',
    args: ['run', 'experiments/vae-mnist.yaml', '--previous-checkpoint'],
    says: /--previous-checkpoint goes with --resume/,
  },
  {
    what: 'IDX data that is not IDX',
    args: [
      'run',
      'experiments/vae-mnist.yaml',
      'data.dataset=idx',
      'data.idx.train_images=/etc/passwd',
      'data.idx.test_images=/etc/passwd',
      '--runs-dir',
      runsDir,
      '--no-mlflow',
      '--backend',
      'cpu',
    ],
    says: /\/etc\/passwd: not a usable IDX file/,
  },
  {
    what: 'a folder of images with a file that is no picture',
    args: [
      'run',
      'experiments/vae-mnist.yaml',
      'data.dataset=images',
      `data.images.dir=${picturesDir}`,
      'data.image_size=16',
      '--runs-dir',
      runsDir,
      '--no-mlflow',
      '--backend',
      'cpu',
    ],
    says: /notes\.png: not a PNG or JPEG file \(it starts with "not a pi"\)/,
  },
  {
    what: 'a runs folder under a file',
    args: ['run', 'experiments/vae-mnist.yaml', '--runs-dir', join(textFile, 'runs'), '--no-mlflow', '--backend', 'cpu'],
    says: /cannot create the run record/,
  },
  {
    what: 'disentanglement scores of a one-dimensional latent space',
    args: ['run', 'experiments/vae-dsprites.yaml', 'model.latent_dim=1', '--no-mlflow', '--runs-dir', runsDir],
    says: /need at least 2 latent dimensions/,
  },
  { what: 'validate with overrides only', args: ['validate', 'train.epochs=1'], says: /name at least one spec file/ },
  {
    what: 'a sample of a run that does not exist',
    args: ['sample', join(tmp, 'nope'), '--out', join(tmp, 'x.png'), '--backend', 'cpu'],
    says: /nope/,
  },
  {
    what: 'a sample count that is not a number',
    args: ['sample', notARun, '--n', 'many', '--out', join(tmp, 'x.png')],
    says: /expected a whole number/,
  },
  { what: 'sync of a folder that is no run', args: ['sync', notARun], says: /not a run record/ },
  {
    what: 'a sweep file with --grid',
    args: ['sweep', 'experiments/sweep-latent.yaml', '--grid', 'model.latent_dim=1,2', '--runs-dir', runsDir, '--no-mlflow'],
    says: /is a sweep file/,
  },
  {
    what: 'a trial index past the end',
    args: ['sweep', 'experiments/sweep-latent.yaml', '--trial-index', '999', '--runs-dir', runsDir, '--no-mlflow'],
    says: /--trial-index 999/,
  },
  {
    what: 'a bad sweep file',
    args: ['sweep', 'test/fixtures/bad-sweeps/05-bad-combination.yaml', '--runs-dir', runsDir, '--no-mlflow'],
    says: /model\.latnt: unknown field/,
  },
  {
    what: 'a plan for an image that is no image reference',
    args: ['sweep', 'plan', 'experiments/sweep-latent.yaml', '--image', 'My Registry/VAE-lab', '--runs-dir', runsDir],
    says: /--image .*not an image reference/,
  },
  { what: 'an unknown command', args: ['trian', 'experiments/vae-mnist.yaml'], says: /unknown command/ },
];

describe('user mistakes on the command line', () => {
  for (const mistake of MISTAKES) {
    it(`${mistake.what}: exit 2, a message that says what, no stack trace`, async () => {
      const result = await vae(mistake.args, { env });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, mistake.says);
      assert.ok(!/^\s+at /m.test(result.stderr), `a stack trace:\n${result.stderr}`);
      assert.ok(!/^error: \w*Error\b/m.test(result.stderr), `an error class name instead of a message:\n${result.stderr}`);
    });
  }

  it('bad data is refused before anything is recorded', () => {
    // The IDX and image-folder mistakes above ran with this runs folder: no run folder, so nothing to clean up or to
    // confuse a sweep.
    const folders = existsSync(runsDir) ? readdirSync(runsDir, { recursive: true }).map((p) => join(runsDir, String(p))) : [];
    const recorded = folders.filter((dir) => new RunRecord(dir).exists());
    assert.deepEqual(recorded, []);
  });
});
