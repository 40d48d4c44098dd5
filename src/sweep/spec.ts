// A sweep spec: from a sweep file (schemas/sweep.schema.json), or from an experiment file plus --grid/--seeds.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, normalize, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadDocument, MAX_SPEC_BYTES } from '../experiment-spec/load.ts';
import { SpecError, type Problem } from '../experiment-spec/problems.ts';
import { schemaValidator, type Violation } from '../experiment-spec/validate.ts';
import type { SchemaNode } from '../experiment-spec/describe.ts';
import type { Sweep } from './sweep.generated.ts';
import { baseFiles } from './expand.ts';

export const SWEEP_SCHEMA = JSON.parse(readFileSync(new URL('../../schemas/sweep.schema.json', import.meta.url), 'utf8')) as SchemaNode;
const validateSweep = schemaValidator(SWEEP_SCHEMA);

/**
 * True when a YAML file is a sweep (a top-level `base:` key names its experiment) rather than an experiment spec.
 * The text is searched, not parsed: parsing a hostile file (thousands of nested brackets) near the stack's end can
 * crash V8 outright, and every problem is the loader's to report, with its position, once the kind is known.
 */
export function isSweepFile(file: string): boolean {
  try {
    if (statSync(file).size > MAX_SPEC_BYTES) return false;
    return /^["']?base["']?[ \t]*:/m.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/** Reads and validates a sweep file; `overrides` from the command line are added to the ones every trial gets. */
export function loadSweepFile(file: string, overrides: readonly string[] = []): Sweep {
  const { data } = loadDocument<Sweep>(file, [], {
    validate: validateSweep,
    check: (sweep) => [...checkSweep(sweep), ...missingBases(sweep, dirname(file))],
    fieldsHint: 'name:, base:, grid:, seeds:, ...',
  });
  // The base is written relative to the sweep file; trials load it from the working directory.
  const fromHere = (base: string) => relative(process.cwd(), resolve(dirname(file), base));
  const base = Array.isArray(data.base) ? data.base.map(fromHere) : fromHere(data.base);
  return { ...data, base, overrides: [...data.overrides, ...overrides] };
}

export interface CommandLineSweep {
  /** `--grid path=v1,v2,...`, each value read as YAML. */
  grid: string[];
  /** `--seeds 1,2,3`. */
  seeds?: string;
}

/** A sweep described on the command line around an experiment file; each problem names the option it came from. */
export function sweepFromCommandLine(
  experimentFile: string,
  experimentName: string,
  options: CommandLineSweep,
  overrides: readonly string[],
): Sweep {
  const data: Record<string, unknown> = { name: `${experimentName}-sweep`, base: experimentFile, overrides: [...overrides], grid: {} };
  const sources: { path: string; option: string }[] = [];
  const problems: Problem[] = [];
  for (const text of options.grid) {
    const option = `--grid ${text}`;
    const eq = text.indexOf('=');
    const values = eq > 0 ? readList(text.slice(eq + 1)) : undefined;
    if (!values)
      problems.push({ origin: { option }, path: '', message: 'must look like dotted.path=value,value,..., e.g. model.latent_dim=2,5,10' });
    else (data.grid as Record<string, unknown>)[text.slice(0, eq)] = values;
    sources.push({ path: `grid.${text.slice(0, eq)}`, option });
  }
  if (options.seeds !== undefined) {
    const seeds = readList(options.seeds);
    if (!seeds)
      problems.push({
        origin: { option: `--seeds ${options.seeds}` },
        path: '',
        message: 'must be integers separated by commas, e.g. 1,2,3',
      });
    data.seeds = seeds;
    sources.push({ path: 'seeds', option: `--seeds ${options.seeds}` });
  }
  if (problems.length > 0) throw new SpecError(problems);
  const violations = [...validateSweep(data)];
  if (violations.length === 0) violations.push(...checkSweep(data as unknown as Sweep));
  if (violations.length > 0) {
    throw new SpecError(
      violations.map((v) => {
        const path = v.path.join('.');
        const source = sources.find((s) => path === s.path || path.startsWith(`${s.path}.`) || path.startsWith(`${s.path}[`));
        return { origin: { option: source?.option ?? '--grid/--seeds' }, path: source ? '' : path, message: v.message };
      }),
    );
  }
  return data as unknown as Sweep;
}

/** `2,5,10` or `[400],[400,400]` as a YAML list, or undefined when it is not one. */
function readList(text: string): unknown[] | undefined {
  try {
    const list = parse(`[${text}]`, { maxAliasCount: 0 }) as unknown[];
    return list.length > 0 ? list : undefined;
  } catch {
    return undefined;
  }
}

/** Each base spec that is not a file, said at its place in the sweep file rather than when the sweep reads it. */
function missingBases(sweep: Sweep, dir: string): Violation[] {
  return baseFiles(sweep).flatMap((base, i) => {
    const path = resolve(dir, base);
    if (existsSync(path) && statSync(path).isFile()) return [];
    const where = Array.isArray(sweep.base) ? ['base', i] : ['base'];
    return [{ path: where, atKey: false, message: `no such spec file: ${relative(process.cwd(), path)}` }];
  });
}

/** Rules across fields of a sweep that the schema cannot put in words. */
function checkSweep(sweep: Sweep): Violation[] {
  const found: Violation[] = [];
  if (Array.isArray(sweep.base)) {
    const seen = sweep.base.map((b) => normalize(b));
    seen.forEach((b, i) => {
      const first = seen.indexOf(b);
      if (first < i)
        found.push({ path: ['base', i], atKey: false, message: `is item ${first} again (${sweep.base[first]}); list each spec once` });
    });
  }
  if (Object.keys(sweep.grid).length === 0 && !sweep.random && sweep.seeds.length === 0) {
    found.push({ path: [], atKey: false, message: 'a sweep needs grid:, random: or seeds: (otherwise it is one run: use vae run)' });
  }
  for (const [path, distribution] of Object.entries(sweep.random?.params ?? {})) {
    const [kind, range] = Object.entries(distribution)[0] as [string, unknown[]];
    if (kind !== 'choice' && !((range[0] as number) < (range[1] as number) || (kind === 'int_range' && range[0] === range[1]))) {
      found.push({ path: ['random', 'params', path, kind], atKey: false, message: `lo must be less than hi (got [${range.join(', ')}])` });
    }
    if (path in sweep.grid)
      found.push({ path: ['random', 'params', path], atKey: true, message: 'is also in grid:; sweep a field one way' });
  }
  if (sweep.seeds.length > 0) {
    for (const section of ['grid', 'random'] as const) {
      const swept = section === 'grid' ? sweep.grid : (sweep.random?.params ?? {});
      if ('seed' in swept)
        found.push({
          path: section === 'grid' ? ['grid', 'seed'] : ['random', 'params', 'seed'],
          atKey: true,
          message: 'seeds: already sets the seed of every trial',
        });
    }
  }
  return found;
}
