// The spec's reference: block: the judgement itself, the grouping into settings, and `vae report` on real runs.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { RunRecord } from '../src/record/run-record.ts';
import { checkReference, type Reference } from '../src/reference/reference-check.ts';
import type { ReportedRun } from '../src/report/inputs.ts';
import { reportRows } from '../src/report/table.ts';
import { vae } from './support/cli.ts';
import { scratchFolders } from './support/scratch.ts';

const loss: Reference = { metric: 'test/neg_elbo', value: 100, tolerance: 1, passes: 'at_most', source: 'a paper' };

describe('checking a number against its reference', () => {
  it('at_most passes at or below value + tolerance, beating the reference included', () => {
    assert.equal(checkReference(loss, [100.9, 101.0]).verdict, 'pass');
    assert.equal(checkReference(loss, [90, 92]).verdict, 'pass');
    assert.equal(checkReference(loss, [101.5, 101.7]).verdict, 'miss');
    // The bound a report prints, read back: 106.66 - 105.6 is 1.0600000000000023 in doubles, past a tolerance of 1.06.
    const printed = { ...loss, value: 105.6, tolerance: 1.06 };
    assert.equal(checkReference(printed, [106.66, 106.66]).verdict, 'pass', 'a number exactly at the bound passes');
  });

  it('within is two-sided; at_least is for scores', () => {
    const within = { ...loss, passes: 'within' as const };
    assert.equal(checkReference(within, [99.2, 99.4]).verdict, 'pass');
    assert.equal(checkReference(within, [98, 98.5]).verdict, 'miss');
    const score = { ...loss, metric: 'disentanglement/mig', value: 0.2, tolerance: 0.05, passes: 'at_least' as const };
    assert.equal(checkReference(score, [0.16, 0.18]).verdict, 'pass');
    assert.equal(checkReference(score, [0.1, 0.12]).verdict, 'miss');
  });

  it('mean and sample std over seeds, the difference, and no result from one seed', () => {
    const check = checkReference(loss, [100, 102]);
    assert.equal(check.obtained, 101);
    assert.equal(check.std, Math.SQRT2);
    assert.equal(check.difference, 1);
    assert.equal(checkReference(loss, [100.5]).verdict, 'one seed');
    assert.equal(checkReference(loss, [100.5], true).verdict, 'pass', 'one run judged on its own, as vae run does');
    assert.equal(checkReference(loss, [NaN]).verdict, 'not computed');
  });

  it('groups runs into settings by everything but the seed, and labels them by name and what differs within a name', () => {
    // How a run was recorded is no part of its setting: each seed here logged its loss at another interval.
    const run = (seed: number, latent: number, value: number, status = 'FINISHED'): ReportedRun => ({
      origin: `run-${seed}-${latent}`,
      status,
      params: {
        name: 'vae-mnist',
        seed: String(seed),
        'model.latent_dim': String(latent),
        'tracking.experiment': 'x',
        'tracking.log_every_steps': String(10 * seed),
        ...flat(loss),
      },
      metrics: { 'test/neg_elbo': value },
    });
    const other = (seed: number, latent: number): ReportedRun => ({
      ...run(seed, latent, 98),
      params: { ...run(seed, latent, 98).params, name: 'iwae-mnist' },
    });
    const rows = reportRows([
      run(1, 2, 99),
      run(2, 2, 100),
      run(1, 5, 103),
      run(2, 5, 104),
      run(3, 5, 1, 'FAILED'),
      other(1, 5),
      other(2, 5),
    ]);
    assert.deepEqual(
      rows.map((r) => [r.label, r.finished, r.unfinished, r.check?.verdict, r.check?.obtained]),
      [
        ['vae-mnist model.latent_dim=2', 2, 0, 'pass', 99.5],
        ['vae-mnist model.latent_dim=5', 2, 1, 'miss', 103.5],
        // The only setting of its spec: the name says it all, though its latent_dim differs from the first row's.
        ['iwae-mnist', 2, 0, 'pass', 98],
      ],
    );
  });
});

