#!/usr/bin/env bash
# Installs the ONNX Runtime peer (onnxruntime-node, pinned in bench/package.json) into bench/node_modules.
# Idempotent: does nothing when the pinned version and its native library are already there.
# Used only by the benchmark and golden-output tooling, never by the C++ build.
#
# --ignore-scripts is required: the package's postinstall script tries to download a GPU build, which
# fails here; the CPU build (bin/napi-v6/linux/x64/libonnxruntime.so.1) ships inside the npm tarball.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WANT="$(node -p "require('$BENCH_DIR/package.json').dependencies['onnxruntime-node']" 2>/dev/null || true)"
PKG="$BENCH_DIR/node_modules/onnxruntime-node"
LIB="$PKG/bin/napi-v6/linux/x64/libonnxruntime.so.1"

command -v node >/dev/null && command -v npm >/dev/null || {
  echo "setup_ort: node and npm are required (Debian: apt-get install nodejs npm)" >&2; exit 1; }

have="$(node -p "require('$PKG/package.json').version" 2>/dev/null || true)"
if [ "$have" = "$WANT" ] && [ -f "$LIB" ]; then
  echo "setup_ort: onnxruntime-node $have already installed in $BENCH_DIR/node_modules" >&2
  exit 0
fi

echo "setup_ort: installing onnxruntime-node $WANT into $BENCH_DIR/node_modules" >&2
(cd "$BENCH_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)

have="$(node -p "require('$PKG/package.json').version" 2>/dev/null || true)"
if [ "$have" != "$WANT" ] || [ ! -f "$LIB" ]; then
  echo "setup_ort: install finished but onnxruntime-node $WANT / $LIB is missing" >&2
  exit 1
fi
# Load it once so a broken native binding is reported here, not in the middle of a benchmark.
node -e "require('$PKG')" || { echo "setup_ort: onnxruntime-node failed to load" >&2; exit 1; }
echo "setup_ort: ok (onnxruntime-node $have)" >&2
