// The MLflow UI really shows what `vae run` logged, reached the way a user does: a headless Chromium (from the npm
// package @sparticuz/chromium, driven by playwright-core) opens the URLs `vae run` printed, on this file's own MLflow
// server, and finds the run in the Runs table, its train/loss chart, a stepped image, its logged model, and a sweep's
// parent run with its children.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { RunRecord } from '../src/record/run-record.ts';
import { MlflowClient } from '../src/tracking/mlflow-client.ts';
import { launchBrowser } from './support/browser.ts';
import { vae } from './support/cli.ts';
import { startTestMlflow, type TestMlflow } from './support/mlflow-server.ts';
import { onlyRunDir, TINY_RUN } from './support/run-record.ts';

let server: TestMlflow;
let browser: Browser;
let runsDir: string;
// Wide enough for MLflow's assistant panel, which opens on the right of every page, to leave the tables whole.
const VIEWPORT = { width: 1800, height: 1000 };
// Screenshots stay for a person to look at; their folder is printed.
const shots = mkdtempSync(join(tmpdir(), 'vae-mlflow-ui-shots-'));
let run: { experimentId: string; runId: string; modelId: string };
/** What `vae run` and `vae sweep` printed when they ended. */
let printed: { run: string; experiment: string; model: string; sweepParent: string };
let sweep: { experimentId: string; parentId: string; childIds: string[] };

before(async () => {
  runsDir = mkdtempSync(join(tmpdir(), 'vae-mlflow-ui-'));
  // Both settle before either failure is thrown, so after() always stops a server that did start.
  const [started, launched] = await Promise.allSettled([startTestMlflow(), launchBrowser()]);
  if (started.status === 'fulfilled') server = started.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  for (const result of [started, launched]) if (result.status === 'rejected') throw result.reason;
  const result = await vae(['run', 'experiments/vae-mnist.yaml', ...TINY_RUN, '--runs-dir', runsDir], {
    env: { MLFLOW_TRACKING_URI: server.url },
  });
  assert.equal(result.code, 0, result.stderr);
  const identity = new RunRecord(onlyRunDir(runsDir)).readMlflow()!;
  run = { experimentId: identity.experiment_id, runId: identity.run_id, modelId: identity.model_id! };
  const [, modelUrl, runUrl, experimentUrl] =
    /\nView model vae-mnist at: (\S+)\nView run vae-mnist at: (\S+)\nView experiment at: (\S+)\n$/.exec(result.stderr) ?? [];
  assert.ok(modelUrl && runUrl && experimentUrl, `vae run ends with the model's, the run's and the experiment's URLs:\n${result.stderr}`);

  // A sweep of two one-epoch trials, in an experiment of its own so the run above stays alone in its Runs table.
  const swept = await vae(
    [
      'sweep',
      'experiments/vae-mnist.yaml',
      '--grid',
      'model.latent_dim=2,5',
      '--seeds',
      '1',
      'data.limit=200',
      'train.epochs=1',
      'eval.iwae_samples=0',
      'tracking.experiment=vae-ui-sweep',
      '--parallel',
      '2',
      '--runs-dir',
      runsDir,
    ],
    { env: { MLFLOW_TRACKING_URI: server.url } },
  );
  assert.equal(swept.code, 0, swept.stderr);
  const [, parentUrl] = /\nView parent run vae-mnist-sweep at: (\S+)\n$/.exec(swept.stderr) ?? [];
  assert.ok(parentUrl, `vae sweep ends with its parent run's URL:\n${swept.stderr}`);
  const client = new MlflowClient({ trackingUri: server.url });
  const experimentId = (await client.getExperimentByName('vae-ui-sweep'))!.experiment_id;
  const all = (await client.searchRuns({ experimentIds: [experimentId] })).runs;
  const parent = all.find((r) => r.data.tags.some((t) => t.key === 'vae.sweep_role' && t.value === 'parent'))!;
  sweep = { experimentId, parentId: parent.info.run_id, childIds: all.filter((r) => r !== parent).map((r) => r.info.run_id) };
  assert.equal(sweep.childIds.length, 2);
  printed = { run: runUrl, experiment: experimentUrl, model: modelUrl, sweepParent: parentUrl };
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  if (runsDir) rmSync(runsDir, { recursive: true, force: true });
});

