import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { CheckContext } from './load.ts';
import type { Experiment } from './spec.generated.ts';
import type { Violation } from './validate.ts';

const IDX_FILES = ['train_images', 'train_labels', 'test_images', 'test_labels'] as const;

/**
 * A spec file may only point at data inside the project (the working directory): a spec from elsewhere cannot make
 * a run read /etc or ~/.ssh. A path given on the command line is the user's own choice and is not checked.
 */
export function checkDataPaths(spec: Experiment, context: CheckContext, project: string = process.cwd()): Violation[] {
  const files = spec.data.idx;
  if (!files) return [];
  const root = real(resolve(project));
  const found: Violation[] = [];
  for (const key of IDX_FILES) {
    const written = files[key];
    const path = ['data', 'idx', key];
    if (written === undefined || context.fromOverride(path)) continue;
    // The dataset loader reads these relative to the spec file; symbolic links are followed to where they lead.
    const target = real(resolve(dirname(context.file), written));
    const inside = relative(root, target);
    if (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside)) continue;
    found.push({
      path,
      atKey: false,
      message: `${quote(written)} is outside the project; to use it anyway, give it on the command line: data.idx.${key}=${target}`,
    });
  }
  return found;
}

/** The path with every symbolic link resolved, as far as it exists. */
function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : resolve(real(parent), relative(parent, path));
  }
}

function quote(text: string): string {
  return `'${text}'`;
}

/**
 * The spec with its data files as absolute paths, for the resolved spec a run records: that copy lives in the run
 * folder, and --resume reads it from there, where paths relative to the original spec would point elsewhere.
 */
export function withAbsoluteDataPaths<T extends Pick<Experiment, 'data'>>(spec: T, specDir: string): T {
  const files = spec.data.idx;
  if (!files) return spec;
  const absolute = Object.fromEntries(
    Object.entries(files).map(([key, path]) => [key, typeof path === 'string' ? resolve(specDir, path) : path]),
  );
  return { ...spec, data: { ...spec.data, idx: absolute } };
}
