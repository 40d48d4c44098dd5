// Charts as data: a vega-lite spec is compiled to vega, rendered headless to SVG (renderer 'none': no canvas, no
// browser), and rasterised to PNG by resvg with the font shipped in node_modules. The spec is worth logging beside the PNG.
import { Resvg } from '@resvg/resvg-js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec as VegaLiteSpec };

/**
 * The family every chart uses. Its files come from the npm package dejavu-fonts-ttf and system fonts are never
 * loaded, so a chart is the same picture on every machine, with or without fonts installed.
 */
export const CHART_FONT = 'DejaVu Sans';
const FONT_DIR = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
export const CHART_FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((file) => join(FONT_DIR, file));

export async function vegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  const themed = { ...spec, config: { font: CHART_FONT, ...spec.config } } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(themed).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** `scale` 2 gives a sharp image on high-density screens and in MLflow's artifact viewer. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: false, fontFiles: CHART_FONT_FILES, defaultFontFamily: CHART_FONT },
  });
  return resvg.render().asPng();
}

export async function renderVegaLite(spec: TopLevelSpec, scale = 2): Promise<{ svg: string; png: Buffer }> {
  const svg = await vegaLiteToSvg(spec);
  return { svg, png: svgToPng(svg, scale) };
}
