#!/usr/bin/env bash
# rtmon alerting benchmark (see bench/README.md, section bench/alerting): breach -> notification
# receiver latency of rtmon vs Debian's Prometheus 2.42 + Alertmanager 0.25, same rule, same
# traffic, same run. Runs bench/alerting.d/alerting.py with the project's venv python
# (.rtmon/venv, created by infra/python.sh), or python3 if there is none. Standard library only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$root/.rtmon/venv/bin/python"
[ -x "$py" ] || py="$(command -v python3)"
exec "$py" "$root/bench/alerting.d/alerting.py" "$@"
