// runs/log-batch takes only so much per request; a run's params, tags and metrics are cut to fit.
import { encodeMetric, type KeyValue, type Metric } from './mlflow-records.ts';

/** Server-side limits of runs/log-batch. */
export const LOG_BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, items: 1000, bytes: 1_000_000 };

/** Splits a batch greedily; each chunk respects every limit in LOG_BATCH_LIMITS. */
export function chunkLogBatch(batch: {
  metrics?: Metric[];
  params?: KeyValue[];
  tags?: KeyValue[];
}): { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] }[] {
  const limits = LOG_BATCH_LIMITS;
  const envelopeBytes = 200; // run_id and the JSON around the three arrays
  const chunks: { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] }[] = [];
  let current = { metrics: [] as Metric[], params: [] as KeyValue[], tags: [] as KeyValue[] };
  let items = 0;
  let bytes = envelopeBytes;
  const flush = () => {
    if (items > 0) chunks.push(current);
    current = { metrics: [], params: [], tags: [] };
    items = 0;
    bytes = envelopeBytes;
  };
  const add = <K extends 'metrics' | 'params' | 'tags'>(kind: K, item: (typeof current)[K][number]) => {
    const size = Buffer.byteLength(JSON.stringify(kind === 'metrics' ? encodeMetric(item as Metric) : item)) + 1;
    if (current[kind].length >= limits[kind] || items >= limits.items || bytes + size > limits.bytes) flush();
    (current[kind] as (typeof item)[]).push(item);
    items += 1;
    bytes += size;
  };
  for (const p of batch.params ?? []) add('params', p);
  for (const t of batch.tags ?? []) add('tags', t);
  for (const m of batch.metrics ?? []) add('metrics', m);
  flush();
  return chunks;
}
