import type { VegaLiteSpec } from '../artifacts/plot.ts';
import type { SweepSummary } from './summary.ts';

/** Metrics that get a panel of their own beside the ranked one: what a β sweep is run to see. */
const PLOTTED_PREFIX = 'disentanglement/';

/**
 * The ranked metric against the swept value: mean over seeds as a point, ± one std as an error bar; with
 * disentanglement scores, one panel per score beside it. One swept key with numbers is an ordinal axis in numeric
 * order (latent_dim 2, 5, 10, ... evenly spaced); several keys are one axis of their combinations.
 */
export function summaryPlotSpec(s: SweepSummary): VegaLiteSpec {
  const single = s.keys.length === 1 ? s.keys[0] : undefined;
  const label = (values: Record<string, string>) => (single ? values[single] : s.keys.map((k) => `${k}=${values[k]}`).join(', ')) || 'base';
  const numeric = single !== undefined && s.rows.every((r) => Number.isFinite(Number(r.values[single])));
  const ordered = [...s.rows].sort((a, b) => (numeric ? Number(a.values[single!]) - Number(b.values[single!]) : 0));
  const metrics = [s.metric, ...s.metrics.filter((m) => m !== s.metric && m.startsWith(PLOTTED_PREFIX))];
  const points = metrics.flatMap((metric) =>
    ordered
      .filter((r) => Number.isFinite(r.stats[metric]?.mean))
      .map((r) => {
        const { mean, std } = r.stats[metric];
        const spread = Number.isFinite(std) ? std : 0;
        return { metric, x: label(r.values), mean, lo: mean - spread, hi: mean + spread, seeds: r.finished };
      }),
  );
  const x = {
    field: 'x',
    type: 'ordinal' as const,
    title: single ?? s.keys.join(', '),
    sort: ordered.map((r) => label(r.values)),
    axis: { labelAngle: 0 },
  };
  const yTitle = metrics.length === 1 ? s.metric : 'mean ± std';
  const layer = [
    {
      mark: { type: 'errorbar' as const, ticks: { size: 16 } },
      encoding: { x, y: { field: 'lo', type: 'quantitative' as const, title: yTitle, scale: { zero: false } }, y2: { field: 'hi' } },
    },
    { mark: { type: 'line' as const, opacity: 0.4 }, encoding: { x, y: { field: 'mean', type: 'quantitative' as const } } },
    {
      mark: { type: 'point' as const, filled: true, size: 60 },
      encoding: { x, y: { field: 'mean', type: 'quantitative' as const }, tooltip: [{ field: 'mean' }, { field: 'seeds' }] },
    },
  ];
  const title = {
    text: `${metrics.length === 1 ? s.metric : 'metrics'} by ${single ?? 'setting'}`,
    subtitle: `mean ± std over seeds (${s.metric}: ${s.direction === 'minimize' ? 'lower' : 'higher'} is better)`,
  };
  const size = { width: Math.max(240, 60 * ordered.length), height: 240 };
  const $schema = 'https://vega.github.io/schema/vega-lite/v6.json';
  if (metrics.length === 1) return { $schema, title, ...size, data: { values: points }, layer };
  return {
    $schema,
    title,
    data: { values: points },
    facet: { field: 'metric', type: 'nominal', title: null, sort: metrics },
    columns: 3,
    spec: { ...size, height: 180, layer },
    resolve: { scale: { y: 'independent' } },
  } as VegaLiteSpec;
}
