import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DSPRITES_FACTORS, DSPRITES_GRID_SIZE, factorClasses, gridIndex, spriteLatents } from '../src/data/dsprites-grid.ts';
import { drawSprite, renderSprites } from '../src/data/dsprites-render.ts';
import { DSPRITES_TEST_SIZE, loadDsprites } from '../src/data/dsprites.ts';
import { subset } from '../src/data/images.ts';
import { splitDataset } from '../src/data/split.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { RunRecord } from '../src/record/run-record.ts';
import { vae } from './support/cli.ts';
import { scratchFolders } from './support/scratch.ts';

const tempDir = scratchFolders('vae-dsprites-');

const SHAPES = [0, 1, 2];
const image = (classes: number[], side = 64) => renderSprites([gridIndex(classes)], side);
const onPixels = (pixels: Uint8Array) => pixels.reduce((n, p) => n + (p ? 1 : 0), 0);
const differing = (a: Uint8Array, b: Uint8Array) => a.reduce((n, p, i) => n + (p !== b[i] ? 1 : 0), 0);
const centroidX = (pixels: Uint8Array, side: number) => {
  let [sum, n] = [0, 0];
  pixels.forEach((p, i) => p && ((sum += i % side), n++));
  return sum / n;
};

const DISENTANGLEMENT_METRICS = [
  'beta_vae',
  'dci_completeness',
  'dci_disentanglement',
  'dci_informativeness',
  'explicitness',
  'factor_vae',
  'gaussian_tc',
  'mig',
  'modularity',
  'sap',
].map((name) => `disentanglement/${name}`);

describe('dSprites grid', () => {
  it('has the original 737,280 combinations, in its file order (posY fastest, shape slowest)', () => {
    assert.equal(DSPRITES_GRID_SIZE, 737_280);
    assert.deepEqual(DSPRITES_FACTORS.sizes, [3, 6, 40, 32, 32]);
    assert.equal(gridIndex([0, 0, 0, 0, 1]), 1);
    assert.equal(gridIndex([1, 0, 0, 0, 0]), 245_760);
    for (const index of [0, 1, 1234, 500_000, DSPRITES_GRID_SIZE - 1]) assert.equal(gridIndex(factorClasses(index)), index);
    assert.deepEqual(spriteLatents(DSPRITES_GRID_SIZE - 1), { shape: 'heart', scale: 1, orientation: 2 * Math.PI, posX: 1, posY: 1 });
    assert.equal(spriteLatents(gridIndex([0, 1, 0, 0, 0])).scale, 0.6);
    assert.throws(() => factorClasses(DSPRITES_GRID_SIZE), /grid index must be an integer in \[0, 737280\)/);
  });
});

