// Writes src/experiment-spec/spec.generated.ts from the schema, so the TypeScript type of a resolved spec is never a second,
// hand-kept copy. A field with a default is always present after validation, so it is required in the resolved type.
import { readFileSync, writeFileSync } from 'node:fs';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

type Node = { [key: string]: unknown };

export const SCHEMA_PATH = new URL('../schemas/experiment.schema.json', import.meta.url);
export const TYPES_PATH = new URL('../src/experiment-spec/spec.generated.ts', import.meta.url);

function requireDefaulted(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(requireDefaulted);
  if (node === null || typeof node !== 'object') return;
  const n = node as Node;
  // Keywords beside $ref would make the generator declare a second copy of the referenced type.
  if ('$ref' in n) for (const key of Object.keys(n)) if (key !== '$ref') delete n[key];
  const properties = n.properties as Record<string, Node> | undefined;
  if (properties) {
    const required = new Set((n.required as string[] | undefined) ?? []);
    for (const [key, sub] of Object.entries(properties)) if ('default' in sub) required.add(key);
    n.required = [...required];
  }
  Object.values(n).forEach(requireDefaulted);
}

export async function generateSpecTypes(): Promise<string> {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Node;
  requireDefaulted(schema);
  return compile(schema as JSONSchema, 'Experiment', {
    bannerComment: '// Generated from schemas/experiment.schema.json by `npm run gen:types`; do not edit.',
    additionalProperties: false,
    format: true,
    ignoreMinAndMaxItems: true,
    declareExternallyReferenced: true,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(TYPES_PATH, await generateSpecTypes());
  console.log(`wrote ${TYPES_PATH.pathname}`);
}
