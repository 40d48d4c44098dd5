import { describeExpected, type SchemaNode } from './describe.ts';
import { EXPERIMENT_SCHEMA } from './validate.ts';

interface Field {
  path: string;
  expected: string;
  default?: unknown;
  description: string;
}

/** Every leaf field of the experiment schema, with what it takes, its default and its description. */
export function experimentFields(schema: SchemaNode = EXPERIMENT_SCHEMA): Field[] {
  const defs = (schema as { $defs?: Record<string, SchemaNode> }).$defs ?? {};
  const walk = (node: SchemaNode, path: string, description?: string): Field[] => {
    const target = node.$ref ? defs[node.$ref.split('/').pop()!] : node;
    if (target.properties) {
      return Object.entries(target.properties).flatMap(([key, sub]) => walk(sub, path ? `${path}.${key}` : key));
    }
    return [{ path, expected: describeExpected(target), default: target.default, description: description ?? target.description ?? '' }];
  };
  return walk(schema, '');
}

/** The field list for `--help`: the field, its default and what it takes, then what it does, indented. */
export function formatFields(fields: Field[] = experimentFields()): string {
  const heads = fields.map(
    (f) => `${f.path}${f.default === undefined ? (f.path === 'name' ? ' (required)' : '') : ` = ${JSON.stringify(f.default)}`}`,
  );
  const width = Math.max(...heads.map((h) => h.length));
  return fields.map((f, i) => `  ${heads[i].padEnd(width)}  ${f.expected}\n      ${f.description}`).join('\n');
}
