import { renameSync, writeFileSync } from 'node:fs';

/** A reader never sees half a file: write beside it, then rename over it. */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Temporary files writeFileAtomic leaves only when it is killed between its two steps. */
export function isAtomicWriteLeftover(path: string): boolean {
  return path.endsWith('.tmp');
}
