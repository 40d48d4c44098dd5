import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { loadDataset } from '../src/data/datasets.ts';
import { decodeImage, isGrey, toChannels, UndecodableImage } from '../src/data/image-decode.ts';
import { holdOutTestSet, ImageFolderError, readImageFolder } from '../src/data/image-folder.ts';
import { resizeImage } from '../src/data/image-resize.ts';
import { loadSpec } from '../src/experiment-spec/load.ts';
import { vae } from './support/cli.ts';
import { pngBytes, writeShapesFolder } from './support/image-folder.ts';
import { scratchFolders } from './support/scratch.ts';

const tmp = scratchFolders('vae-image-folder-')();

/** A folder under the temp folder, made fresh. */
function folder(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const RED_AND_TRANSPARENT = pngBytes(2, 1, (x) => (x === 0 ? [255, 0, 0, 255] : [0, 0, 255, 0]));

describe('decoding PNG and JPEG', () => {
  it('reads a PNG as RGBA, whatever its colour type, and a JPEG as RGBA within its compression error', () => {
    const png = decodeImage(RED_AND_TRANSPARENT);
    assert.deepEqual([png.width, png.height, [...png.data]], [2, 1, [255, 0, 0, 255, 0, 0, 255, 0]]);
    const greyPng = decodeImage(pngBytes(3, 2, (x, y) => [40 * x + y, 40 * x + y, 40 * x + y, 255], 0));
    assert.deepEqual([greyPng.width, greyPng.height, greyPng.data[4 * 5]], [3, 2, 81]);
    assert.ok(isGrey(greyPng) && !isGrey(png));

    const rgba = Buffer.alloc(16 * 16 * 4);
    for (let p = 0; p < 256; p++) rgba.set([200, 30, 90, 255], 4 * p);
    const decoded = decodeImage(jpeg.encode({ data: rgba, width: 16, height: 16 }, 95).data);
    assert.deepEqual([decoded.width, decoded.height], [16, 16]);
    for (const [c, want] of [200, 30, 90].entries()) assert.ok(Math.abs(decoded.data[c] - want) <= 3, `channel ${c}: ${decoded.data[c]}`);
  });

  it('names what is wrong with a file that is no picture', () => {
    const reason = (bytes: Uint8Array) => {
      try {
        decodeImage(bytes);
      } catch (e) {
        assert.ok(e instanceof UndecodableImage);
        return e.message;
      }
      assert.fail('decoded');
    };
    assert.equal(reason(new Uint8Array(0)), 'empty file');
    assert.equal(reason(Buffer.from('hello world')), 'not a PNG or JPEG file (it starts with "hello wo")');
    assert.match(reason(RED_AND_TRANSPARENT.subarray(0, 40)), /^unreadable PNG \(.+\)$/);
    const jpg = jpeg.encode({ data: Buffer.alloc(32 * 32 * 4, 128), width: 32, height: 32 }, 90).data;
    assert.match(reason(jpg.subarray(0, jpg.length / 2)), /^unreadable JPEG \(.+\)$/);
    const huge = Buffer.from(RED_AND_TRANSPARENT);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    assert.match(reason(huge), /claims 10000 megapixels, more than the 100 allowed/);
  });
});

describe('grey and RGB conversion, resizing', () => {
  it('blends transparency over black, and makes grey with BT.601 luma', () => {
    const image = decodeImage(RED_AND_TRANSPARENT);
    assert.deepEqual([...toChannels(image, 3)], [255, 0, 0, 0, 0, 0]);
    assert.deepEqual(
      [...toChannels(image, 1)].map((v) => +v.toFixed(3)),
      [76.245, 0],
    );
  });

  it('averages the area each pixel covers when shrinking, and interpolates bilinearly when enlarging', () => {
    // 4 x 4 of two channels -> 2 x 2: each output is the mean of a 2 x 2 block, channel by channel.
    const four = Float32Array.from({ length: 32 }, (_, i) => (i % 2 === 0 ? Math.floor(i / 2) : 100));
    assert.deepEqual(
      [...resizeImage(four, { height: 4, width: 4 }, { height: 2, width: 2 }, 2)],
      [2.5, 100, 4.5, 100, 10.5, 100, 12.5, 100],
    );
    // 3 -> 2 along x: fractional overlaps, weights 2/3 and 1/3.
    const three = resizeImage(Float32Array.of(0, 30, 60), { height: 1, width: 3 }, { height: 1, width: 2 }, 1);
    assert.deepEqual(
      [...three].map((v) => +v.toFixed(4)),
      [10, 50],
    );
    // 2 -> 4 along x: pixel centres at -0.25, 0.25, 0.75, 1.25 of the source, clamped at the borders.
    const up = resizeImage(Float32Array.of(0, 100), { height: 1, width: 2 }, { height: 1, width: 4 }, 1);
    assert.deepEqual([...up], [0, 25, 75, 100]);
    const same = Float32Array.of(1, 2, 3, 4);
    assert.equal(resizeImage(same, { height: 2, width: 2 }, { height: 2, width: 2 }, 1), same);
  });
});

describe('a folder of images', () => {
  it('labels images by class folder in sorted order, resizes them, and tells grey from colour', () => {
    const dir = folder('classes');
    for (const [name, shade] of [
      ['zebra', 200],
      ['apple', 50],
    ] as const) {
      mkdirSync(join(dir, name, 'nested'), { recursive: true });
      writeFileSync(
        join(dir, name, 'a.png'),
        pngBytes(8, 8, () => [shade, shade, shade, 255], 0),
      );
      writeFileSync(
        join(dir, name, 'nested', 'b.png'),
        pngBytes(4, 6, () => [shade, shade, shade, 255]),
      );
      const rgba = Buffer.alloc(10 * 10 * 4);
      for (let p = 0; p < 100; p++) rgba.set([shade, shade, shade, 255], 4 * p);
      writeFileSync(join(dir, name, 'c.jpg'), jpeg.encode({ data: rgba, width: 10, height: 10 }, 100).data);
    }
    writeFileSync(join(dir, '.DS_Store'), 'hidden files are skipped');
    const grey = readImageFolder({ dir, channels: 'auto', test_fraction: 0.1 }, 4, dir);
    assert.deepEqual(grey.classes, ['apple', 'zebra']);
    assert.deepEqual([grey.all.count, grey.all.height, grey.all.width, grey.all.channels], [6, 4, 4, 1]);
    assert.deepEqual([...grey.all.labels!], [0, 0, 0, 1, 1, 1]);
    for (let i = 0; i < 6; i++) {
      const want = i < 3 ? 50 : 200;
      assert.ok(
        grey.all.pixels.subarray(16 * i, 16 * (i + 1)).every((v) => Math.abs(v - want) <= 1),
        `image ${i}`,
      );
    }
    assert.equal(readImageFolder({ dir, channels: 3, test_fraction: 0.1 }, 4, dir).all.channels, 3);

    writeFileSync(
      join(dir, 'apple', 'red.png'),
      pngBytes(2, 2, () => [255, 0, 0, 255]),
    );
    const colour = readImageFolder({ dir, channels: 'auto', test_fraction: 0.1 }, 8, dir);
    assert.equal(colour.all.channels, 3);
    // apple/a.png, apple/c.jpg, apple/nested/b.png, apple/red.png: the fourth, enlarged and still red.
    assert.deepEqual([...colour.all.pixels.subarray(3 * 192, 3 * 192 + 6)], [255, 0, 0, 255, 0, 0]);
    const asGrey = readImageFolder({ dir, channels: 1, test_fraction: 0.1 }, 8, dir);
    assert.equal(asGrey.all.pixels[3 * 64], Math.round(0.299 * 255));
  });

  it('holds out the same test images of every class for every run, and loads through data.dataset: images', () => {
    const dir = folder('shapes');
    writeShapesFolder(dir, 30, 12);
    const { all } = readImageFolder({ dir, channels: 'auto', test_fraction: 0.2 }, 12, dir);
    assert.equal(all.channels, 3);
    const { train, test } = holdOutTestSet(all, 0.2, dir);
    assert.deepEqual([train.count, test.count], [48, 12]);
    assert.deepEqual(
      [0, 1].map((label) => test.labels!.filter((l) => l === label).length),
      [6, 6],
    );
    // The test set is in a shuffled order, so the first few (data.limit) hold both classes.
    assert.ok(new Set(test.labels!.subarray(0, 4)).size === 2);
    assert.deepEqual(holdOutTestSet(all, 0.2, dir).test.pixels, test.pixels);

    const specFile = join(tmp, 'shapes.yaml');
    writeFileSync(specFile, 'name: shapes\ndata:\n  dataset: images\n  images: { dir: shapes, test_fraction: 0.2 }\n  image_size: 12\n');
    // A folder outside the project is named on the command line (see the spec checks below).
    const dataset = loadDataset(loadSpec(specFile, [`data.images.dir=${dir}`]).spec.data, tmp);
    assert.deepEqual([dataset.train.count, dataset.test.count, dataset.source], [48, 12, `images:${dir}`]);
    assert.deepEqual(dataset.test.pixels, test.pixels);
    assert.match(dataset.digest, /^[0-9a-f]{32}$/);
  });

  it('names every bad file, one line each, and an empty or missing folder', () => {
    const dir = folder('bad');
    writeShapesFolder(dir, 2, 8);
    writeFileSync(join(dir, 'discs', 'cut.png'), readFileSync(join(dir, 'discs', '0000.png')).subarray(0, 60));
    writeFileSync(join(dir, 'squares', 'notes.png'), 'these are notes\n');
    mkdirSync(join(dir, 'triangles'));
    writeFileSync(
      join(dir, 'stray.png'),
      pngBytes(8, 8, () => [0, 0, 0, 255]),
    );
    assert.throws(
      () => readImageFolder({ dir, channels: 'auto', test_fraction: 0.1 }, 8, dir),
      (e: ImageFolderError) =>
        e instanceof ImageFolderError &&
        e.message ===
          [
            `${join(dir, 'stray.png')}: outside the class folders (discs, squares, triangles); move it into one of them, or remove it`,
            `${join(dir, 'triangles')}: a class folder with no images; add some or remove it`,
            `${join(dir, 'discs', 'cut.png')}: unreadable PNG (truncated: the file ends before its IEND chunk)`,
            `${join(dir, 'squares', 'notes.png')}: not a PNG or JPEG file (it starts with "these ar")`,
          ].join('\n'),
    );
    assert.throws(
      () => readImageFolder({ dir: 'x', channels: 1, test_fraction: 0.1 }, 8, folder('empty')),
      /empty: no images in this folder$/,
    );
    assert.throws(() => readImageFolder({ dir: 'x', channels: 1, test_fraction: 0.1 }, 8, join(tmp, 'nowhere')), /nowhere: no such folder/);
  });
});

describe('dataset: images through the real CLI', () => {
  it('refuses a folder with bad files before training, one line per file, exit 2, no run folder', async () => {
    const dir = folder('cli-bad');
    writeShapesFolder(dir, 3, 8);
    writeFileSync(join(dir, 'discs', '0001.png'), readFileSync(join(dir, 'discs', '0001.png')).subarray(0, 50));
    writeFileSync(join(dir, 'squares', 'readme.png'), 'not a picture\n');
    const specFile = join(tmp, 'cli.yaml');
    writeFileSync(specFile, 'name: cli-images\ndata:\n  dataset: images\n  image_size: 8\n  images: { dir: cli-bad }\n');
    const runsDir = join(tmp, 'runs');
    const result = await vae(['run', specFile, `data.images.dir=${dir}`, '--runs-dir', runsDir, '--no-mlflow']);
    assert.equal(result.code, 2, result.stderr);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith(dir));
    assert.deepEqual(
      lines.map((line) => line.replace(/ \(.*\)$/, '')),
      [`${join(dir, 'discs', '0001.png')}: unreadable PNG`, `${join(dir, 'squares', 'readme.png')}: not a PNG or JPEG file`],
    );
    assert.ok(!/^\s+at /m.test(result.stderr), result.stderr);
    assert.ok(!existsSync(runsDir) || readdirSync(runsDir, { recursive: true }).length === 0, 'no run folder');

    const empty = await vae(['run', specFile, `data.images.dir=${folder('cli-empty')}`, '--runs-dir', runsDir, '--no-mlflow']);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /cli-empty: no images in this folder/);
    assert.ok(!existsSync(runsDir) || readdirSync(runsDir, { recursive: true }).length === 0, 'no run folder');
  });

  it('checks the spec: the folder and the size are needed, and the folder must be inside the project', () => {
    const specFile = join(tmp, 'spec-checks.yaml');
    writeFileSync(specFile, 'name: s\ndata:\n  dataset: images\n');
    assert.throws(
      () => loadSpec(specFile),
      (e: Error) =>
        e.message ===
        [
          `${specFile}:3:3 data: dataset images needs data.images with dir (a folder of PNG or JPEG files)`,
          `${specFile}:3:3 data: dataset images resizes every picture to data.image_size; set it, e.g. image_size: 32`,
        ].join('\n'),
    );
    writeFileSync(specFile, 'name: s\ndata:\n  dataset: images\n  image_size: 300\n  images: { dir: x, channels: 2 }\n');
    assert.throws(
      () => loadSpec(specFile),
      (e: Error) =>
        e.message ===
        [
          `${specFile}:4:15 data.image_size: must be integer >= 8 and <= 128 (got 300)`,
          `${specFile}:5:31 data.images.channels: must be one of auto, 1, 3 (got 2)`,
        ].join('\n'),
    );
    assert.throws(
      () => loadSpec('experiments/vae-mnist.yaml', ['data.images.dir=x']),
      /data\.images: only used with dataset: images \(dataset is mnist\)/,
    );
    writeFileSync(specFile, 'name: s\ndata:\n  dataset: images\n  image_size: 16\n  images: { dir: ../../elsewhere }\n');
    assert.throws(
      () => loadSpec(specFile),
      /data\.images\.dir: '\.\.\/\.\.\/elsewhere' is outside the project; to use it anyway, give it on the command line: data\.images\.dir=/,
    );
  });
});
