/** Where a problem was found: a place in the spec file, or one command-line override. */
export type Origin = { file: string; line: number; column: number } | { override: string };

export interface Problem {
  origin: Origin;
  /** Dotted path in the spec, e.g. `model.encoder.hidden[1]`; empty for the document itself. */
  path: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  const where = 'override' in p.origin ? `override '${p.origin.override}':` : `${p.origin.file}:${p.origin.line}:${p.origin.column}`;
  return p.path ? `${where} ${p.path}: ${p.message}` : `${where} ${p.message}`;
}

/** Thrown when a spec cannot be used; the CLI prints one line per problem and exits 2. */
export class SpecError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SpecError';
  }
}

export type PathSegment = string | number;

export function dottedPath(segments: readonly PathSegment[]): string {
  return segments.reduce<string>(
    (acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s),
    '',
  );
}
