// A sweep as a list of trials: grid combinations x random draws x seeds, each with a stable id.
import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';
import { parse } from 'yaml';
import type { Distribution, Sweep } from './sweep.generated.ts';

export interface Trial {
  /** Position in the sweep: the array-job index that runs this trial. */
  index: number;
  /** Hash of the sweep id and the sorted overrides, so a rerun of the same sweep finds the same trial. */
  id: string;
  /** The swept values as dotted.path=value overrides, in the sweep's order (seed last). */
  overrides: string[];
  /** The overrides without the seed: trials that differ only in seed share a setting. */
  setting: string;
}

/**
 * `<name>-<hash>`: the same definition (and base file contents) always gives the same id, so running a sweep
 * again, or on other machines, joins the same record and parent run. `parallel` and `metric` change how it runs
 * and is ranked, not its trials, so they are left out.
 */
export function sweepId(sweep: Sweep, baseText: string): string {
  const { name, overrides, grid, random, seeds, seed } = sweep;
  const definition = JSON.stringify({
    name,
    base: sha256(baseText),
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
  return settings
    .flatMap((setting) =>
      seeds.map((seed) => {
        const overrides = setting.map(([path, value]) => formatOverride(path, value));
        const all = seed === undefined ? overrides : [...overrides, `seed=${seed}`];
        return { id: trialId(id, all), overrides: all, setting: overrides.join(' ') };
      }),
    )
    .map((t, index) => ({ index, ...t }));
}

export function trialId(sweepId: string, overrides: readonly string[]): string {
  return sha256([sweepId, ...[...overrides].sort()].join('\n')).slice(0, 12);
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
