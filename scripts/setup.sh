#!/usr/bin/env bash
# Runs after `npm install` / `npm ci`: the parts of vae-lab that npm cannot install by itself.
# Nothing here may fail the install: without them vae-lab still trains and records runs under runs/.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "${VAE_SKIP_SETUP:-}" = "1" ]; then
  echo "[setup] VAE_SKIP_SETUP=1: skipping MLflow and native TensorFlow set-up"
  exit 0
fi

if ! bash scripts/setup-tfjs-node.sh; then
  echo "[setup] native TensorFlow (tfjs-node) was not set up; vae-lab falls back to the slower wasm backend. Fix the problem above, then: npm run setup:tfjs-node"
fi
# A machine whose runs log to an MLflow server elsewhere (the container image, a laptop with a team server) needs no
# server of its own: VAE_SKIP_MLFLOW=1 leaves out the venv, and MLFLOW_TRACKING_URI names the server.
if [ "${VAE_SKIP_MLFLOW:-}" = "1" ]; then
  echo "[setup] VAE_SKIP_MLFLOW=1: no MLflow server here; runs log to MLFLOW_TRACKING_URI (or under runs/ only)"
elif ! bash scripts/setup-mlflow.sh; then
  echo "[setup] MLflow was not set up; runs are recorded under runs/ only. Fix the problem above, then: npm run setup:mlflow"
fi
exit 0
