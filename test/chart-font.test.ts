// Charts carry their own font: text renders from the npm package's DejaVu Sans, with system fonts never consulted.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { CHART_FONT, CHART_FONT_FILES, svgToPng } from '../src/artifacts/plot.ts';

const darkPixels = (png: Buffer) => {
  const { data } = PNG.sync.read(png);
  let dark = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] < 128) dark += 1;
  return dark;
};

describe('chart font', () => {
  it('comes from node_modules', () => {
    for (const file of CHART_FONT_FILES) assert.ok(existsSync(file), `${file} (npm package dejavu-fonts-ttf)`);
    assert.match(CHART_FONT_FILES[0], /node_modules\/dejavu-fonts-ttf\/ttf\/DejaVuSans\.ttf$/);
  });

  it('draws text, and only with that font', () => {
    const svg = (family: string) =>
      `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><text x="4" y="28" font-size="24" font-family="${family}">Hg 42</text></svg>`;
    assert.ok(darkPixels(svgToPng(svg(CHART_FONT), 1)) > 100, 'the text is drawn');
    // A family nobody ships falls back to the default family, which is the same font: the same pixels.
    assert.deepEqual(svgToPng(svg('No Such Font'), 1), svgToPng(svg(CHART_FONT), 1));
  });
});
