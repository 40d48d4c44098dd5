// How `vae run --record-file <path>` tells a parent process (a sweep, a script) where it recorded, without anyone
// parsing the lines it prints for people.
import { existsSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from './atomic-write.ts';
import type { RunRecord } from './run-record.ts';

export interface RunLocation {
  run_id: string;
  run_dir: string;
}

export function writeRunLocation(file: string, record: RunRecord): void {
  writeJsonAtomic(file, { run_id: record.runId, run_dir: record.dir } satisfies RunLocation);
}

/** Undefined when the run never got as far as creating its record. */
export function readRunLocation(file: string): RunLocation | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunLocation) : undefined;
}
