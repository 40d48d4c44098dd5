import type { Matrix } from './factor-sampler.ts';

/** Column j of a row-major matrix, in double precision. */
export function column(rows: Matrix, j: number): Float64Array {
  const values = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) values[i] = rows[i][j];
  return values;
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** Sample variance with ddof = 1 (numpy's np.var(..., ddof=1)), as the FactorVAE score uses. */
export function sampleVariance(values: ArrayLike<number>): number {
  const m = mean(values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i] - m) ** 2;
  return sum / (values.length - 1);
}

/** Covariance matrix of the columns with ddof = 1 (numpy's np.cov of the transposed rows). */
export function covarianceMatrix(rows: Matrix): number[][] {
  const d = rows[0].length;
  const columns = Array.from({ length: d }, (_, j) => column(rows, j));
  const means = columns.map(mean);
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      let sum = 0;
      for (let i = 0; i < rows.length; i++) sum += (columns[a][i] - means[a]) * (columns[b][i] - means[b]);
      cov[a][b] = cov[b][a] = sum / (rows.length - 1);
    }
  }
  return cov;
}