describe('vae report on real runs', { timeout: 240_000 }, () => {
  const scratch = scratchFolders('vae-report-');
  const runsDir = join(scratch(), 'runs');
  const TINY = ['data.limit=200', 'train.epochs=1', 'eval.iwae_samples=0', 'train.batch_size=50', '--no-mlflow', '--runs-dir', runsDir];
  let sweepDir: string;

  before(async () => {
    // Two seeds of one setting, with a reference that a 200-image run can meet (and one it cannot, below).
    const sweep = await vae([
      'sweep',
      'experiments/vae-mnist.yaml',
      '--seeds',
      '1,2',
      'reference.value=450',
      'reference.tolerance=100',
      ...TINY,
    ]);
    assert.equal(sweep.code, 0, sweep.stderr);
    assert.match(
      sweep.stderr,
      /reference, base: test\/neg_elbo [\d.]+ ± [\d.]+ \(n=2\) against 450, passing at most 550 .*: [+-][\d.]+, pass/,
    );
    sweepDir = join(runsDir, 'vae-mnist', 'sweeps', readdirSync(join(runsDir, 'vae-mnist', 'sweeps'))[0]);
  });

  it('a sweep whose settings pass: exit 0, and the table as Markdown, CSV and a picture', async () => {
    const out = join(runsDir, 'report-pass');
    const report = await vae(['report', sweepDir, '--out', out]);
    assert.equal(report.code, 0, report.stderr);
    const csv = readFileSync(join(out, 'report.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 2);
    const cells = csv[1].split(',');
    assert.deepEqual([cells[0], cells[1], cells[2], cells[9]], ['vae-mnist', 'test/neg_elbo', '2', 'pass']);
    assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /\| vae-mnist \| test\/neg_elbo \| [\d.]+ ± [\d.]+ \(n=2\) \|/);
    assert.deepEqual([...readFileSync(join(out, 'report.png')).subarray(1, 4)], [...Buffer.from('PNG')]);
  });

  it('a run that misses, and a mean over one seed, exit 1 and say why', async () => {
    const single = await vae(['run', 'experiments/vae-mnist.yaml', 'seed=7', 'model.latent_dim=3', ...TINY]);
    assert.equal(single.code, 0, single.stderr);
    assert.match(
      single.stderr,
      /^reference: test\/neg_elbo [\d.]+ against 105.6, passing at most 106.66 \(pytorch\/examples .*\): \+[\d.]+, miss$/m,
    );
    const report = await vae(['report', join(runsDir, 'vae-mnist'), '--out', join(runsDir, 'report-all')]);
    assert.equal(report.code, 1, report.stderr);
    assert.match(report.stderr, /^vae-mnist model\.latent_dim=20: test\/neg_elbo [\d.]+ ± [\d.]+ \(n=2\) against 450, .*, pass$/m);
    assert.match(
      report.stderr,
      /^vae-mnist model\.latent_dim=3: test\/neg_elbo [\d.]+ against 105.6, .*, one seed: not a result, run more seeds$/m,
    );
    assert.match(report.stderr, /1 of 2 settings do not pass their reference/);
  });

  it("a setting whose seeds all miss, and one whose runs lack the metric: exit 1, the CSV with the seeds' numbers", async () => {
    // A runs folder of its own, so the report above keeps its two settings. The miss above is one seed, which fails
    // whatever a miss does: only a setting with n > 1 shows that a miss fails the report. The CSV's numbers are checked
    // against the seeds' own, since swapped or misfilled columns keep the row's shape.
    const dir = join(scratch(), 'runs');
    const tiny = [...TINY.slice(0, -1), dir];
    const sweep = await vae([
      'sweep',
      'experiments/vae-mnist.yaml',
      '--seeds',
      '1,2',
      'reference.value=100',
      'reference.tolerance=1',
      ...tiny,
    ]);
    assert.equal(sweep.code, 0, sweep.stderr);
    const experiment = join(dir, 'vae-mnist');
    const seeds = readdirSync(experiment)
      .map((name) => new RunRecord(join(experiment, name)))
      .filter((r) => r.exists())
      .map((r) => r.readSummary()!.metrics['test/neg_elbo']);
    assert.equal(seeds.length, 2);
    const missed = join(experiment, 'sweeps', readdirSync(join(experiment, 'sweeps'))[0]);
    const report = await vae(['report', missed, '--out', join(dir, 'report-miss')]);
    assert.equal(report.code, 1, report.stderr);
    assert.match(report.stderr, /1 of 1 settings do not pass their reference/);
    const cells = readFileSync(join(dir, 'report-miss', 'report.csv'), 'utf8')
      .trim()
      .split('\n')[1]
      .split(',');
    const mean = (seeds[0] + seeds[1]) / 2;
    const [n, obtained, std, difference] = [cells[2], cells[3], cells[4], cells[8]].map(Number);
    assert.deepEqual([n, cells[9]], [2, 'miss']);
    const near = (got: number, want: number) => Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want));
    assert.ok(near(obtained, mean), `mean ${obtained} vs ${mean}`);
    assert.ok(near(std, Math.abs(seeds[0] - seeds[1]) / Math.SQRT2), `sample std ${std} of ${seeds}`);
    assert.ok(near(difference, mean - 100), `difference ${difference}`);

    const uncomputed = await vae(['run', 'experiments/vae-mnist.yaml', 'model.latent_dim=3', 'reference.metric=test/iwae_nll', ...tiny]);
    assert.equal(uncomputed.code, 0, uncomputed.stderr);
    const both = await vae(['report', experiment, '--out', join(dir, 'report-both')]);
    assert.equal(both.code, 1, both.stderr);
    assert.match(both.stderr, /^vae-mnist model\.latent_dim=3: test\/iwae_nll – against .*, not computed$/m);
    assert.match(both.stderr, /2 of 2 settings do not pass their reference/);
    // n counts the seeds with the metric, not the finished runs: none of this one's computed it.
    assert.match(
      readFileSync(join(dir, 'report-both', 'report.md'), 'utf8'),
      /\| vae-mnist model\.latent_dim=3 \| test\/iwae_nll \| – \(n=0\) \|/,
    );
  });

  it('runs without a reference: block, or a folder without runs: exit 2 with what to do', async () => {
    const run = await vae(['run', 'experiments/vae-fashion-mse.yaml', ...TINY]);
    assert.equal(run.code, 0, run.stderr);
    const experiment = readdirSync(runsDir).find((name) => name !== 'vae-mnist' && !name.startsWith('report'))!;
    const none = await vae(['report', join(runsDir, experiment)]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /has a reference: block to compare with; add one \(npx vae fields reference\)/);
    const empty = await vae(['report', scratch()]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /no run records in it/);
    assert.equal(existsSync(join(runsDir, 'reports')), false, 'nothing written for a report that could not be made');
  });
});

function flat(reference: Reference): Record<string, string> {
  return Object.fromEntries(Object.entries(reference).map(([k, v]) => [`reference.${k}`, String(v)]));
}
