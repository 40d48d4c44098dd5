import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { CheckContext } from './load.ts';
import type { Experiment } from './spec.generated.ts';
import type { PathSegment } from './problems.ts';
import type { Violation } from './validate.ts';

const IDX_FILES = ['train_images', 'train_labels', 'test_images', 'test_labels'] as const;

/** Every data path a spec names, where it is in the spec and as written. */
function dataPaths(data: Experiment['data']): { path: PathSegment[]; written: string }[] {
  const found = IDX_FILES.flatMap((key) => {
    const written = data.idx?.[key];
    return written === undefined ? [] : [{ path: ['data', 'idx', key], written }];
  });
  if (data.images) found.push({ path: ['data', 'images', 'dir'], written: data.images.dir });
  return found;
}

/**
 * A spec file may only point at data inside the project (the working directory): a spec from elsewhere cannot make
 * a run read /etc or ~/.ssh. A path given on the command line is the user's own choice and is not checked.
 */
export function checkDataPaths(spec: Experiment, context: CheckContext, project: string = process.cwd()): Violation[] {
  const root = real(resolve(project));
  const found: Violation[] = [];
  for (const { path, written } of dataPaths(spec.data)) {
    if (context.fromOverride(path)) continue;
    // The dataset loader reads these relative to the spec file; symbolic links are followed to where they lead.
    const target = real(resolve(dirname(context.file), written));
    const inside = relative(root, target);
    if (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside)) continue;
    found.push({
      path,
      atKey: false,
      message: `${quote(written)} is outside the project; to use it anyway, give it on the command line: ${path.join('.')}=${target}`,
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
  const { idx, images } = spec.data;
  const data = { ...spec.data };
  if (idx) {
    data.idx = Object.fromEntries(
      Object.entries(idx).map(([key, path]) => [key, typeof path === 'string' ? resolve(specDir, path) : path]),
    ) as typeof idx;
  }
  if (images) data.images = { ...images, dir: resolve(specDir, images.dir) };
  return { ...spec, data };
}
