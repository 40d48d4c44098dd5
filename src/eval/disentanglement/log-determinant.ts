/**
 * log |det A| by LU decomposition with partial pivoting (numpy's slogdet(A)[1]): -Infinity for a singular matrix,
 * where a Cholesky factorization would fail on the covariance of a collapsed latent instead of saying so.
 */
export function logAbsDeterminant(matrix: readonly (readonly number[])[]): number {
  const n = matrix.length;
  const a = matrix.map((row) => Float64Array.from(row));
  let logDet = 0;
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i][k]) > Math.abs(a[pivot][k])) pivot = i;
    if (a[pivot][k] === 0) return -Infinity;
    [a[k], a[pivot]] = [a[pivot], a[k]];
    logDet += Math.log(Math.abs(a[k][k]));
    for (let i = k + 1; i < n; i++) {
      const factor = a[i][k] / a[k][k];
      for (let j = k + 1; j < n; j++) a[i][j] -= factor * a[k][j];
    }
  }
  return logDet;
}
