// `dataset: images`: a folder of PNG or JPEG files as a training pool and a held-out test set.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Experiment } from '../experiment-spec/spec.generated.ts';
import { UserError } from '../errors.ts';
import { decodeImage, isGrey, toChannels, UndecodableImage } from './image-decode.ts';
import { resizeImage } from './image-resize.ts';
import { subset, type ImageSet } from './images.ts';
import { seededPermutation } from './split.ts';

/** Files that cannot be used, one line each (`<path>: <why>`), every one of them found before training. */
export class ImageFolderError extends UserError {
  constructor(readonly problems: string[]) {
    // One problem, one line, whatever characters a file name holds.
    super(problems.map((line) => line.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1))).join('\n'));
  }
}

/** The images of a folder, in sorted order of their paths, and their classes where it has class folders. */
export interface FolderListing {
  files: string[];
  /** The class id of each file: the index of its class folder among `classes`. */
  labels?: Uint8Array;
  /** The names of the class folders, sorted; their index is the label. */
  classes: string[];
  /** What is wrong with how the folder is laid out, one line each; reported with the files that cannot be read. */
  problems: string[];
}

// Labels are bytes, as MNIST's are.
const MAX_CLASSES = 256;

/**
 * Every file in `dir`, or, when it has sub-folders, every file in them (at any depth), its class the sub-folder it
 * is in. Hidden files and folders (.DS_Store, .git) are skipped; every other file must be an image. Throws
 * ImageFolderError when there is nothing to read.
 */
export function listImageFolder(dir: string): FolderListing {
  if (!isDirectory(dir)) throw new ImageFolderError([`${dir}: no such folder (data.images.dir)`]);
  const { files: topFiles, folders: classes } = entries(dir);
  if (classes.length === 0) {
    if (topFiles.length === 0) throw new ImageFolderError([`${dir}: no images in this folder`]);
    return { files: topFiles, classes, problems: [] };
  }
  const problems = topFiles.map(
    (file) => `${file}: outside the class folders (${classes.join(', ')}); move it into one of them, or remove it`,
  );
  if (classes.length > MAX_CLASSES)
    problems.push(`${dir}: ${classes.length} class folders, more than the ${MAX_CLASSES} labels can tell apart`);
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((name, label) => {
    const inClass = filesBelow(join(dir, name));
    if (inClass.length === 0) problems.push(`${join(dir, name)}: a class folder with no images; add some or remove it`);
    files.push(...inClass);
    labels.push(...inClass.map(() => label));
  });
  return { files, labels: Uint8Array.from(labels), classes, problems };
}

function entries(dir: string): { files: string[]; folders: string[] } {
  const names = readdirSync(dir)
    .filter((name) => !name.startsWith('.'))
    .sort();
  const folders = names.filter((name) => isDirectory(join(dir, name)));
  const files = names.filter((name) => !folders.includes(name)).map((name) => join(dir, name));
  return { files, folders };
}

function filesBelow(dir: string): string[] {
  const { files, folders } = entries(dir);
  return [...files, ...folders.flatMap((name) => filesBelow(join(dir, name)))].sort();
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

type ImagesSection = NonNullable<Experiment['data']['images']>;

export interface FolderImages {
  /** Every image of the folder, in the listing's order, with its label. */
  all: ImageSet;
  classes: string[];
}

/**
 * Reads, converts and resizes every image of the folder `dir` (options.dir resolved against the spec's folder) to
 * size x size with the channels asked for (`auto`: 1 when every image is grey, else 3). Throws ImageFolderError
 * naming every file that could not be used, and what is wrong with the folder's layout, all at once.
 */
export function readImageFolder(options: ImagesSection, size: number, dir: string): FolderImages {
  const listing = listImageFolder(dir);
  // `auto` reads colour, and keeps one channel at the end if every image turned out grey (then r = g = b exactly).
  const reading = options.channels === 'auto' ? 3 : options.channels;
  const perImage = size * size * reading;
  const pixels = new Uint8Array(listing.files.length * perImage);
  const problems = [...listing.problems];
  let allGrey = true;
  listing.files.forEach((file, i) => {
    try {
      const image = decodeImage(readFileSync(file));
      allGrey &&= isGrey(image);
      const resized = resizeImage(toChannels(image, reading), image, { height: size, width: size }, reading);
      for (let k = 0; k < perImage; k++) pixels[i * perImage + k] = Math.round(Math.min(255, Math.max(0, resized[k])));
    } catch (e) {
      problems.push(`${file}: ${whyUnusable(e)}`);
    }
  });
  if (problems.length > 0) throw new ImageFolderError(problems);
  const all: ImageSet = { count: listing.files.length, height: size, width: size, channels: reading, pixels, labels: listing.labels };
  return { all: options.channels === 'auto' && allGrey ? firstChannel(all) : all, classes: listing.classes };
}

function whyUnusable(e: unknown): string {
  if (e instanceof UndecodableImage) return e.message;
  const code = (e as NodeJS.ErrnoException).code;
  if (code) return `cannot be read (${code})`;
  throw e;
}

function firstChannel(set: ImageSet): ImageSet {
  const pixels = new Uint8Array(set.pixels.length / set.channels);
  for (let p = 0; p < pixels.length; p++) pixels[p] = set.pixels[p * set.channels];
  return { ...set, channels: 1, pixels };
}

/**
 * The folder has no official test set, so one is held out the same way for every run: within each class (or the
 * whole folder, without classes), a fixed shuffle of its files in sorted order (seed 0, not the run's seed, so runs
 * of different seeds are tested on the same images, as with MNIST) gives its first round(fraction x n) to the test
 * set, leaving at least one image to train on. The test set is then put in a fixed shuffled order, so `data.limit`
 * (which tests on the first N test images) samples every class.
 */
export function holdOutTestSet(all: ImageSet, fraction: number, dir: string): { train: ImageSet; test: ImageSet } {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < all.count; i++) {
    const label = all.labels?.[i] ?? 0;
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label)!.push(i);
  }
  const isTest = new Uint8Array(all.count);
  for (const [label, members] of byClass) {
    const held = Math.min(members.length - 1, Math.round(fraction * members.length));
    seededPermutation(members.length, 0, `images-test:${label}`)
      .subarray(0, held)
      .forEach((k) => (isTest[members[k]] = 1));
  }
  const test = [...isTest.keys()].filter((i) => isTest[i]);
  const train = [...isTest.keys()].filter((i) => !isTest[i]);
  if (test.length === 0) {
    throw new ImageFolderError([
      `${dir}: ${all.count} images leave none for the test set at test_fraction ${fraction}; add images or raise data.images.test_fraction`,
    ]);
  }
  const order = seededPermutation(test.length, 0, 'images-test-order');
  return {
    train: subset(all, train),
    test: subset(
      all,
      Array.from(order, (k) => test[k]),
    ),
  };
}
