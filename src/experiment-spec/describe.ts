// Turns schema nodes and values into the words of an error message, so every message is derived from the schema.

export type SchemaNode = {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  /** The pattern in words, for people; a vae-lab annotation keyword. */
  patternDescription?: string;
  items?: SchemaNode;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  description?: string;
  default?: unknown;
  $ref?: string;
  anyOf?: SchemaNode[];
};

/** What a value must be, e.g. `integer >= 1 and <= 1024`, `one of bce, mse`, `list of integer >= 1`. */
export function describeExpected(schema: SchemaNode): string {
  if (schema.enum) return `one of ${schema.enum.map((v) => String(v)).join(', ')}`;
  if (schema.anyOf) return schema.anyOf.map(describeExpected).join(', or ');
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : schema.type;
  if (type === 'integer' || type === 'number') return [type, ...bounds(schema)].join(' ');
  if (type === 'string') {
    const pattern = schema.patternDescription ? ` of ${schema.patternDescription}` : schema.pattern ? ` matching ${schema.pattern}` : '';
    const [min, max] = [schema.minLength ?? 0, schema.maxLength];
    const length =
      max !== undefined ? ` (${min} to ${max} characters)` : min > 0 ? ` (at least ${min} character${min > 1 ? 's' : ''})` : '';
    return `string${pattern}${length}`;
  }
  if (type === 'array') {
    const size =
      schema.minItems !== undefined && schema.minItems === schema.maxItems
        ? ` (exactly ${schema.minItems} items)`
        : schema.minItems !== undefined && schema.maxItems !== undefined
          ? ` (${schema.minItems} to ${schema.maxItems} items)`
          : schema.minItems
            ? ` (at least ${schema.minItems})`
            : '';
    return `list of ${schema.items ? describeExpected(schema.items) : 'values'}${size}`;
  }
  if (type === 'object') {
    const fields = Object.keys(schema.properties ?? {}).join(', ');
    return schema.minProperties === 1 && schema.maxProperties === 1
      ? `mapping with exactly one of the fields ${fields}`
      : `mapping with fields ${fields}`;
  }
  return type ?? 'a valid value';
}

function bounds(s: SchemaNode): string[] {
  const lower = s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : s.minimum !== undefined ? `>= ${s.minimum}` : '';
  const upper = s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : s.maximum !== undefined ? `<= ${s.maximum}` : '';
  return lower && upper ? [lower, 'and', upper] : [lower || upper].filter(Boolean);
}

/** A short rendering of what the user wrote, for `(got ...)`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  // YAML reads 1e400 as Infinity and .nan as NaN: say why such a number is refused, whatever the schema allows.
  if (typeof value === 'number' && !Number.isFinite(value)) return `${String(value)}, which is not a finite number`;
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The closest candidate by edit distance, if it is close enough to be a likely typo. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const [w, full] = [word.toLowerCase(), c.toLowerCase()];
    // `latnt` should find `latent_dim`: compare with the field's first word too, at the cost of one edit.
    const d = Math.min(editDistance(w, full), editDistance(w, full.split('_')[0]) + 1);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
