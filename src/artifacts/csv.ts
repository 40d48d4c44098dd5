// CSV as spreadsheets and pandas read it (RFC 4180 quoting), for the tables vae-lab writes.
export function csvTable(rows: readonly (readonly (string | number)[])[]): string {
  return rows.map((cells) => cells.map((c) => csvCell(String(c))).join(',')).join('\n') + '\n';
}

/** A number as a CSV cell: six significant digits, and empty when it is not finite. */
export function csvNumber(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : '';
}

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
