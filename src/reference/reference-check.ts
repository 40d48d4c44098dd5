// Whether a number reproduces its reference: the spec's `reference:` block against what a run, or the seeds of a
// setting, obtained. One judgement, used by `vae run`, the sweep summary and `vae report`.
import type { Experiment } from '../experiment-spec/spec.generated.ts';

export type Reference = NonNullable<Experiment['reference']>;

/**
 * pass / miss; `one seed` for a mean over a single run, which is never called a result; `not computed` when the runs
 * do not have the metric (for example test/iwae_nll with eval.iwae_samples: 0).
 */
export type Verdict = 'pass' | 'miss' | 'one seed' | 'not computed';

export interface ReferenceCheck {
  metric: string;
  /** The mean over the runs. */
  obtained: number;
  /** Sample standard deviation over the runs; NaN for one run. */
  std: number;
  n: number;
  reference: number;
  tolerance: number;
  passes: Reference['passes'];
  /** obtained − reference. */
  difference: number;
  verdict: Verdict;
  source: string;
}

/** `values`: the metric of each run compared, one per seed. `single`: judging one run on its own, as `vae run` does. */
export function checkReference(reference: Reference, values: readonly number[], single = false): ReferenceCheck {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  const obtained = n > 0 ? finite.reduce((a, b) => a + b, 0) / n : NaN;
  const std = n > 1 ? Math.sqrt(finite.reduce((a, v) => a + (v - obtained) ** 2, 0) / (n - 1)) : NaN;
  const difference = obtained - reference.value;
  const verdict: Verdict = n === 0 ? 'not computed' : n === 1 && !single ? 'one seed' : within(reference, difference) ? 'pass' : 'miss';
  return {
    metric: reference.metric,
    obtained,
    std,
    n,
    reference: reference.value,
    tolerance: reference.tolerance,
    passes: reference.passes,
    difference,
    verdict,
    source: reference.source,
  };
}

function within(reference: Reference, difference: number): boolean {
  // A hair of slack for numbers that went through text (CSV, MLflow) on their way here.
  const tolerance = reference.tolerance + 1e-9 * Math.max(1, Math.abs(reference.value));
  if (reference.passes === 'at_most') return difference <= tolerance;
  if (reference.passes === 'at_least') return difference >= -tolerance;
  return Math.abs(difference) <= tolerance;
}

/** One line, e.g. `test/neg_elbo 105.42 against 105.6, passing at most 106.66 (pytorch/examples vae/main.py): -0.18, pass`. */
export function describeCheck(check: ReferenceCheck): string {
  const obtained = Number.isFinite(check.std)
    ? `${formatValue(check.obtained)} ± ${formatValue(check.std)} (n=${check.n})`
    : formatValue(check.obtained);
  const { reference: value, tolerance } = check;
  const bound = {
    within: `passing within ${formatValue(value - tolerance)} to ${formatValue(value + tolerance)}`,
    at_most: `passing at most ${formatValue(value + tolerance)}`,
    at_least: `passing at least ${formatValue(value - tolerance)}`,
  }[check.passes];
  const difference = formatDifference(check.difference);
  const verdict = check.verdict === 'one seed' ? 'one seed: not a result, run more seeds' : check.verdict;
  return `${check.metric} ${obtained} against ${formatValue(value)}, ${bound} (${check.source}): ${difference}, ${verdict}`;
}

/** A difference with its sign, e.g. +0.42 or -0.206. */
export function formatDifference(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${formatValue(x)}` : '–';
}

/** Two decimals for numbers like nats, three significant digits for scores below 1. */
export function formatValue(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return String(Number(Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3)));
}
