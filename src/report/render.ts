// `vae report`'s table as Markdown, CSV and a picture: per setting, the obtained mean ± std over seeds as a point
// with an error bar, the reference as a tick, and the band of numbers that pass.
import type { VegaLiteSpec } from '../artifacts/plot.ts';
import { csvNumber, csvTable } from '../artifacts/csv.ts';
import { describeCheck, formatDifference, formatValue, type ReferenceCheck } from '../reference/reference-check.ts';
import type { ReportRow } from './table.ts';

const HEADER = [
  'setting',
  'metric',
  'n',
  'obtained mean',
  'obtained std',
  'reference',
  'tolerance',
  'passes',
  'difference',
  'verdict',
  'source',
];

export function reportCsv(rows: readonly ReportRow[]): string {
  const lines = rows.map((r) => {
    const c = r.check;
    if (!c) return [r.label, '', String(r.finished), '', '', '', '', '', '', 'no reference', ''];
    return [
      r.label,
      c.metric,
      String(c.n),
      csvNumber(c.obtained),
      csvNumber(c.std),
      csvNumber(c.reference),
      csvNumber(c.tolerance),
      c.passes,
      csvNumber(c.difference),
      c.verdict,
      c.source,
    ];
  });
  return csvTable([HEADER, ...lines]);
}

export function reportMarkdown(rows: readonly ReportRow[]): string {
  const row = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const header = ['setting', 'metric', 'obtained (mean ± std, n)', 'reference', 'difference', 'verdict', 'source'];
  const lines = rows.map((r) => {
    const c = r.check;
    const unfinished = r.unfinished > 0 ? ` (${r.unfinished} not finished)` : '';
    if (!c) return [r.label, '–', `n=${r.finished}${unfinished}`, '–', '–', 'no reference', '–'];
    const spread = Number.isFinite(c.std) ? ` ± ${formatValue(c.std)}` : '';
    const bound = {
      within: `${formatValue(c.reference)} ± ${formatValue(c.tolerance)}`,
      at_most: `≤ ${formatValue(c.reference + c.tolerance)}`,
      at_least: `≥ ${formatValue(c.reference - c.tolerance)}`,
    }[c.passes];
    const verdict = c.verdict === 'one seed' ? 'one seed: not a result' : c.verdict;
    return [
      r.label,
      c.metric,
      `${formatValue(c.obtained)}${spread} (n=${c.n})${unfinished}`,
      `${formatValue(c.reference)} (passes ${bound})`,
      formatDifference(c.difference),
      verdict,
      c.source,
    ];
  });
  const note = 'Obtained: mean ± sample std over the seeds of each setting. A mean over one seed is not called a result.';
  return [note, '', row(header), row(header.map(() => '---')), ...lines.map(row)].join('\n') + '\n';
}

/** The lines `vae report` prints: one per setting. */
export function reportLines(rows: readonly ReportRow[]): string[] {
  return rows.map((r) => `${r.label}: ${r.check ? describeCheck(r.check) : `no reference: block in its spec (n=${r.finished})`}`);
}

export function reportPlotSpec(rows: readonly ReportRow[]): VegaLiteSpec {
  const checked = rows.filter((r) => r.check && Number.isFinite(r.check.obtained));
  const values = checked.map((r) => plotPoint(r.label, r.check!));
  const title = {
    text: 'obtained vs reference',
    subtitle: 'green band: the numbers that pass; tick: the reference; point and bar: mean ± std over seeds',
  };
  const layer = plotLayers(checked.map((r) => r.label));
  // One panel per metric, each with its own axes (vconcat, not a facet: a facet with independent scales warns).
  const metrics = [...new Set(values.map((v) => v.metric))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    vconcat: metrics.map((metric) => ({
      title: metric,
      transform: [{ filter: { field: 'metric', equal: metric } }],
      width: 420,
      height: { step: 28 },
      layer,
    })),
  } as VegaLiteSpec;
}

function plotPoint(setting: string, c: ReferenceCheck) {
  const spread = Number.isFinite(c.std) ? c.std : 0;
  // A one-sided reference passes without bound on one side: the band reaches past the point or the reference.
  const [passLo, passHi] = {
    within: [c.reference - c.tolerance, c.reference + c.tolerance],
    at_most: [Math.min(c.obtained - spread, c.reference) - c.tolerance, c.reference + c.tolerance],
    at_least: [c.reference - c.tolerance, Math.max(c.obtained + spread, c.reference) + c.tolerance],
  }[c.passes];
  const { metric, obtained: mean, reference, verdict, n } = c;
  return { setting, metric, mean, lo: mean - spread, hi: mean + spread, reference, passLo, passHi, verdict, n };
}

function plotLayers(settings: string[]) {
  const y = { field: 'setting', type: 'nominal' as const, title: null, sort: settings, axis: { labelLimit: 360 } };
  const x = (field: string) => ({
    field,
    type: 'quantitative' as const,
    title: 'obtained (mean ± std) and reference',
    scale: { zero: false },
  });
  const verdictColour = { domain: ['pass', 'miss', 'one seed'], range: ['#2e7d32', '#c62828', '#9e9e9e'] };
  return [
    { mark: { type: 'bar' as const, color: '#c8e6c9', height: 14 }, encoding: { y, x: x('passLo'), x2: { field: 'passHi' } } },
    { mark: { type: 'tick' as const, color: '#2e7d32', thickness: 2 }, encoding: { y, x: x('reference') } },
    { mark: { type: 'rule' as const }, encoding: { y, x: x('lo'), x2: { field: 'hi' } } },
    {
      mark: { type: 'point' as const, filled: true, size: 70 },
      encoding: {
        y,
        x: x('mean'),
        color: { field: 'verdict', type: 'nominal' as const, scale: verdictColour },
        tooltip: [{ field: 'mean' }, { field: 'n' }, { field: 'reference' }],
      },
    },
  ];
}
