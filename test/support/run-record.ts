// Finding what `vae run` left under --runs-dir; src/record/run-record.ts reads it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Overrides for a run of a few seconds on real MNIST: 240 train / 80 val / 320 test images, two epochs. */
export const TINY_RUN = ['data.limit=320', 'data.split.train=0.75', 'data.split.val=0.25', 'train.batch_size=32', 'train.epochs=2'];

/** The one run directory under runsDir/<experiment>/; fails when there is not exactly one. */
export function onlyRunDir(runsDir: string, experiment = 'vae-mnist'): string {
  const runs = readdirSync(join(runsDir, experiment));
  if (runs.length !== 1) throw new Error(`expected one run under ${join(runsDir, experiment)}, found ${runs.length}`);
  return join(runsDir, experiment, runs[0]);
}