async function screenshot(t: { diagnostic(message: string): void }, page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, name) });
  t.diagnostic(`screenshot: ${join(shots, name)}`);
}

/** The printed run URL, then its "Model metrics" tab, filtered to charts matching `search`. */
async function modelMetrics(search: string): Promise<Page> {
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(printed.run);
  await page.getByRole('tab', { name: 'Model metrics' }).click({ timeout: 30_000 });
  // Charts render only when scrolled into view; the search box brings the one we want to the top.
  const box = page.getByPlaceholder('Search metric charts');
  await box.waitFor({ timeout: 30_000 });
  await box.fill(search);
  return page;
}

const card = (page: Page, title: string) =>
  page.getByTestId('experiment-view-compare-runs-card').filter({ has: page.locator(`h4[title="${title}"]`) });

describe('MLflow UI in a headless browser', { timeout: 60_000 }, () => {
  it('vae run and vae sweep print links that open the model-training view', () => {
    assert.equal(printed.experiment, `${server.url}/#/experiments/${run.experimentId}?workflowType=machine_learning`);
    assert.equal(printed.run, `${server.url}/#/experiments/${run.experimentId}/runs/${run.runId}?workflowType=machine_learning`);
    assert.equal(printed.model, `${server.url}/#/experiments/${run.experimentId}/models/${run.modelId}?workflowType=machine_learning`);
    assert.equal(
      printed.sweepParent,
      `${server.url}/#/experiments/${sweep.experimentId}/runs/${sweep.parentId}?workflowType=machine_learning`,
    );
  });

  it('opens the printed experiment URL on the Runs table, with the run in it', { timeout: 45_000 }, async (t) => {
    const page = await browser.newPage({ viewport: VIEWPORT });
    try {
      await page.goto(printed.experiment);
      await page.getByRole('heading', { name: 'Runs', exact: true }).waitFor({ timeout: 30_000 });
      const row = page.locator(`a[href="#/experiments/${run.experimentId}/runs/${run.runId}"]`);
      await row.waitFor({ timeout: 20_000 });
      assert.equal(await row.textContent(), 'vae-mnist');
      assert.match(page.url(), /[?&]workflowType=machine_learning(&|$)/, 'still the model-training view');
      assert.equal(await page.getByText('1 matching run').count(), 1);
    } finally {
      await screenshot(t, page, 'experiment-runs.png');
      await page.close();
    }
  });

  it('draws the train/loss chart on the run page', { timeout: 45_000 }, async (t) => {
    const page = await modelMetrics('train/loss');
    try {
      // The card titled "loss" (full title train/loss) in the "train" section, with its plot and the run's legend entry.
      const chart = card(page, 'train/loss');
      await chart.getByText('vae-mnist (train/loss)').waitFor({ timeout: 20_000 });
      // The legend can be there a moment before plotly has drawn: wait for the plot and its second point.
      await chart.locator('.js-plotly-plot svg.main-svg').first().waitFor({ timeout: 20_000 });
      await chart.locator('.js-plotly-plot .scatterlayer .point').nth(1).waitFor({ timeout: 20_000 });
      // Two epochs: a line with a marker per step.
      assert.equal(await chart.locator('.js-plotly-plot .scatterlayer .point').count(), 2, 'one point per epoch');
    } finally {
      await screenshot(t, page, 'train-loss.png');
      await page.close();
    }
  });

  it('shows a logged stepped image in the image grid', { timeout: 45_000 }, async (t) => {
    // MLflow 3.17's UI parses every file directly under images/ as `<key>+step+<n>+timestamp+<ms>+<id>` and, on the
    // first that is not, drops the run's whole image grid. Subfolders are skipped, so other pictures may live there.
    const client = new MlflowClient({ trackingUri: server.url });
    const plain = (await client.listArtifacts(run.runId, 'images')).filter(
      (f) => !f.is_dir && !/^images\/[^/+]+\+step\+\d+\+timestamp\+\d+\+[^/]+\.(png|webp)$/.test(f.path),
    );
    assert.deepEqual(
      plain.map((f) => f.path),
      [],
      'files directly under images/ that are not stepped images hide every image in the MLflow UI',
    );
    const page = await modelMetrics('samples');
    try {
      const grid = card(page, 'samples');
      await grid.getByRole('slider').waitFor({ timeout: 20_000 });
      // The grid starts at step 0 and our steps are epochs 1..2: click the slider's far end to show the last epoch.
      const track = (await grid.locator('span[dir=ltr][data-orientation=horizontal]').boundingBox())!;
      await page.mouse.click(track.x + track.width - 2, track.y + track.height / 2);
      const img = grid.locator('img[src*="get-artifact"]');
      await img.waitFor({ state: 'attached', timeout: 15_000 });
      const src = decodeURIComponent((await img.getAttribute('src'))!);
      assert.match(src, /path=images\/samples\+step\+2\+timestamp\+\d+\+[g-z][0-9a-f-]{35}\+compressed\.png/);
      assert.ok(src.includes(`run_uuid=${run.runId}`));
      // Loaded, not a broken icon: our 8x8 grid's thumbnail is 256 pixels wide.
      await page.waitForFunction((el) => (el as HTMLImageElement).complete, await img.elementHandle());
      assert.equal(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth), 256);
      // The card is small and the run's parameter summary sits above the picture: full screen shows it whole.
      await grid.locator('button[data-component-id="fullscreen_button_chartcard"]').click();
      // On a wide screen the full-screen picture starts below the fold.
      await page.getByRole('dialog').locator('img[src*="get-artifact"]').scrollIntoViewIfNeeded({ timeout: 15_000 });
      await page.waitForTimeout(1000);
    } finally {
      await screenshot(t, page, 'samples.png');
      await page.close();
    }
  });

  it(
    "lists the run's logged model: in the Runs table, on the experiment's Models page, and on its own page",
    { timeout: 45_000 },
    async (t) => {
      const page = await browser.newPage({ viewport: VIEWPORT });
      const modelLink = `a[href="#/experiments/${run.experimentId}/models/${run.modelId}"]`;
      try {
        await page.goto(printed.experiment);
        // The Runs table's Models column links the run's model.
        await page.locator(modelLink).first().waitFor({ timeout: 30_000 });
        await page.locator(`a[href^="#/experiments/${run.experimentId}/models?"]`).click();
        await page.getByRole('heading', { name: 'Models', exact: true }).waitFor({ timeout: 20_000 });
        const listed = page.locator(modelLink);
        await listed.waitFor({ timeout: 20_000 });
        assert.equal(await listed.textContent(), 'vae-mnist');
        assert.equal(await page.getByText('Ready', { exact: true }).count(), 1, 'one model, ready');
      } finally {
        await screenshot(t, page, 'experiment-models.png');
      }
      try {
        // The printed model URL: its page shows the test metrics linked to it.
        await page.goto(printed.model);
        await page.getByText(run.modelId).waitFor({ timeout: 30_000 });
        // In its metrics table: the params table has the name too, as the value of reference.metric.
        const metrics = page.getByTestId('logged-model-details-metrics-table');
        await metrics.getByRole('cell', { name: 'test/neg_elbo', exact: true }).waitFor({ timeout: 20_000 });
      } finally {
        await screenshot(t, page, 'model.png');
        await page.close();
      }
    },
  );

  it("opens the printed URL of a sweep's parent run, which lists its child runs", { timeout: 45_000 }, async (t) => {
    const page = await browser.newPage({ viewport: VIEWPORT });
    try {
      await page.goto(printed.sweepParent);
      await page.getByText('Child runs', { exact: true }).waitFor({ timeout: 30_000 });
      for (const child of sweep.childIds)
        await page.locator(`a[href="#/experiments/${sweep.experimentId}/runs/${child}"]`).waitFor({ timeout: 20_000 });
    } finally {
      await screenshot(t, page, 'sweep-parent.png');
      await page.close();
    }
  });
});
