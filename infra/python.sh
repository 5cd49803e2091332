#!/usr/bin/env bash
# Creates (once) the Python virtualenv the integration tests and benchmarks use, with pinned
# packages from PyPI, and prints its python path.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="$STATE_DIR/venv"
REQS="$ROOT/test/integration/requirements.txt"
stamp="$VENV/.requirements.sha"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  log "creating the test virtualenv in $VENV (pytest, requests, websocket-client)"
  mkdir -p "$STATE_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS"
  echo "$want" >"$stamp"
fi
echo "$VENV/bin/python"
