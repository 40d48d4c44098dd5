import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { closestMatch, describeExpected, describeValue, type SchemaNode } from './describe.ts';
import type { PathSegment } from './problems.ts';

export const EXPERIMENT_SCHEMA = JSON.parse(
  readFileSync(new URL('../../schemas/experiment.schema.json', import.meta.url), 'utf8'),
) as SchemaNode;

/** A schema violation before it is given a place in a file or an override. */
export interface Violation {
  /** The path the message is about (for an unknown field, the field itself). */
  path: PathSegment[];
  /** True when the problem is best shown at the key (unknown fields) rather than at the value. */
  atKey: boolean;
  message: string;
}

/** Checks a document against a schema in place (ajv writes every default the schema declares into it). */
export type Validator = (data: unknown) => Violation[];

/** A validator for any vae-lab schema, compiled on first use, with messages derived from the schema. */
export function schemaValidator(schema: SchemaNode): Validator {
  let compiled: ValidateFunction | undefined;
  return (data) => {
    compiled ??= new Ajv2020({ allErrors: true, useDefaults: true, verbose: true, strict: true })
      .addKeyword({ keyword: 'patternDescription', schemaType: 'string' })
      // Where the generated type needs words the schema has not (scripts/generate-spec-types.ts); no rule.
      .addKeyword({ keyword: 'tsType', schemaType: 'string' })
      .compile(schema);
    return compiled(data) ? [] : toViolations(compiled.errors ?? [], data);
  };
}

/** Validates an experiment spec in place, filling in its defaults. */
export const validateExperiment: Validator = schemaValidator(EXPERIMENT_SCHEMA);

function toViolations(errors: ErrorObject[], data: unknown): Violation[] {
  const byPath = new Map<string, Violation>();
  for (const error of withoutOtherBranches(errors)) {
    // The error inside `propertyNames` names the bad key; the summary error after it adds nothing.
    if (error.keyword === 'propertyNames') continue;
    const v = toViolation(error, data);
    const key = JSON.stringify(v.path);
    // allErrors reports e.g. both `type` and `minimum` for 0.5 where an integer >= 1 is wanted: one line says it all.
    if (!byPath.has(key)) byPath.set(key, v);
  }
  return [...byPath.values()];
}

/**
 * A field that is one of several kinds (`anyOf`, e.g. a sweep's base: a file or a list of files) gets the errors of
 * the branch of the kind the user wrote, not of every branch; with no branch of that kind, the anyOf error says all.
 */
function withoutOtherBranches(errors: ErrorObject[]): ErrorObject[] {
  const dropped = new Set<string>();
  for (const error of errors) {
    if (error.keyword !== 'anyOf') continue;
    const branches = error.schema as SchemaNode[];
    const kind = Array.isArray(error.data) ? 'array' : error.data === null ? 'null' : typeof error.data;
    const chosen = branches.findIndex((b) => b.type === kind || (kind === 'number' && b.type === 'integer'));
    branches.forEach((_, i) => {
      if (i !== chosen) dropped.add(`${error.schemaPath}/${i}/`);
    });
    if (chosen >= 0) dropped.add(error.schemaPath);
  }
  return errors.filter(
    (e) => !dropped.has(e.schemaPath) && ![...dropped].some((prefix) => prefix.endsWith('/') && e.schemaPath.startsWith(prefix)),
  );
}

function toViolation(error: ErrorObject, root: unknown): Violation {
  const path = pointerToPath(error.instancePath, root);
  const parentSchema = (error.parentSchema ?? {}) as SchemaNode;
  // A key that breaks `propertyNames` (a sweep's grid takes dotted paths as keys): shown at the key itself.
  if (error.propertyName !== undefined) {
    return { path: [...path, error.propertyName], atKey: true, message: `field name must be ${describeExpected(parentSchema)}` };
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(error.params.additionalProperty);
      const known = Object.keys(parentSchema.properties ?? {});
      const guess = closestMatch(field, known);
      return {
        path: [...path, field],
        atKey: true,
        message: guess ? `unknown field; did you mean '${guess}'?` : `unknown field; expected one of ${known.join(', ')}`,
      };
    }
    case 'required': {
      const field = String(error.params.missingProperty);
      const about = parentSchema.properties?.[field]?.description;
      return { path, atKey: false, message: `missing required field '${field}'${about ? ` (${about})` : ''}` };
    }
    case 'enum': {
      const allowed = (parentSchema.enum ?? []).map(String);
      const guess = typeof error.data === 'string' ? closestMatch(error.data, allowed) : undefined;
      const hint = guess ? `; did you mean '${guess}'?` : '';
      return { path, atKey: false, message: `must be ${describeExpected(parentSchema)} (got ${describeValue(error.data)})${hint}` };
    }
    case 'uniqueItems': {
      const [first, again] = [error.params.i, error.params.j].map(Number).sort((a, b) => a - b);
      return { path: [...path, again], atKey: false, message: `repeats item ${first}; list each once` };
    }
    case 'minProperties':
    case 'maxProperties': {
      const present = Object.keys((error.data ?? {}) as object);
      return { path, atKey: false, message: `must be ${describeExpected(parentSchema)} (got ${present.join(', ') || 'none'})` };
    }
    default:
      return { path, atKey: false, message: `must be ${describeExpected(parentSchema)} (got ${describeValue(error.data)})` };
  }
}

function pointerToPath(pointer: string, root: unknown): PathSegment[] {
  const path: PathSegment[] = [];
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const index = Array.isArray(node) ? Number(segment) : NaN;
    path.push(Number.isInteger(index) ? index : segment);
    node = (node as Record<string, unknown> | undefined)?.[segment];
  }
  return path;
}
