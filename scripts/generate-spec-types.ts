// Writes the TypeScript types of the experiment spec and the sweep spec from their schemas, so neither type is a
// second, hand-kept copy. A field with a default is always present after validation, so it is required in the
// resolved type.
import { readFileSync, writeFileSync } from 'node:fs';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

type Node = { [key: string]: unknown };

/** Each schema (with its root type's name) and the file its types are generated into, from the project root. */
export const GENERATED_TYPES = [
  { schema: 'schemas/experiment.schema.json', root: 'Experiment', types: 'src/experiment-spec/spec.generated.ts' },
  { schema: 'schemas/sweep.schema.json', root: 'Sweep', types: 'src/sweep/sweep.generated.ts' },
] as const;

export type GeneratedTypes = (typeof GENERATED_TYPES)[number];

const fromRoot = (path: string) => new URL(`../${path}`, import.meta.url);

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

/** The text `target.types` should hold. */
export async function generateSpecTypes(target: GeneratedTypes): Promise<string> {
  const schema = JSON.parse(readFileSync(fromRoot(target.schema), 'utf8')) as Node;
  requireDefaulted(schema);
  return compile(schema as JSONSchema, target.root, {
    bannerComment: `// Generated from ${target.schema} by \`npm run gen:types\`; do not edit.`,
    additionalProperties: false,
    format: true,
    ignoreMinAndMaxItems: true,
    declareExternallyReferenced: true,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const target of GENERATED_TYPES) {
    writeFileSync(fromRoot(target.types), await generateSpecTypes(target));
    console.log(`wrote ${target.types}`);
  }
}
