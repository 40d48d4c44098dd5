#!/usr/bin/env bash
# Make @tensorflow/tfjs-node load (native TensorFlow backend) in the project whose
# root is the current directory. Idempotent: exits at once when it already loads.
#
#   1. quick check: if require('@tensorflow/tfjs-node') works, print versions, exit 0;
#   2. normal path: tfjs-node's own scripts/install.js (downloads libtensorflow 2.9.1
#      and a prebuilt addon, or builds it) -- works on a machine with ordinary internet;
#   3. fallback (registries only): `pip download` the pinned tensorflow-cpu wheel from
#      PyPI into .cache/tensorflow-wheel/, extract libtensorflow_cc.so.2,
#      libtensorflow_framework.so.2 and the C API headers into
#      node_modules/@tensorflow/tfjs-node/deps/{lib,include}, and build the addon
#      from source with node-pre-gyp/node-gyp against the local Node headers;
#   4. verify: load tfjs-node, run an op, print backend and TensorFlow version.
#
# Environment knobs (all optional):
#   TFJS_NODE_SETUP=auto|normal|wheel  auto (default) tries normal then wheel;
#                                      wheel skips the normal path; normal never falls back
#   TFJS_NODE_NORMAL_TIMEOUT=seconds   cap on the normal path (default 900)
#   TFJS_NODE_CACHE_DIR=DIR            where the wheel and logs go (default .cache/tensorflow-wheel)
#   TFJS_NODE_STRIP=0                  keep the symbol tables of the .so files (default: strip, -200 MB)
#   npm_config_nodedir=DIR             Node headers for node-gyp (default /usr if /usr/include/node exists)
set -euo pipefail

# ---- pinned inputs ---------------------------------------------------------
TFJS_NODE_VERSION="4.22.0"
TF_WHEEL_VERSION="2.21.0"
TF_WHEEL_FILE="tensorflow_cpu-${TF_WHEEL_VERSION}-cp311-cp311-manylinux_2_27_x86_64.whl"
TF_WHEEL_SHA256="2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c"

ROOT="$(pwd)"
PKG_DIR="$ROOT/node_modules/@tensorflow/tfjs-node"
CACHE_DIR="${TFJS_NODE_CACHE_DIR:-$ROOT/.cache/tensorflow-wheel}"
MODE="${TFJS_NODE_SETUP:-auto}"
START_TS=$(date +%s)

log() { echo "[tfjs-node] $*"; }
die() { echo "[tfjs-node] ERROR: $*" >&2; exit 1; }

