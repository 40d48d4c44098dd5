/** Mean, spread and quantiles of per-example scores (e.g. the negative ELBO used as an anomaly score). */
export function distribution(values: Float32Array) {
  const sorted = Float32Array.from(values).sort();
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { count: values.length, mean, std, min: sorted[0], p50: q(0.5), p95: q(0.95), p99: q(0.99), max: sorted[sorted.length - 1] };
}
