import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, YAMLParseError } from 'yaml';
import { checkConsistency } from './checks.ts';
import { isPrefix, parseOverride, type Override } from './overrides.ts';
import { positionOf } from './positions.ts';
import { dottedPath, SpecError, type PathSegment, type Problem } from './problems.ts';
import type { Experiment } from './spec.generated.ts';
import { validateExperiment, type Validator, type Violation } from './validate.ts';

/** A validated spec with every default filled in, and where it came from. */
export type ResolvedSpec = Experiment & { tracking: { experiment: string } };

export interface LoadedSpec {
  file: string;
  /** The file exactly as written, logged beside the resolved spec. */
  text: string;
  overrides: string[];
  spec: ResolvedSpec;
}

// Aliases may repeat a node; a few are fine, thousands are an expansion bomb.
const MAX_ALIASES = 100;

/** Reads, merges overrides, validates and resolves a spec; throws SpecError listing every problem found. */
export function loadSpec(file: string, overrideTexts: readonly string[] = []): LoadedSpec {
  const { text, data: spec } = loadDocument<Experiment>(file, overrideTexts, {
    validate: validateExperiment,
    check: checkConsistency,
    fieldsHint: 'name:, model:, ...',
  });
  spec.tracking.experiment ??= spec.name;
  return { file, text, overrides: [...overrideTexts], spec: spec as ResolvedSpec };
}

/** What makes a YAML document one kind of vae-lab file: its schema, rules across fields, and its top-level fields. */
export interface DocumentKind<T> {
  validate: Validator;
  /** Rules across fields, run once the schema is satisfied. */
  check?: (data: T) => Violation[];
  /** Named when the document is not a mapping at all, e.g. `name:, model:, ...`. */
  fieldsHint: string;
}

/**
 * Reads a YAML file, merges overrides, validates it against `kind` and fills in defaults; throws SpecError naming
 * the file, line and column (or the override) of every problem.
 */
export function loadDocument<T>(file: string, overrideTexts: readonly string[], kind: DocumentKind<T>): { text: string; data: T } {
  const text = readSpecText(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new SpecError(doc.errors.map((e: YAMLParseError) => ({ origin: at(e.pos[0]), path: '', message: `YAML syntax error: ${firstLine(e.message)}` })));
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    throw new SpecError([{ origin: at(0), path: '', message: `cannot be read as data: ${firstLine((e as Error).message)}` }]);
  }
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new SpecError([{ origin: at(0), path: '', message: `must be a mapping of fields (${kind.fieldsHint}), not a single value or a list` }]);
  }

  const overrides = parseOverrides(overrideTexts);
  const problems: Problem[] = [];
  for (const o of overrides) {
    const failure = setAt(data as Record<string, unknown>, o.path, o.value);
    if (failure) problems.push({ origin: { override: o.text }, path: dottedPath(o.path), message: failure });
  }
  if (problems.length > 0) throw new SpecError(problems);

  const place = (v: Violation): Problem => {
    const blamed = overrides.findLast((o) => isPrefix(o.path, v.path));
    const origin = blamed ? { override: blamed.text } : { file, ...positionOf(doc, lines, v.path, v.atKey) };
    return { origin, path: dottedPath(v.path), message: v.message };
  };
  const violations = kind.validate(data);
  if (violations.length > 0) throw new SpecError(inReadingOrder(violations.map(place)));
  const inconsistent = kind.check?.(data as T) ?? [];
  if (inconsistent.length > 0) throw new SpecError(inReadingOrder(inconsistent.map(place)));
  return { text, data: data as T };
}

function readSpecText(file: string): string {
  const origin = { file, line: 1, column: 1 };
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a spec file' : firstLine((e as Error).message);
    throw new SpecError([{ origin, path: '', message: `cannot read spec: ${why}` }]);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SpecError([{ origin, path: '', message: 'is not UTF-8 text; save the spec as UTF-8' }]);
  }
}

function parseOverrides(texts: readonly string[]): Override[] {
  const problems: Problem[] = [];
  const parsed: Override[] = [];
  for (const text of texts) {
    const o = parseOverride(text);
    if (typeof o === 'string') problems.push({ origin: { override: text }, path: '', message: o });
    else parsed.push(o);
  }
  if (problems.length > 0) throw new SpecError(problems);
  return parsed;
}

/** Sets `value` at `path`, creating mappings on the way; returns why it cannot, if it cannot. */
function setAt(root: Record<string, unknown>, path: readonly PathSegment[], value: unknown): string | undefined {
  let node: unknown = root;
  for (const [i, segment] of path.entries()) {
    const container = node as Record<string | number, unknown>;
    if (i === path.length - 1) {
      container[segment] = value;
      return undefined;
    }
    const next = container[segment];
    if (next === undefined || next === null) {
      if (typeof path[i + 1] === 'number') return `${dottedPath(path.slice(0, i + 1))} has no list to index`;
      container[segment] = {};
    } else if (typeof next !== 'object') {
      return `cannot set inside ${dottedPath(path.slice(0, i + 1))}: it is ${JSON.stringify(next)}, not a mapping`;
    } else if (Array.isArray(next) !== (typeof path[i + 1] === 'number')) {
      return `${dottedPath(path.slice(0, i + 1))} is ${Array.isArray(next) ? 'a list: index it with [n]' : 'a mapping: name a field'}`;
    }
    node = container[segment];
  }
  return undefined;
}

/** File problems top to bottom, then override problems in command-line order. */
function inReadingOrder(problems: Problem[]): Problem[] {
  const rank = (p: Problem) => ('line' in p.origin ? p.origin.line * 1e6 + p.origin.column : Infinity);
  return problems.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i).map(({ p }) => p);
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
