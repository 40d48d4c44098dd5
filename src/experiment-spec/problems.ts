import { UserError } from '../errors.ts';
/** Where a problem was found: a place in the spec file, one command-line override, or another command-line option. */
export type Origin = { file: string; line: number; column: number } | { override: string } | { option: string };

export interface Problem {
  origin: Origin;
  /** Dotted path in the spec, e.g. `model.encoder.hidden[1]`; empty for the document itself. */
  path: string;
  message: string;
  /** What the spec is part of, printed first, e.g. `trial 3 (model.latent_dim=0 seed=1):` in a sweep. */
  within?: string;
}

export function formatProblem(p: Problem): string {
  const where =
    'override' in p.origin
      ? `override '${shortened(p.origin.override)}':`
      : 'option' in p.origin
        ? `option '${p.origin.option}':`
        : `${p.origin.file}:${p.origin.line}:${p.origin.column}`;
  const line = p.path ? `${where} ${p.path}: ${p.message}` : `${where} ${p.message}`;
  // One problem, one line: a newline inside a key, a value or an override is shown escaped.
  return (p.within ? `${p.within} ${line}` : line).replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

// An override is echoed in every line about it; a very long one is cut so the line stays readable.
function shortened(text: string): string {
  return text.length > 100 ? `${text.slice(0, 80)}...` : text;
}

/** Thrown when a spec cannot be used; the CLI prints one line per problem and exits 2. */
export class SpecError extends UserError {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export type PathSegment = string | number;

/** `model.encoder.hidden[1]`; a key that itself holds dots (a sweep's `grid: {model.latent_dim: ...}`) is quoted. */
export function dottedPath(segments: readonly PathSegment[]): string {
  return segments.reduce<string>(
    (acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : s.includes('.') ? `${acc}['${s}']` : acc ? `${acc}.${s}` : s),
    '',
  );
}
