#!/usr/bin/env bash
# Creates .venv/ with a pinned MLflow so `vae run` can start a local tracking server and `vae ui` can show it.
# Idempotent: a second run only checks the installed version and returns.
set -euo pipefail

# 3.18.0 is listed but its mlflow-skinny==3.18.0 dependency is not published, so it cannot install.
MLFLOW_VERSION="3.17.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

say() { echo "[mlflow] $*"; }
die() { echo "[mlflow] error: $*" >&2; exit 1; }

installed_version() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - <<'PY' 2>/dev/null
from importlib.metadata import version
print(version("mlflow"))
PY
}

if [ "$(installed_version || true)" = "$MLFLOW_VERSION" ] && [ -x "$VENV/bin/mlflow" ]; then
  say "mlflow $MLFLOW_VERSION already installed in .venv"
  exit 0
fi

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
[ -n "$PYTHON" ] || die "no python3 found; install Python 3.10+ and re-run npm run setup:mlflow"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$PYTHON is older than 3.10; MLflow $MLFLOW_VERSION needs 3.10+ (set PYTHON=/path/to/python3.11)"

if [ ! -x "$VENV/bin/python" ]; then
  say "creating .venv with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv "$VENV" || die "python -m venv failed (on Debian: apt-get install python3-venv)"
fi

say "installing mlflow==$MLFLOW_VERSION (first time takes a minute or two)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION" \
  || die "pip install mlflow==$MLFLOW_VERSION failed; see the pip output above"

[ "$(installed_version || true)" = "$MLFLOW_VERSION" ] || die "mlflow $MLFLOW_VERSION is not importable after install"
say "mlflow $MLFLOW_VERSION ready: $VENV/bin/mlflow"
