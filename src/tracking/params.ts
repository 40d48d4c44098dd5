/** The resolved spec as MLflow params: dotted keys, scalar values as text, lists as JSON (`[400]`). */
export function flattenParams(value: unknown, prefix = ''): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.assign({}, ...Object.entries(value).map(([k, v]) => flattenParams(v, prefix ? `${prefix}.${k}` : k)));
  }
  return { [prefix]: Array.isArray(value) ? JSON.stringify(value) : String(value) };
}
