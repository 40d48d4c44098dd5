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

/** The field list as aligned text, for `--help`. */
export function formatFields(fields: Field[] = experimentFields()): string {
  const shown = fields.map((f) => ({ ...f, def: f.default === undefined ? (f.path === 'name' ? '(required)' : '') : `default ${JSON.stringify(f.default)}` }));
  const pathWidth = Math.max(...shown.map((f) => f.path.length));
  const defWidth = Math.max(...shown.map((f) => f.def.length));
  return shown.map((f) => `  ${f.path.padEnd(pathWidth)}  ${f.def.padEnd(defWidth)}  ${f.description} Takes: ${f.expected}.`).join('\n');
}
