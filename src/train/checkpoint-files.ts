// A run's checkpoints as files, without tfjs (a sweep reads them too): which folder holds the latest or the previous
// one, its state.json, and what every file looked like when it was saved (its size and SHA-256, kept in state.json),
// checked before a resume loads anything: a file cut short or changed by a disk or copy fault is named in one line
// instead of surfacing as a tensor of the wrong size deep inside tfjs. Saving and loading are in checkpoint.ts.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { RunRecord } from '../record/run-record.ts';
import type { TrainingState } from './trainer.ts';

/** Written last: a checkpoint folder without it is incomplete. */
export const STATE_FILE = 'state.json';

/** state.json: the training state, and since checksums came in, what every other file was when saved. */
export type SavedState = TrainingState & { files?: Record<string, SavedFile> };

export interface SavedFile {
  bytes: number;
  sha256: string;
}

export type Generation = 'latest' | 'previous';

/** The folder of the run's last complete checkpoint, or of the one saved before it; undefined when there is none. */
export function checkpointDir(runDir: string, generation: Generation = 'latest'): string | undefined {
  const { current, previous } = new RunRecord(runDir).checkpointDirs();
  const complete = [current, previous].filter((dir) => existsSync(join(dir, STATE_FILE)));
  return generation === 'latest' ? complete[0] : complete[1];
}

export function readSavedState(dir: string): SavedState {
  return JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as SavedState;
}

/** What is wrong with the checkpoint in dir, naming the file; undefined when every file is as it was saved. */
export function checkpointDamage(dir: string): string | undefined {
  let saved: SavedState;
  try {
    saved = readSavedState(dir);
  } catch (e) {
    return `${join(dir, STATE_FILE)}: damaged (${(e as Error).message})`;
  }
  // Checkpoints from before checksums have no list of files: they load as they are.
  const damaged = saved.files && firstDamagedFile(dir, saved.files);
  return damaged && `${damaged.file}: damaged (${damaged.problem})`;
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
