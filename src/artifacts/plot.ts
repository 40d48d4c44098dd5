// Charts as data: a vega-lite spec is compiled to vega, rendered headless to SVG (renderer 'none': no canvas, no
// browser), and rasterised to PNG by resvg with the system's fonts. The spec is worth logging beside the PNG.
import { Resvg } from '@resvg/resvg-js';
import { existsSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec as VegaLiteSpec };

/**
 * The family every chart uses. DejaVu Sans comes with Debian's fonts-dejavu-core; its file is loaded by path as
 * well as through fontconfig, so a chart never renders with boxes for text when fontconfig finds nothing.
 */
export const CHART_FONT = 'DejaVu Sans';
const FONT_FILES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'];

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
    font: { loadSystemFonts: true, fontFiles: FONT_FILES.filter((f) => existsSync(f)), defaultFontFamily: CHART_FONT },
  });
  return resvg.render().asPng();
}

export async function renderVegaLite(spec: TopLevelSpec, scale = 2): Promise<{ svg: string; png: Buffer }> {
  const svg = await vegaLiteToSvg(spec);
  return { svg, png: svgToPng(svg, scale) };
}
