#!/usr/bin/env bash
# rtmon UI/API benchmark (see bench/README.md, section bench/ui.sh): (1) transition committed ->
# frame on the WebSocket /api/stream, against a bare LISTEN/NOTIFY floor; (2) GET /api/incidents
# with 100k incidents in the table, against the same SQL sent straight to Postgres. Runs
# bench/ui.d/ui.py with the project's venv python (.rtmon/venv: websocket-client), on a private
# Kafka + Postgres started with test/integration/stack.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$root/.rtmon/venv/bin/python"
[ -x "$py" ] || py="$(command -v python3)"
exec "$py" "$root/bench/ui.d/ui.py" "$@"
