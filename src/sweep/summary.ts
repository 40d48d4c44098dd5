// The sweep's result: one row per setting (the swept values without the seed), mean and std over its seeds.
import { csvNumber, csvTable } from '../artifacts/csv.ts';
import { checkReference, describeCheck, type Reference, type ReferenceCheck } from '../reference/reference-check.ts';
import type { TrialOutcome } from './record.ts';

export interface MetricStats {
  mean: number;
  /** Sample standard deviation over seeds; NaN with a single seed. */
  std: number;
}

export interface SettingRow {
  setting: string;
  /** Swept key -> value as written in the override (the seed excluded); `spec` first with a list of base specs. */
  values: Record<string, string>;
  finished: number;
  failed: number;
  stats: Record<string, MetricStats>;
  /** The setting's trial with the best ranked metric. */
  bestTrial?: TrialOutcome;
  /** Its seeds' mean against the reference of its spec, when the spec has one. */
  reference?: ReferenceCheck;
}

export interface SweepSummary {
  metric: string;
  direction: 'minimize' | 'maximize';
  /** Metric columns: the ranked metric first, then the other test metrics and disentanglement scores. */
  metrics: string[];
  /** Swept keys other than the seed, in the sweep's order. */
  keys: string[];
  /** Best setting first; settings without the metric last. */
  rows: SettingRow[];
}

/** `referenceOf`: the `reference:` block of a trial's spec, if it has one. */
export function summarizeOutcomes(
  outcomes: readonly TrialOutcome[],
  metric: { name: string; direction: 'minimize' | 'maximize' },
  referenceOf: (trialId: string) => Reference | undefined = () => undefined,
): SweepSummary {
  const finished = outcomes.filter((o) => o.status === 'FINISHED');
  const reported = (key: string) => key.startsWith('test/') || key.startsWith('disentanglement/');
  const others = new Set(finished.flatMap((o) => Object.keys(o.metrics)).filter((k) => reported(k) && k !== metric.name));
  const metrics = [metric.name, ...[...others].sort()];
  const keys = [...new Set(outcomes.flatMap((o) => settingValues(o).map(([k]) => k)))];
  const sign = metric.direction === 'minimize' ? 1 : -1;
  const bySetting = new Map<string, TrialOutcome[]>();
  for (const o of outcomes) bySetting.set(o.setting, [...(bySetting.get(o.setting) ?? []), o]);
  const rows = [...bySetting.entries()].map(([setting, trials]): SettingRow => {
    const done = trials.filter((t) => t.status === 'FINISHED');
    const stats = Object.fromEntries(
      metrics.map((m) => [m, meanStd(done.map((t) => t.metrics[m]).filter((v) => typeof v === 'number' && Number.isFinite(v)))]),
    );
    const ranked = done
      .filter((t) => Number.isFinite(t.metrics[metric.name]))
      .sort((a, b) => sign * (a.metrics[metric.name] - b.metrics[metric.name]));
    const reference = referenceOf(trials[0].trial_id);
    return {
      setting,
      values: Object.fromEntries(settingValues(trials[0])),
      finished: done.length,
      failed: trials.length - done.length,
      stats,
      ...(ranked[0] ? { bestTrial: ranked[0] } : {}),
      ...(reference
        ? {
            reference: checkReference(
              reference,
              done.map((t) => t.metrics[reference.metric] ?? NaN),
            ),
          }
        : {}),
    };
  });
  const score = (r: SettingRow) => (Number.isFinite(r.stats[metric.name].mean) ? sign * r.stats[metric.name].mean : Infinity);
  rows.sort((a, b) => score(a) - score(b));
  return { metric: metric.name, direction: metric.direction, metrics, keys, rows };
}

/** CSV with a header row: the swept keys, trial counts, then `<metric> mean` and `<metric> std` per metric. */
export function summaryCsv(s: SweepSummary): string {
  const withReference = s.rows.some((r) => r.reference);
  const header = [
    ...s.keys,
    'finished',
    'failed',
    ...s.metrics.flatMap((m) => [`${m} mean`, `${m} std`]),
    ...(withReference ? ['reference metric', 'reference', 'tolerance', 'difference', 'verdict'] : []),
  ];
  const lines = s.rows.map((r) => [
    ...s.keys.map((k) => r.values[k] ?? ''),
    r.finished,
    r.failed,
    ...s.metrics.flatMap((m) => [csvNumber(r.stats[m].mean), csvNumber(r.stats[m].std)]),
    ...(withReference ? referenceCells(r.reference) : []),
  ]);
  return csvTable([header, ...lines]);
}

/** The same table in Markdown, `mean ± std` per metric, best setting first. */
export function summaryMarkdown(s: SweepSummary): string {
  const header = [...s.keys, 'seeds ok', 'failed', ...s.metrics];
  const lines = s.rows.map((r) => [
    ...s.keys.map((k) => r.values[k] ?? ''),
    String(r.finished),
    String(r.failed),
    ...s.metrics.map((m) => meanPlusMinus(r.stats[m])),
  ]);
  const row = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const ranked = `Ranked by ${s.metric} (${s.direction === 'minimize' ? 'lower' : 'higher'} is better); mean ± std over seeds.`;
  const checked = s.rows.filter((r) => r.reference);
  const references = checked.length
    ? ['', 'Against the reference:', '', ...checked.map((r) => `- ${settingLabel(s, r)}: ${describeCheck(r.reference!)}`)]
    : [];
  return [ranked, '', row(header), row(header.map(() => '---')), ...lines.map(row), ...references].join('\n') + '\n';
}

/** pass when every setting with a reference passes; otherwise the first other verdict. Undefined with no reference. */
export function referenceVerdict(s: SweepSummary): string | undefined {
  const verdicts = s.rows.flatMap((r) => (r.reference ? [r.reference.verdict] : []));
  if (verdicts.length === 0) return undefined;
  return verdicts.find((v) => v !== 'pass') ?? 'pass';
}

function settingLabel(s: SweepSummary, r: SettingRow): string {
  return s.keys.map((k) => `${k}=${r.values[k] ?? ''}`).join(' ') || 'base';
}

function referenceCells(check: ReferenceCheck | undefined): string[] {
  if (!check) return ['', '', '', '', ''];
  return [check.metric, csvNumber(check.reference), csvNumber(check.tolerance), csvNumber(check.difference), check.verdict];
}

/** The trial's spec first when the sweep has a list of them, then its swept values without the seed. */
function settingValues(o: TrialOutcome): [string, string][] {
  const values = o.overrides
    .map((text) => [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)] as [string, string])
    .filter(([key]) => key !== 'seed');
  return o.spec === undefined ? values : [['spec', o.spec], ...values];
}

function meanStd(values: number[]): MetricStats {
  if (values.length === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : NaN;
  return { mean, std };
}

function meanPlusMinus({ mean, std }: MetricStats): string {
  if (!Number.isFinite(mean)) return '–';
  return Number.isFinite(std) ? `${mean.toFixed(2)} ± ${std.toFixed(2)}` : mean.toFixed(2);
}