describe('dSprites rendering', () => {
  it('draws the same bytes every time (a change must bump DSPRITES_RENDERER_VERSION, then this digest)', () => {
    const spread = Array.from({ length: 400 }, (_, i) => (i * 1843) % DSPRITES_GRID_SIZE);
    const digest = (side: number) => createHash('sha256').update(renderSprites(spread, side)).digest('hex').slice(0, 16);
    assert.deepEqual(renderSprites(spread, 32), renderSprites(spread, 32));
    assert.deepEqual([digest(64), digest(32), digest(16)], ['6e76eef6a8c538af', 'e48e6eaa6a5f7074', '4ab7bd544344d1fd']);
  });

  it('draws binary images whose pixel count grows with scale, for every shape', () => {
    for (const side of [64, 32]) {
      for (const shape of SHAPES) {
        const counts = [0, 1, 2, 3, 4, 5].map((scale) => onPixels(image([shape, scale, 7, 16, 16], side)));
        for (let s = 1; s < counts.length; s++) assert.ok(counts[s] > counts[s - 1], `shape ${shape} at ${side}px: ${counts}`);
      }
    }
    assert.ok(image([2, 5, 3, 9, 20]).every((p) => p === 0 || p === 255));
  });

  it('moves the centroid right as posX grows, and keeps every shape inside the frame', () => {
    for (const shape of SHAPES) {
      const xs = [0, 8, 16, 24, 31].map((x) => centroidX(image([shape, 5, 13, x, 4]), 64));
      for (let i = 1; i < xs.length; i++) assert.ok(xs[i] > xs[i - 1] + 5, `shape ${shape}: ${xs}`);
    }
    // The largest square turned 45 degrees at each corner: it reaches farthest, yet the border stays black.
    for (const [x, y] of [
      [0, 0],
      [31, 31],
    ]) {
      const pixels = image([0, 5, 5, x, y]);
      const border = Array.from({ length: 64 }, (_, i) => [pixels[i], pixels[63 * 64 + i], pixels[i * 64], pixels[i * 64 + 63]]).flat();
      assert.ok(border.every((p) => p === 0) && onPixels(pixels) > 300);
    }
  });

  it('turns a square a quarter turn into the same mask', () => {
    const latents = spriteLatents(gridIndex([0, 5, 0, 11, 20]));
    const draw = (orientation: number) => {
      const out = new Uint8Array(64 * 64);
      drawSprite({ ...latents, orientation }, 64, out, 0);
      return out;
    };
    assert.ok(differing(draw(0), draw(Math.PI / 2)) <= 2, 'exactly pi/2');
    // The grid has no pi/2: its nearest orientation, index 10, is 2 pi * 10/39 = 92.3 degrees.
    const nearest = image([0, 5, 10, 11, 20]);
    assert.ok(differing(image([0, 5, 0, 11, 20]), nearest) <= 0.05 * onPixels(nearest), 'orientation index 10');
    assert.deepEqual(image([1, 3, 0, 5, 5]), image([1, 3, 39, 5, 5]), 'orientations 0 and 2 pi are one');
  });
});

