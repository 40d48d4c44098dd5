import { svgToPng } from './plot.ts';

export interface LabelledRow {
  /** A PNG strip, e.g. one traversal. */
  png: Buffer;
  width: number;
  height: number;
  label: string;
}

const LABEL_WIDTH = 300;
const GAP = 6;
const FONT_SIZE = 13;

/**
 * PNG strips one under another, each with a line of text beside it, as one PNG. The page is an SVG rendered with the
 * charts' own font (resvg, no system fonts), so labels look the same on every machine.
 */
export function labelledRowsPng(rows: readonly LabelledRow[], title: string): Buffer {
  const stripWidth = Math.max(...rows.map((r) => r.width));
  const top = FONT_SIZE * 2 + GAP;
  let y = top;
  const items = rows.map((row) => {
    const item =
      `<image x="${LABEL_WIDTH}" y="${y}" width="${row.width}" height="${row.height}" href="data:image/png;base64,${row.png.toString('base64')}"/>` +
      `<text x="${LABEL_WIDTH - GAP}" y="${y + row.height / 2}" text-anchor="end" dominant-baseline="middle">${escapeXml(row.label)}</text>`;
    y += row.height + GAP;
    return item;
  });
  const width = LABEL_WIDTH + stripWidth + GAP;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="DejaVu Sans" font-size="${FONT_SIZE}">` +
    `<text x="${GAP}" y="${FONT_SIZE + GAP}" font-weight="bold">${escapeXml(title)}</text>${items.join('')}</svg>`;
  return svgToPng(svg, 1);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