# Loads tfjs-node, checks backend and one op; prints one summary line on success.
verify() {
  (cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" node -e '
    const tf = require("@tensorflow/tfjs-node");
    const b = tf.backend();
    const s = tf.tensor1d([1, 2, 3]).square().sum().dataSync()[0];
    if (tf.getBackend() !== "tensorflow" || s !== 14) {
      throw new Error("unexpected backend " + tf.getBackend() + " / result " + s);
    }
    const tfv = b.binding && b.binding.TF_Version;
    console.log("[tfjs-node] OK: tfjs-node " + tf.version["tfjs-node"] +
      ", backend " + tf.getBackend() + ", TensorFlow C library " + tfv);
  ')
}

[ -f "$ROOT/package.json" ] || die "run me from the project root (no package.json in $ROOT)"
[ -f "$PKG_DIR/package.json" ] || die "$PKG_DIR missing: run 'npm ci' first"
installed_version=$(node -p "require('$PKG_DIR/package.json').version")
[ "$installed_version" = "$TFJS_NODE_VERSION" ] ||
  log "warning: installed tfjs-node is $installed_version, this script was tested with $TFJS_NODE_VERSION"

# ---- 1. quick check --------------------------------------------------------
if verify 2>/dev/null; then
  exit 0
fi
log "tfjs-node does not load yet; setting it up (mode: $MODE)"

mkdir -p "$CACHE_DIR"
LOG_DIR="$CACHE_DIR/logs"
mkdir -p "$LOG_DIR"

# node-gyp must not try to download Node headers (offline); use the local ones.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then
  export npm_config_nodedir=/usr
fi
NODE_PRE_GYP="$(node -p "require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', {paths: ['$PKG_DIR']})")"

# ---- 2. normal path --------------------------------------------------------
normal_path() {
  local pj_backup rc=0
  pj_backup="$(mktemp)"
  cp "$PKG_DIR/package.json" "$pj_backup"   # install.js edits "binary" and may not revert it on failure
  log "normal path: node scripts/install.js (libtensorflow download + node-pre-gyp), log: $LOG_DIR/normal-install.log"
  (cd "$PKG_DIR" && PATH="$ROOT/node_modules/.bin:$PATH" \
     timeout "${TFJS_NODE_NORMAL_TIMEOUT:-900}" node scripts/install.js) \
     >"$LOG_DIR/normal-install.log" 2>&1 || rc=$?
  cp "$pj_backup" "$PKG_DIR/package.json"; rm -f "$pj_backup"
  if [ "$rc" -ne 0 ]; then
    log "normal path failed (exit $rc): $(grep -m1 -E '^[A-Za-z]*Error' "$LOG_DIR/normal-install.log" || tail -n1 "$LOG_DIR/normal-install.log")"
    return 1
  fi
  verify >/dev/null 2>>"$LOG_DIR/normal-install.log" || { log "normal path built, but tfjs-node does not load"; return 1; }
}

# ---- 3. fallback: TensorFlow C library from the PyPI wheel -------------------
wheel_path() {
  [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] ||
    die "wheel fallback supports Linux x86_64 only (this is $(uname -s)-$(uname -m))"
  local whl="$CACHE_DIR/$TF_WHEEL_FILE"
  local deps="$PKG_DIR/deps" stamp="tensorflow-cpu==$TF_WHEEL_VERSION sha256:$TF_WHEEL_SHA256"

  if [ -f "$deps/.from-wheel" ] && [ "$(cat "$deps/.from-wheel")" = "$stamp" ] &&
     [ -f "$deps/lib/libtensorflow_cc.so.2" ]; then
    log "deps/ already holds TensorFlow $TF_WHEEL_VERSION from the wheel"
  else
    if [ -f "$whl" ] && echo "$TF_WHEEL_SHA256  $whl" | sha256sum -c --status; then
      log "using cached wheel $whl"
    else
      command -v python3 >/dev/null || die "python3 not found (needed for pip download)"
      python3 -m pip --version >/dev/null 2>&1 ||
        die "pip not available: install it (apt-get install python3-pip, or python3 -m ensurepip)"
      rm -f "$whl"
      log "downloading tensorflow-cpu==$TF_WHEEL_VERSION wheel from PyPI (~274 MB) into $CACHE_DIR"
      python3 -m pip download --no-deps --no-cache-dir --disable-pip-version-check \
        --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
        --platform manylinux_2_27_x86_64 -d "$CACHE_DIR" "tensorflow-cpu==$TF_WHEEL_VERSION" \
        >"$LOG_DIR/pip-download.log" 2>&1 ||
        { tail -n 20 "$LOG_DIR/pip-download.log" >&2; die "pip download of tensorflow-cpu==$TF_WHEEL_VERSION failed"; }
      [ -f "$whl" ] || die "pip did not produce $whl (see $LOG_DIR/pip-download.log)"
      echo "$TF_WHEEL_SHA256  $whl" | sha256sum -c --status ||
        die "sha256 mismatch for $whl (expected $TF_WHEEL_SHA256)"
    fi

    log "extracting libtensorflow_cc.so.2, libtensorflow_framework.so.2 and C API headers into $deps"
    local stage="$PKG_DIR/deps.partial"
    rm -rf "$stage"
    mkdir -p "$stage/lib" "$stage/include"
    python3 - "$whl" "$stage" <<'PY'
import re, shutil, sys, zipfile, os
whl, stage = sys.argv[1], sys.argv[2]
libs = {"tensorflow/libtensorflow_cc.so.2": "lib/libtensorflow_cc.so.2",
        "tensorflow/libtensorflow_framework.so.2": "lib/libtensorflow_framework.so.2"}
hdr = re.compile(r"^tensorflow/include/((tensorflow/c/.*|tensorflow/core/platform/ctstring.*"
                 r"|tsl/platform/ctstring.*|xla/tsl/c/.*)\.h)$")
found = set()
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        m = hdr.match(n)
        dest = libs.get(n) or (m and "include/" + m.group(1))
        if not dest:
            continue
        out = os.path.join(stage, dest)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(n) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        found.add(n)
missing = [l for l in libs if l not in found]
if missing or not os.path.exists(os.path.join(stage, "include/tensorflow/c/eager/c_api.h")):
    sys.exit("wheel lacks %s" % (missing or "tensorflow/c/eager/c_api.h"))
PY
    if [ "${TFJS_NODE_STRIP:-1}" != "0" ] && command -v strip >/dev/null; then
      log "stripping symbol tables (dynamic symbols kept)"
      strip --strip-unneeded "$stage/lib/libtensorflow_cc.so.2" "$stage/lib/libtensorflow_framework.so.2"
    fi
    # Names binding.gyp links against (-ltensorflow -ltensorflow_framework) and the
    # libtensorflow.so.2.9.1 marker that tells scripts/install.js not to download.
    (cd "$stage/lib" &&
      ln -s libtensorflow_cc.so.2 libtensorflow.so &&
      ln -s libtensorflow_cc.so.2 libtensorflow.so.2 &&
      ln -s libtensorflow_cc.so.2 libtensorflow.so.2.9.1 &&
      ln -s libtensorflow_framework.so.2 libtensorflow_framework.so &&
      ln -s libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1)
    echo "$stamp" >"$stage/.from-wheel"
    rm -rf "$deps"
    mv "$stage" "$deps"
  fi

  log "building the addon from source (node-pre-gyp/node-gyp, nodedir=${npm_config_nodedir:-default}), log: $LOG_DIR/build-addon.log"
  (cd "$PKG_DIR" && rm -rf build build-tmp-napi-v* lib &&
     node "$NODE_PRE_GYP" install --build-from-source) >"$LOG_DIR/build-addon.log" 2>&1 ||
    { tail -n 30 "$LOG_DIR/build-addon.log" >&2; die "addon build failed (full log: $LOG_DIR/build-addon.log)"; }
}

case "$MODE" in
  auto)
    # (wheel_path runs outside the `if` condition so that set -e stays in force there)
    if ! normal_path; then
      log "falling back to the TensorFlow $TF_WHEEL_VERSION CPU wheel from PyPI"
      wheel_path
    fi ;;
  normal) if ! normal_path; then die "normal path failed (log: $LOG_DIR/normal-install.log)"; fi ;;
  wheel)  wheel_path ;;
  *)      die "TFJS_NODE_SETUP must be auto, normal or wheel (got '$MODE')" ;;
esac

# ---- 4. verify ---------------------------------------------------------------
if ! verify 2>"$LOG_DIR/verify.log"; then
  cat "$LOG_DIR/verify.log" >&2
  die "tfjs-node still does not load (see above; logs in $LOG_DIR)"
fi
log "done in $(( $(date +%s) - START_TS ))s"
