// A sweep as a list of trials: base specs x grid combinations x random draws x seeds, each with a stable id.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import seedrandom from 'seedrandom';
import { parse } from 'yaml';
import type { Distribution, Sweep } from './sweep.generated.ts';

export interface Trial {
  /** Position in the sweep: the array-job index that runs this trial. */
  index: number;
  /** Hash of the sweep id and the sorted overrides, so a rerun of the same sweep finds the same trial. */
  id: string;
  /** The experiment spec the trial starts from. */
  base: string;
  /** With a list of base specs: the trial's spec as its setting names it (its path beside the others), e.g. iwae-mnist.yaml. */
  spec?: string;
  /** The swept values as dotted.path=value overrides, in the sweep's order (seed last). */
  overrides: string[];
  /** The overrides without the seed (after `spec=<spec>` with a list of bases): trials that differ only in seed share a setting. */
  setting: string;
}

/** The sweep's base specs: its one base, or its list. */
export function baseFiles(sweep: Sweep): string[] {
  return Array.isArray(sweep.base) ? sweep.base : [sweep.base];
}

/** The contents of the base spec, or of each in a list of them, for sweepId. */
export function readBases(sweep: Sweep): string | string[] {
  return Array.isArray(sweep.base) ? sweep.base.map((f) => readFileSync(f, 'utf8')) : readFileSync(sweep.base, 'utf8');
}

/**
 * `<name>-<hash>`: the same definition (and base file contents) always gives the same id, so running a sweep
 * again, or on other machines, joins the same record and parent run. `parallel` and `metric` change how it runs
 * and is ranked, not its trials, so they are left out. With a list of bases, every base's contents count, in order.
 */
export function sweepId(sweep: Sweep, baseText: string | readonly string[]): string {
  const { name, overrides, grid, random, seeds, seed } = sweep;
  if (Array.isArray(sweep.base) !== Array.isArray(baseText)) throw new Error('sweepId: one base text per base file');
  const definition = JSON.stringify({
    name,
    base: typeof baseText === 'string' ? sha256(baseText) : baseText.map(sha256),
    overrides,
    grid,
    random: random ?? null,
    seeds,
    seed: random ? seed : null,
  });
  return `${name}-${sha256(definition).slice(0, 8)}`;
}

export function expandTrials(sweep: Sweep, id: string): Trial[] {
  const settings = cartesian(Object.entries(sweep.grid)).flatMap((point) => drawRandom(sweep).map((draw) => [...point, ...draw]));
  const seeds = sweep.seeds.length > 0 ? sweep.seeds : [undefined];
  const bases = baseFiles(sweep);
  const labels = Array.isArray(sweep.base) ? specLabels(bases) : [];
  return bases
    .flatMap((base, b) =>
      settings.flatMap((setting) =>
        seeds.map((seed) => {
          const overrides = setting.map(([path, value]) => formatOverride(path, value));
          const all = seed === undefined ? overrides : [...overrides, `seed=${seed}`];
          const spec: string | undefined = labels[b];
          const named = spec === undefined ? overrides : [`spec=${spec}`, ...overrides];
          return { id: trialId(id, all, spec), base, ...(spec === undefined ? {} : { spec }), overrides: all, setting: named.join(' ') };
        }),
      ),
    )
    .map((t, index) => ({ index, ...t }));
}

/** What the trial runs, for people: `spec=<spec>` with a list of bases, then its overrides. */
export function describeTrial(trial: Pick<Trial, 'spec' | 'overrides'>): string {
  return [...(trial.spec === undefined ? [] : [`spec=${trial.spec}`]), ...trial.overrides].join(' ');
}

/** `spec` (a list of bases only) sets trials of one setting on different specs apart; a single base's ids leave it out. */
export function trialId(sweepId: string, overrides: readonly string[], spec?: string): string {
  const named = spec === undefined ? [] : [`spec=${spec}`];
  return sha256([sweepId, ...named, ...[...overrides].sort()].join('\n')).slice(0, 12);
}

/**
 * Each spec's path from the folder all of them are in: the file name when they sit together (iwae-mnist.yaml), so
 * labels and trial ids do not depend on the working directory.
 */
function specLabels(files: readonly string[]): string[] {
  const paths = files.map((f) => resolve(f));
  let dir = dirname(paths[0]);
  const inside = (p: string) => p.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
  while (!paths.every(inside) && dirname(dir) !== dir) dir = dirname(dir);
  return paths.map((p) => relative(dir, p));
}

/** `path=value` with the value written so that reading it back as YAML gives the same value. */
export function formatOverride(path: string, value: unknown): string {
  // JSON is YAML's flow style; plain strings stay unquoted when YAML would read them back as the same string.
  return `${path}=${typeof value === 'string' && parse(value) === value ? value : JSON.stringify(value)}`;
}

type Assignment = [path: string, value: unknown];

function cartesian(axes: [string, unknown[]][]): Assignment[][] {
  return axes.reduce<Assignment[][]>(
    (points, [path, values]) => points.flatMap((p) => values.map((v) => [...p, [path, v] as Assignment])),
    [[]],
  );
}

/** The random search's draws, from a stream seeded by the sweep's `seed`; one empty draw when there is none. */
function drawRandom(sweep: Sweep): Assignment[][] {
  if (!sweep.random) return [[]];
  const rng = seedrandom(`vae-sweep-${sweep.seed}`);
  return Array.from({ length: sweep.random.trials }, () =>
    Object.entries(sweep.random!.params).map(([path, d]) => [path, draw(d, rng)] as Assignment),
  );
}

function draw(d: Distribution, rng: () => number): unknown {
  // Six significant digits keep overrides, params and table rows readable; no sweep needs more resolution.
  const round = (x: number) => Number(x.toPrecision(6));
  if ('choice' in d) return d.choice[Math.floor(rng() * d.choice.length)];
  if ('uniform' in d) return round(d.uniform[0] + rng() * (d.uniform[1] - d.uniform[0]));
  if ('log_uniform' in d) {
    const [lo, hi] = d.log_uniform.map(Math.log);
    return round(Math.exp(lo + rng() * (hi - lo)));
  }
  return d.int_range[0] + Math.floor(rng() * (d.int_range[1] - d.int_range[0] + 1));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
