import type { VegaLiteSpec } from '../artifacts/plot.ts';
import type { SweepSummary } from './summary.ts';

/**
 * The ranked metric against the swept value: mean over seeds as a point, ± one std as an error bar. One swept key
 * with numbers is an ordinal axis in numeric order (latent_dim 2, 5, 10, ... evenly spaced); several keys are one
 * axis of their combinations.
 */
export function summaryPlotSpec(s: SweepSummary): VegaLiteSpec {
  const single = s.keys.length === 1 ? s.keys[0] : undefined;
  const label = (values: Record<string, string>) => (single ? values[single] : s.keys.map((k) => `${k}=${values[k]}`).join(', ')) || 'base';
  const numeric = single !== undefined && s.rows.every((r) => Number.isFinite(Number(r.values[single])));
  const ordered = [...s.rows].sort((a, b) => (numeric ? Number(a.values[single!]) - Number(b.values[single!]) : 0));
  const means = ordered
    .filter((r) => Number.isFinite(r.stats[s.metric].mean))
    .map((r) => {
      const { mean, std } = r.stats[s.metric];
      const spread = Number.isFinite(std) ? std : 0;
      return { x: label(r.values), mean, lo: mean - spread, hi: mean + spread, seeds: r.finished };
    });
  const x = {
    field: 'x',
    type: 'ordinal' as const,
    title: single ?? s.keys.join(', '),
    sort: ordered.map((r) => label(r.values)),
    axis: { labelAngle: 0 },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${s.metric} by ${single ?? 'setting'}`,
      subtitle: `mean ± std over seeds (${s.direction === 'minimize' ? 'lower' : 'higher'} is better)`,
    },
    width: Math.max(240, 60 * means.length),
    height: 240,
    data: { values: means },
    layer: [
      {
        mark: { type: 'errorbar', ticks: { size: 16 } },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: s.metric, scale: { zero: false } }, y2: { field: 'hi' } },
      },
      { mark: { type: 'line', opacity: 0.4 }, encoding: { x, y: { field: 'mean', type: 'quantitative' } } },
      {
        mark: { type: 'point', filled: true, size: 60 },
        encoding: { x, y: { field: 'mean', type: 'quantitative' }, tooltip: [{ field: 'mean' }, { field: 'seeds' }] },
      },
    ],
  };
}