describe('dSprites data', () => {
  it('holds the test set out, carries the factors through subset and split, and reads its cache the second time', () => {
    const cacheDir = tempDir();
    const first = loadDsprites({ side: 16, limit: 300, cacheDir });
    assert.equal(first.fromCache, false);
    assert.deepEqual([first.train.count, first.test.count, first.train.height, first.train.width], [300, 300, 16, 16]);
    const files = readdirSync(join(cacheDir, 'dsprites'));
    assert.equal(files.length, 1);
    assert.match(files[0], /^[0-9a-f]{32}\.bin$/);
    assert.equal(statSync(join(cacheDir, 'dsprites', files[0])).size, 600 * 16 * 16);

    const second = loadDsprites({ side: 16, limit: 300, cacheDir });
    assert.equal(second.fromCache, true);
    assert.deepEqual(second.train.pixels, first.train.pixels);
    assert.deepEqual(second.test.factors, first.test.factors);
    // A cut-short file is drawn again rather than read.
    truncateSync(join(cacheDir, 'dsprites', files[0]), 1000);
    assert.equal(loadDsprites({ side: 16, limit: 300, cacheDir }).fromCache, false);

    const key = (set: typeof first.train, i: number) => gridIndex([...set.factors!.classes.subarray(5 * i, 5 * i + 5)]);
    const trainKeys = new Set(Array.from({ length: 300 }, (_, i) => key(first.train, i)));
    assert.ok(
      Array.from({ length: 300 }, (_, i) => key(first.test, i)).every((k) => !trainKeys.has(k)),
      'no test image is trained on',
    );
    // A bigger limit keeps the first test images and adds to the training images: both are prefixes of one order.
    const more = loadDsprites({ side: 16, limit: 20_000, cacheDir });
    assert.equal(more.test.count, DSPRITES_TEST_SIZE);
    assert.deepEqual(more.test.pixels.subarray(0, 300 * 256), first.test.pixels);
    assert.deepEqual(more.train.factors!.classes.subarray(0, 300 * 5), first.train.factors!.classes);

    const split = splitDataset(first.train, subset(first.test, [5, 6, 7]), { seed: 3, train: 0.8, val: 0.2, limit: 100 });
    for (const set of [split.train, split.val, split.test]) {
      assert.equal(set.factors!.classes.length, set.count * 5);
      assert.deepEqual(set.factors!.names, DSPRITES_FACTORS.names);
      // Every image is the one its factors draw.
      for (let i = 0; i < set.count; i++) assert.deepEqual(renderSprites([key(set, i)], 16), set.pixels.subarray(i * 256, (i + 1) * 256));
    }
    assert.deepEqual([split.train.count, split.val.count, split.test.count], [80, 20, 3]);
  });

  it('is refused without a limit, and image_size is refused for other datasets, at the line that says so', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'spec.yaml'), 'name: d\ndata:\n  dataset: dsprites\n  image_size: 32\n');
    assert.throws(
      () => loadSpec(join(dir, 'spec.yaml')),
      (e: Error) =>
        e.message ===
        `${join(dir, 'spec.yaml')}:3:3 data.limit: dataset dsprites renders what it trains on and needs a limit > 0 (its 727,280 training images are 3 GB at 64x64), e.g. limit: 20000`,
    );
    assert.throws(
      () => loadSpec('experiments/vae-mnist.yaml', ['data.image_size=32']),
      (e: Error) =>
        e.message ===
        `override 'data.image_size=32': data.image_size: only used with dataset: dsprites or images (mnist images keep their own size)`,
    );
    assert.throws(
      () => loadSpec('experiments/vae-dsprites.yaml', ['data.image_size=48']),
      (e: Error) => e.message === `override 'data.image_size=48': data.image_size: must be one of 16, 32, 64 for dsprites (got 48)`,
    );
    assert.equal(loadSpec('experiments/vae-dsprites.yaml').spec.data.image_size, 32);
  });

  it('trains a VAE through vae run and records it, with its disentanglement scores', async () => {
    const runsDir = tempDir();
    const overrides = ['data.limit=256', 'train.epochs=2', 'eval.iwae_samples=2', 'tracking.log_every_steps=2'];
    overrides.push('eval.disentanglement.num_train=200', 'eval.disentanglement.num_eval=100');
    const result = await vae(['run', 'experiments/vae-dsprites.yaml', ...overrides, '--runs-dir', runsDir, '--no-mlflow']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /dsprites: 230 train \/ 26 val \/ 256 test images of 32x32/);
    const experimentDir = join(runsDir, 'vae-dsprites');
    const runDir = join(experimentDir, readdirSync(experimentDir)[0]);
    const summary = new RunRecord(runDir).readSummary()!;
    assert.equal(summary.status, 'FINISHED');
    assert.equal(summary.data.source, 'generated:dsprites@renderer-1/32x32');
    const losses = new RunRecord(runDir)
      .readMetrics()
      .filter((m) => m.key === 'train/loss')
      .map((m) => m.value);
    assert.ok(losses.length === 2 && losses[1] < losses[0], `train loss went down: ${losses}`);
    assert.ok(summary.metrics['test/neg_elbo'] > 0 && summary.metrics['test/neg_elbo'] < 1024 * Math.LN2);
    for (const picture of ['samples.png', 'reconstructions.png', 'traversals.png'])
      assert.ok(statSync(join(runDir, 'images/final', picture)).size > 0);
    const scores = Object.entries(summary.metrics).filter(([key]) => key.startsWith('disentanglement/'));
    assert.deepEqual(scores.map(([key]) => key).sort(), DISENTANGLEMENT_METRICS);
    for (const [key, value] of scores) {
      const upper = key === 'disentanglement/gaussian_tc' ? Infinity : 1;
      assert.ok(Number.isFinite(value) && value >= 0 && value <= upper, `${key} = ${value}`);
    }
    assert.match(result.stderr, /^disentanglement: BetaVAE [\d.]+, FactorVAE [\d.]+, MIG [\d.]+, SAP [\d.]+, DCI [\d.]+/m);
  });
});
