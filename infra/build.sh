#!/usr/bin/env bash
# Configures and builds rtmon (and its tests) in build/. RTMON_BUILD_TYPE=Release by default;
# RTMON_SANITIZE=ON for an ASan/UBSan build (use another RTMON_BUILD_DIR for it).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR="${RTMON_BUILD_DIR:-$ROOT/build}"
python="$(bash "$ROOT/infra/python.sh")"
log "building rtmon (${RTMON_BUILD_TYPE:-Release}) in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${RTMON_BUILD_TYPE:-Release}" \
  -DRTMON_SANITIZE="${RTMON_SANITIZE:-OFF}" -DRTMON_PYTHON="$python" >/dev/null
cmake --build "$BUILD_DIR" -- -j"$(nproc)"
bash "$ROOT/infra/ui.sh"  # the web UI the hub serves at /
