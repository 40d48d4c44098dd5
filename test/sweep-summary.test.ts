// A β sweep's summary: every disentanglement score is a column of the table and a panel of the plot, mean ± std.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderVegaLite } from '../src/artifacts/plot.ts';
import type { TrialOutcome } from '../src/sweep/record.ts';
import { summarizeOutcomes, summaryCsv } from '../src/sweep/summary.ts';
import { summaryPlotSpec } from '../src/sweep/summary-plot.ts';

function trial(beta: number, seed: number, mig: number, factorVae: number): TrialOutcome {
  return {
    trial_id: `b${beta}s${seed}`,
    index: 0,
    overrides: [`loss.kl_weight=${beta}`, `seed=${seed}`],
    setting: `loss.kl_weight=${beta}`,
    status: 'FINISHED',
    metrics: { 'test/neg_elbo': 40 + beta, 'disentanglement/mig': mig, 'disentanglement/factor_vae': factorVae, 'perf/epoch_seconds': 3 },
    start_time: 0,
    end_time: 1,
  };
}

const outcomes = [trial(1, 1, 0.05, 0.5), trial(1, 2, 0.07, 0.6), trial(4, 1, 0.2, 0.7), trial(4, 2, 0.3, 0.8)];
const metric = { name: 'disentanglement/mig', direction: 'maximize' as const };

describe('sweep summary with disentanglement scores', () => {
  it('ranks by the chosen score and keeps every test metric and score as columns', () => {
    const summary = summarizeOutcomes(outcomes, metric);
    assert.deepEqual(summary.metrics, ['disentanglement/mig', 'disentanglement/factor_vae', 'test/neg_elbo']);
    assert.equal(summary.rows[0].values['loss.kl_weight'], '4', 'the higher MIG first');
    assert.ok(Math.abs(summary.rows[0].stats['disentanglement/mig'].mean - 0.25) < 1e-12);
    assert.ok(Math.abs(summary.rows[0].stats['disentanglement/mig'].std - Math.SQRT1_2 * 0.1) < 1e-12);
    assert.match(summaryCsv(summary).split('\n')[0], /disentanglement\/factor_vae mean,disentanglement\/factor_vae std/);
  });

  it('plots one panel per score against β, in numeric order, and renders', async () => {
    const spec = summaryPlotSpec(summarizeOutcomes(outcomes, metric)) as unknown as {
      facet: { field: string; sort: string[] };
      data: { values: { metric: string; x: string }[] };
    };
    assert.equal(spec.facet.field, 'metric');
    assert.deepEqual(spec.facet.sort, ['disentanglement/mig', 'disentanglement/factor_vae']);
    assert.deepEqual(
      spec.data.values.filter((p) => p.metric === 'disentanglement/mig').map((p) => p.x),
      ['1', '4'],
    );
    const { png } = await renderVegaLite(spec as never);
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
  });
});
