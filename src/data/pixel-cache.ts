import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where generated data is kept between runs: `.cache/` at the project's root, like the TensorFlow wheel. */
export const DEFAULT_CACHE_DIR = fileURLToPath(new URL('../../.cache/', import.meta.url));

// Node reads and writes at most 2 GiB in one call; the full dSprites grid at 64 x 64 is 3 GB.
const CHUNK = 1 << 28;

/**
 * The bytes in `dir`/`name` when the file is there with exactly `byteLength` bytes; otherwise `make()`'s, written
 * there for next time. A cache that cannot be written (read-only, full) costs the next run the time to make them
 * again, nothing else, so that failure is not an error.
 */
export function cachedBytes(
  dir: string,
  name: string,
  byteLength: number,
  make: () => Uint8Array,
): { bytes: Uint8Array; fromCache: boolean } {
  const file = join(dir, name);
  const cached = readExactly(file, byteLength);
  if (cached) return { bytes: cached, fromCache: true };
  const bytes = make();
  if (bytes.length !== byteLength) throw new Error(`${name}: made ${bytes.length} bytes, expected ${byteLength}`);
  // Written under a private name and renamed into place, so a reader never sees half a file, even from a
  // parallel sweep trial making the same one.
  const partial = `${file}.${process.pid}.partial`;
  try {
    mkdirSync(dir, { recursive: true });
    writeAll(partial, bytes);
    renameSync(partial, file);
  } catch {
    rmSync(partial, { force: true });
  }
  return { bytes, fromCache: false };
}

function readExactly(file: string, byteLength: number): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    if (fstatSync(fd).size !== byteLength) return undefined;
    const bytes = new Uint8Array(byteLength);
    for (let at = 0; at < byteLength;) {
      const read = readSync(fd, bytes, at, Math.min(CHUNK, byteLength - at), at);
      if (read === 0) return undefined;
      at += read;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function writeAll(file: string, bytes: Uint8Array): void {
  const fd = openSync(file, 'w');
  try {
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, Math.min(CHUNK, bytes.length - at));
  } finally {
    closeSync(fd);
  }
}
