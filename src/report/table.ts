// The "obtained vs reference" table of `vae report`: the runs grouped into settings (everything in their specs but
// the seed), each setting's reference metric as mean ± std over its seeds, and the verdict.
import { checkReference, type Reference, type ReferenceCheck } from '../reference/reference-check.ts';
import type { ReportedRun } from './inputs.ts';

export interface ReportRow {
  /** What sets this group apart from the others: the spec's name and the params that differ between its groups. */
  label: string;
  /** Finished runs (seeds) the numbers are over, and runs that did not finish. */
  finished: number;
  unfinished: number;
  /** Undefined when the group's spec has no `reference:` block. */
  check?: ReferenceCheck;
}

// Not part of what a setting is: the seed, and where it is recorded.
const NOT_A_SETTING = /^(seed$|tracking\.)/;
// Part of a setting, but not what a reader needs in its label: the reference it is compared with is in its own column.
const NOT_IN_LABEL = /^(name$|reference\.)/;

export function reportRows(runs: readonly ReportedRun[]): ReportRow[] {
  const groups = new Map<string, ReportedRun[]>();
  for (const run of runs) {
    const key = JSON.stringify(settingParams(run));
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const members = [...groups.values()];
  const nameOf = (group: ReportedRun[]) => group[0].params.name ?? 'run';
  // A spec's name tells its settings from other specs'; the params that differ tell apart settings of one spec.
  const settingsByName = new Map<string, Record<string, string>[]>();
  for (const group of members) settingsByName.set(nameOf(group), [...(settingsByName.get(nameOf(group)) ?? []), settingParams(group[0])]);
  const differingByName = new Map([...settingsByName].map(([name, settings]) => [name, differingKeys(settings)]));
  return members.map((group) => {
    const params = group[0].params;
    const finished = group.filter((r) => r.status === 'FINISHED');
    const reference = referenceOf(params);
    const differing = differingByName.get(nameOf(group))!;
    const label = [nameOf(group), ...differing.map((k) => `${k}=${params[k] ?? ''}`)].join(' ');
    return {
      label,
      finished: finished.length,
      unfinished: group.length - finished.length,
      ...(reference
        ? {
            check: checkReference(
              reference,
              finished.map((r) => r.metrics[reference.metric] ?? NaN),
            ),
          }
        : {}),
    };
  });
}

function settingParams(run: ReportedRun): Record<string, string> {
  return Object.fromEntries(
    Object.entries(run.params)
      .filter(([key]) => !NOT_A_SETTING.test(key))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

function differingKeys(settings: Record<string, string>[]): string[] {
  const keys = [...new Set(settings.flatMap((s) => Object.keys(s)))].filter((k) => !NOT_IN_LABEL.test(k));
  return keys.filter((k) => new Set(settings.map((s) => s[k])).size > 1);
}

/** The `reference:` block as the run logged it, flattened into params (reference.metric, reference.value, ...). */
function referenceOf(params: Record<string, string>): Reference | undefined {
  if (params['reference.metric'] === undefined) return undefined;
  return {
    metric: params['reference.metric'],
    value: Number(params['reference.value']),
    tolerance: Number(params['reference.tolerance']),
    passes: (params['reference.passes'] ?? 'within') as Reference['passes'],
    source: params['reference.source'] ?? '',
  };
}
