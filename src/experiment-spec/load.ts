import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LineCounter, parseDocument, type Document, type YAMLParseError } from 'yaml';
import { checkConsistency } from './checks.ts';
import { checkDataPaths } from './paths.ts';
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

/**
 * Reads, merges overrides, validates and resolves a spec; throws SpecError listing every problem found.
 * `ownRunSpec` is for the resolved spec a run recorded, on --resume: its data paths were checked, or given on the
 * command line, when the run started, so they are not refused now.
 */
export function loadSpec(file: string, overrideTexts: readonly string[] = [], options: { ownRunSpec?: boolean } = {}): LoadedSpec {
  const { text, data: spec } = loadDocument<Experiment>(file, overrideTexts, {
    validate: validateExperiment,
    check: (spec, context) => [...checkConsistency(spec), ...(options.ownRunSpec ? [] : checkDataPaths(spec, context))],
    fieldsHint: 'name:, model:, ...',
  });
  spec.tracking.experiment ??= spec.name;
  return { file, text, overrides: [...overrideTexts], spec: spec as ResolvedSpec };
}

/** What makes a YAML document one kind of vae-lab file: its schema, rules across fields, and its top-level fields. */
export interface DocumentKind<T> {
  validate: Validator;
  /** Rules across fields, run once the schema is satisfied. */
  check?: (data: T, context: CheckContext) => Violation[];
  /** Named when the document is not a mapping at all, e.g. `name:, model:, ...`. */
  fieldsHint: string;
}

/** What a rule across fields may need to know about where the document came from. */
export interface CheckContext {
  file: string;
  /** True when a command-line override set the value at `path` (or one of its ancestors). */
  fromOverride: (path: readonly PathSegment[]) => boolean;
}

// A spec is a page of YAML; anything bigger is the wrong file (or an attack), refused before it is parsed.
export const MAX_SPEC_BYTES = 1 << 20;

/**
 * Reads a YAML file, merges overrides, validates it against `kind` and fills in defaults; throws SpecError naming
 * the file, line and column (or the override) of every problem.
 */
export function loadDocument<T>(file: string, overrideTexts: readonly string[], kind: DocumentKind<T>): { text: string; data: T } {
  const text = readSpecText(file);
  const { doc, lines, at } = parseSpecYaml(file, text);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const message = isStackOverflow((e as Error).message) ? TOO_DEEP : `cannot be read as data: ${firstLine((e as Error).message)}`;
    throw new SpecError([{ origin: at(0), path: '', message }]);
  }
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new SpecError([
      { origin: at(0), path: '', message: `must be a mapping of fields (${kind.fieldsHint}), not a single value or a list` },
    ]);
  }

  const overrides = parseOverrides(overrideTexts);
  const problems: Problem[] = [];
  for (const o of overrides) {
    const failure = setAt(data as Record<string, unknown>, o.path, o.value);
    if (failure) problems.push({ origin: { override: o.text }, path: dottedPath(o.path), message: failure });
  }
  if (problems.length > 0) throw new SpecError(problems);

  const place = (v: Violation): Problem => {
    // An unknown field an override brought in (`foo.bar=1` makes `foo`) is that override's too.
    const blamed = overrides.findLast((o) => isPrefix(o.path, v.path) || (v.atKey && isPrefix(v.path, o.path)));
    const origin = blamed ? { override: blamed.text } : { file, ...positionOf(doc, lines, v.path, v.atKey) };
    return { origin, path: dottedPath(v.path), message: v.message };
  };
  const violations = kind.validate(data);
  if (violations.length > 0) throw new SpecError(inReadingOrder(violations.map(place)));
  const fromOverride = (path: readonly PathSegment[]) => overrides.some((o) => isPrefix(o.path, path));
  const inconsistent = kind.check?.(data as T, { file, fromOverride }) ?? [];
  if (inconsistent.length > 0) throw new SpecError(inReadingOrder(inconsistent.map(place)));
  return { text, data: data as T };
}

/** The YAML document with its line positions; a syntax error, or nesting too deep to parse, is a SpecError. */
function parseSpecYaml(file: string, text: string) {
  const lines = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, logLevel: 'error' });
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new SpecError([{ origin: at(0), path: '', message: TOO_DEEP }]);
  }
  if (doc.errors.length > 0) {
    // The parser reports running out of stack as a syntax error, once per level it unwinds: say it once, plainly.
    const deep = doc.errors.find((e) => isStackOverflow(e.message));
    if (deep) throw new SpecError([{ origin: at(deep.pos[0]), path: '', message: TOO_DEEP }]);
    // The parser may report one fault twice at one place (a flow sequence both unindented and unclosed): once is enough.
    const syntax = doc.errors.map((e: YAMLParseError) => ({
      origin: at(e.pos[0]),
      path: '',
      message: `YAML syntax error: ${firstLine(e.message)}`,
    }));
    throw new SpecError([...new Map(syntax.map((p) => [`${p.origin.line}:${p.origin.column} ${p.message}`, p])).values()]);
  }
  return { doc, lines, at };
}

function readSpecText(file: string): string {
  const origin = { file, line: 1, column: 1 };
  const refuse = (message: string) => new SpecError([{ origin, path: '', message }]);
  let bytes: Buffer;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw refuse('cannot read spec: is a directory, not a spec file');
    // A device or a pipe (/dev/zero, /dev/stdin) may never end: only a regular file has a size to check.
    if (!stat.isFile()) throw refuse('cannot read spec: not a regular file');
    if (stat.size > MAX_SPEC_BYTES)
      throw refuse(`is ${formatBytes(stat.size)}; a spec is at most ${formatBytes(MAX_SPEC_BYTES)} of YAML (is this the right file?)`);
    bytes = Buffer.alloc(stat.size);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, read);
      if (n === 0) break;
      read += n;
    }
    bytes = bytes.subarray(0, read);
  } catch (e) {
    if (e instanceof SpecError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a spec file' : firstLine((e as Error).message);
    throw refuse(`cannot read spec: ${why}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw refuse('is not UTF-8 text; save the spec as UTF-8');
  }
}

const TOO_DEEP = 'YAML is nested too deeply to read; a spec needs only a few levels';

function isStackOverflow(message: string): boolean {
  return message.includes('Maximum call stack size exceeded');
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} kB` : `${n} bytes`;
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

/**
 * Sets `value` at `path`, creating mappings on the way; returns why it cannot, if it cannot. Only own fields are
 * followed and written, so `__proto__.x=1` names an (unknown) field instead of changing every object in the process.
 */
function setAt(root: Record<string, unknown>, path: readonly PathSegment[], value: unknown): string | undefined {
  let node: unknown = root;
  const put = (container: object, key: PathSegment, v: unknown) =>
    Object.defineProperty(container, key, { value: v, writable: true, enumerable: true, configurable: true });
  for (const [i, segment] of path.entries()) {
    const container = node as Record<string | number, unknown>;
    if (Array.isArray(container) && typeof segment === 'number' && segment > container.length) {
      return `${dottedPath(path.slice(0, i))} has ${container.length} items: index at most [${container.length}] (to add one at the end)`;
    }
    if (i === path.length - 1) {
      put(container, segment, value);
      return undefined;
    }
    const next = Object.hasOwn(container, segment) ? container[segment] : undefined;
    if (next === undefined || next === null) {
      if (typeof path[i + 1] === 'number') return `${dottedPath(path.slice(0, i + 1))} has no list to index`;
      put(container, segment, {});
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
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i)
    .map(({ p }) => p);
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
