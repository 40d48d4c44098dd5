#!/usr/bin/env bash
# Writes test/fixtures/kubernetes/job-batch-v1.schema.json: the JSON Schema of a Kubernetes batch/v1 Job, against
# which the tests check the manifest `vae sweep plan` writes. Run it only to move to another Kubernetes version.
#
# Where the schema comes from: the PyPI package kubernetes-validate (Apache-2.0, by Will Thames), which ships the
# JSON Schemas that openapi2jsonschema makes from each Kubernetes release's OpenAPI spec. We take the "-strict"
# variant (additionalProperties: false, as kubectl's server-side field validation rejects unknown fields), keep only
# the definitions a Job reaches, point its $refs inside the file, and drop the descriptions and the
# x-kubernetes-* annotations. Neither constrains a value, so what the schema accepts is unchanged.
#
#   bash scripts/kubernetes-job-schema.sh            # the pinned version below
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGE_VERSION="1.37.0"
WHEEL_SHA256="85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"
# The oldest release in which every field the manifest uses is GA (backoffLimitPerIndex went GA in 1.33).
KUBERNETES_VERSION="1.33.0"
OUT="test/fixtures/kubernetes/job-batch-v1.schema.json"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --no-deps --no-cache-dir --disable-pip-version-check --only-binary=:all: \
  -d "$work" "kubernetes-validate==$PACKAGE_VERSION" >"$work/pip.log" 2>&1 || { cat "$work/pip.log" >&2; exit 1; }
wheel="$work/kubernetes_validate-$PACKAGE_VERSION-py3-none-any.whl"
echo "$WHEEL_SHA256  $wheel" | sha256sum -c --status || { echo "sha256 mismatch for $wheel" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
python3 - "$wheel" "$KUBERNETES_VERSION" "$PACKAGE_VERSION" "$WHEEL_SHA256" "$OUT" <<'PY'
import json, sys, zipfile
wheel, k8s, package, sha, out = sys.argv[1:]
folder = f"kubernetes_validate/kubernetes-json-schema/v{k8s}-local-strict"
with zipfile.ZipFile(wheel) as z:
    job = json.loads(z.read(f"{folder}/job-batch-v1.json"))
    defs = json.loads(z.read(f"{folder}/_definitions.json"))["$defs"]

PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")
reached = set()

def clean(node):
    """The node without annotations, its $refs local, the definitions it names collected."""
    if isinstance(node, list):
        return [clean(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str) or key.startswith("x-kubernetes-"):
            continue
        if key == "$ref":
            name = next(value[len(p):] for p in PREFIXES if value.startswith(p))
            if name not in reached:
                reached.add(name)
                pending.append(name)
            value = "#/$defs/" + name
        out[key] = clean(value) if key != "properties" else {k: clean(v) for k, v in value.items()}
    return out

pending = []
root = clean({k: v for k, v in job.items() if k not in ("$schema", "$id")})
cleaned = {}
while pending:
    name = pending.pop()
    cleaned[name] = clean(defs[name])
schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$comment": (
        f"Kubernetes v{k8s} batch/v1 Job, strict (unknown fields rejected). Made by scripts/kubernetes-job-schema.sh from "
        f"the PyPI package kubernetes-validate=={package} (sha256 {sha}), file {folder}/job-batch-v1.json and the "
        "definitions it reaches in _definitions.json; descriptions and x-kubernetes-* annotations removed."
    ),
    **root,
    "$defs": dict(sorted(cleaned.items())),
}
with open(out, "w") as f:
    json.dump(schema, f, indent=1, sort_keys=False)
    f.write("\n")
print(f"{out}: Job and {len(cleaned)} definitions from Kubernetes v{k8s}")
PY
