// What every file of a checkpoint looked like when it was saved (its size and SHA-256, kept in its state.json), and
// the check against it before a resume loads anything: a file cut short or changed by a disk or copy fault is named
// in one line instead of surfacing as a tensor of the wrong size deep inside tfjs.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface SavedFile {
  bytes: number;
  sha256: string;
}

/** Every file under dir, by its posix path relative to dir. */
export function describeFiles(dir: string): Record<string, SavedFile> {
  const files: Record<string, SavedFile> = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(dir, path).split(sep).join('/')] = describe(readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

/** The first file under dir that differs from what was saved, and how; undefined when all are as saved. */
export function firstDamagedFile(dir: string, saved: Record<string, SavedFile>): { file: string; problem: string } | undefined {
  for (const [name, expected] of Object.entries(saved)) {
    const file = join(dir, name);
    if (!existsSync(file)) return { file, problem: 'missing' };
    const bytes = statSync(file).size;
    if (bytes !== expected.bytes) return { file, problem: `${bytes} bytes where ${expected.bytes} were saved` };
    if (describe(readFileSync(file)).sha256 !== expected.sha256) return { file, problem: 'its SHA-256 differs from the one saved with it' };
  }
  return undefined;
}

function describe(content: Buffer): SavedFile {
  return { bytes: content.byteLength, sha256: createHash('sha256').update(content).digest('hex') };
}
