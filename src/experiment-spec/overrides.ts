import { parse } from 'yaml';
import type { PathSegment } from './problems.ts';

/** One Hydra-style `dotted.path=value` from the command line; the value is read as YAML (`5`, `[400, 400]`, `bce`). */
export interface Override {
  text: string;
  path: PathSegment[];
  value: unknown;
}

export const MAX_OVERRIDE_CHARS = 10_000;

const SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$/;

/** Parses an override, or returns why it cannot be one. */
export function parseOverride(text: string): Override | string {
  if (text.length > MAX_OVERRIDE_CHARS)
    return `is ${text.length} characters long; an override is at most ${MAX_OVERRIDE_CHARS} (write long values in the spec file)`;
  const eq = text.indexOf('=');
  if (eq <= 0) return `must look like dotted.path=value, e.g. model.latent_dim=5`;
  const path: PathSegment[] = [];
  for (const part of text.slice(0, eq).split('.')) {
    const m = SEGMENT.exec(part);
    if (!m) return `'${text.slice(0, eq)}' is not a dotted path of field names (e.g. model.encoder.hidden)`;
    path.push(m[1], ...[...m[2].matchAll(/\[(\d+)\]/g)].map((i) => Number(i[1])));
  }
  try {
    return { text, path, value: parse(text.slice(eq + 1), { maxAliasCount: 0, logLevel: 'error' }) ?? null };
  } catch (e) {
    const message = (e as Error).message.split('\n')[0];
    if (message.includes('Maximum call stack size exceeded')) return 'the value is nested too deeply to read';
    return `the value is not valid YAML: ${message}`;
  }
}

/** True when `prefix` names `path` or one of its ancestors. */
export function isPrefix(prefix: readonly PathSegment[], path: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => s === path[i]);
}
