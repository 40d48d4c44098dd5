// A container image reference as Docker and Kubernetes read it (the grammar of distribution/reference), checked when
// the plan is written: a malformed one would otherwise surface as every pod stuck in InvalidImageName.

/** The image of `vae sweep plan`'s Kubernetes Job unless `--image` names another: the Dockerfile built as `docker build -t vae-lab .`. */
export const DEFAULT_IMAGE = 'vae-lab:latest';

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);

/** Why `ref` is not an image reference, or undefined when it is one. */
export function imageReferenceProblem(ref: string): string | undefined {
  if (REFERENCE.test(ref)) return undefined;
  return 'not an image reference: expected [registry[:port]/]name[:tag][@sha256:digest], the name in lowercase (e.g. registry.example.com/vae-lab:1)';
}
