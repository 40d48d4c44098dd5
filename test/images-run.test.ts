// `dataset: images` end to end: a folder of generated RGB PNGs (red, green and blue shapes in two class folders)
// trained through the real `vae run`, a conv VAE with a Gaussian likelihood and an MLP with a Bernoulli one, each
// value of each channel its own. The record and the pictures must be right, and colour must be learned: a grey
// reconstruction cannot match red, green and blue shapes.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { RunRecord } from '../src/record/run-record.ts';
import { vae } from './support/cli.ts';
import { reconstructedColours, writeShapesFolder } from './support/image-folder.ts';
import { onlyRunDir } from './support/run-record.ts';
import { scratchFolders } from './support/scratch.ts';

const tmp = scratchFolders('vae-images-run-')();
const shapes = join(tmp, 'shapes');
writeShapesFolder(shapes, 250);
const specFile = join(tmp, 'shapes.yaml');
writeFileSync(
  specFile,
  ['name: shapes', 'data:', '  dataset: images', '  images: { dir: shapes }', '  image_size: 16', 'eval:', '  iwae_samples: 5', ''].join(
    '\n',
  ),
);

// 16 x 16 tiles at 2x with 2-pixel gaps, 8 a row: 8 rows of samples, 4 pairs of rows of reconstructions.
const GRID_SIDE = 8 * 34 + 2;

async function trainOnShapes(overrides: string[]): Promise<RunRecord> {
  const runsDir = join(tmp, `runs-${readdirSync(tmp).length}`);
  // The folder is outside the project, so it is given on the command line.
  const base = [`data.images.dir=${shapes}`, 'train.epochs=2', 'train.batch_size=16', 'model.latent_dim=8'];
  const result = await vae(['run', specFile, ...base, ...overrides, '--runs-dir', runsDir, '--no-mlflow', '--backend', 'tensorflow']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /images: 405 train \/ 45 val \/ 50 test images of 16x16 RGB \(loaded in [\d.]+ s\)/);
  return new RunRecord(onlyRunDir(runsDir, 'shapes'));
}

function checkRecord(record: RunRecord): void {
  const summary = record.readSummary()!;
  assert.equal(summary.status, 'FINISHED');
  assert.deepEqual(summary.data.image, { height: 16, width: 16, channels: 3 });
  assert.equal(summary.data.dataset, 'images');
  assert.equal(summary.data.source, `images:${shapes}`);
  assert.deepEqual([summary.data.train, summary.data.val, summary.data.test], [405, 45, 50]);
  for (const key of ['train/loss', 'val/loss', 'test/neg_elbo', 'test/iwae_nll'])
    assert.ok(Number.isFinite(summary.metrics[key]), `${key} = ${summary.metrics[key]}`);
  assert.match(record.readTags()['vae.training_step'], /one TensorFlow graph per step/);
}

function checkPictures(record: RunRecord): void {
  const picture = (name: string) => PNG.sync.read(readFileSync(record.path(`images/final/${name}`)));
  for (const name of ['samples.png', 'reconstructions.png', 'traversals.png']) {
    // pngjs reports colour PNGs as colour type 2 (RGB) or 6 (RGBA).
    assert.ok([2, 6].includes((picture(name) as unknown as { colorType: number }).colorType), `${name} is in colour`);
  }
  assert.deepEqual([picture('samples.png').width, picture('samples.png').height], [GRID_SIDE, GRID_SIDE]);
  const reconstructions = picture('reconstructions.png');
  assert.deepEqual([reconstructions.width, reconstructions.height], [GRID_SIDE, GRID_SIDE]);
  // Chance would match about a third of the 32 shapes' colours; measured: all 32 for both runs.
  const matching = reconstructedColours(reconstructions, 16, 32);
  assert.ok(matching >= 28, `${matching} of 32 reconstructions have their shape's colour`);
  const stepped = readdirSync(record.path('images')).filter((f) => f.startsWith('reconstructions+step+') && !f.includes('compressed'));
  assert.equal(stepped.length, 2, 'a stepped picture per epoch');
}

let trained: RunRecord | undefined;

describe('dataset: images, end to end on generated RGB PNGs', () => {
  it('trains a conv VAE with a Gaussian likelihood per channel through the graph step, and records it', async () => {
    const record = await trainOnShapes([
      'model.architecture=conv',
      'model.encoder.hidden=[32,64]',
      'model.decoder.hidden=[64,32]',
      'loss.reconstruction=mse',
      'loss.gaussian_std=0.2',
      'train.optimizer.learning_rate=0.003',
    ]);
    checkRecord(record);
    checkPictures(record);
  });

  it('trains an MLP with a Bernoulli likelihood per channel, 768 inputs and outputs', async () => {
    const record = await trainOnShapes(['model.encoder.hidden=[256]', 'model.decoder.hidden=[256]', 'train.optimizer.learning_rate=0.005']);
    checkRecord(record);
    checkPictures(record);
    const encoder = JSON.parse(readFileSync(join(record.modelDir('encoder'), 'model.json'), 'utf8'));
    assert.match(JSON.stringify(encoder.modelTopology), /"batch_input_shape":\[null,768\]/);
    trained = record;
  });

  it('the saved RGB model loads: sample, reconstruct (its test set, or a JPEG) and encode take its channels', async () => {
    assert.ok(trained, 'the MLP run above finished');
    const ok = async (args: string[]) => {
      const result = await vae([...args, '--backend', 'tensorflow']);
      assert.equal(result.code, 0, result.stderr);
    };
    const out = join(tmp, 'tools');
    await ok(['sample', trained.dir, '--n', '4', '--out', join(out, 'samples.png')]);
    const samples = PNG.sync.read(readFileSync(join(out, 'samples.png')));
    assert.deepEqual([samples.width, samples.height, (samples as unknown as { colorType: number }).colorType], [2 * 34 + 2, 2 * 34 + 2, 2]);
    await ok(['reconstruct', trained.dir, '--out', join(out, 'test-set.png')]);
    assert.ok(reconstructedColours(PNG.sync.read(readFileSync(join(out, 'test-set.png'))), 16, 32) >= 28);
    const blue = Buffer.alloc(16 * 16 * 4);
    for (let p = 0; p < 256; p++)
      blue.set(Math.abs((p % 16) - 8) + Math.abs(Math.floor(p / 16) - 8) < 6 ? [0, 0, 255, 255] : [0, 0, 0, 255], 4 * p);
    writeFileSync(join(out, 'blue.jpg'), jpeg.encode({ data: blue, width: 16, height: 16 }, 95).data);
    await ok(['reconstruct', trained.dir, '--input', join(out, 'blue.jpg'), '--n', '1', '--out', join(out, 'blue-recon.png')]);
    assert.equal(reconstructedColours(PNG.sync.read(readFileSync(join(out, 'blue-recon.png'))), 16, 1), 1, 'a blue shape comes back blue');
    await ok(['encode', trained.dir, '--out', join(out, 'z.csv')]);
    const rows = readFileSync(join(out, 'z.csv'), 'utf8').trim().split('\n');
    assert.deepEqual([rows.length, rows[0].split(',').length], [51, 2 + 2 * 8], 'the 50 test images, with their class labels');
  });
});
