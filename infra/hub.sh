#!/usr/bin/env bash
# Starts the whole hub on this machine: installs what is missing, starts Kafka and PostgreSQL
# (private instances on fixed local ports), builds rtmon, migrates, and runs it in the
# foreground (Ctrl-C stops rtmon; `infra/hub.sh stop` also stops Kafka and PostgreSQL).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ "${1:-}" == "stop" ]]; then
  bash "$ROOT/infra/kafka.sh" stop || true
  bash "$ROOT/infra/postgres.sh" stop || true
  exit 0
fi

bash "$ROOT/infra/deps.sh"
bash "$ROOT/infra/kafka.sh" start
bash "$ROOT/infra/postgres.sh" start
bash "$ROOT/infra/build.sh"

export RTMON_KAFKA_BROKERS="${RTMON_KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-19092}}"
export RTMON_DATABASE_URL="${RTMON_DATABASE_URL:-$(bash "$ROOT/infra/postgres.sh" url)}"
export RTMON_HTTP_ADDR="${RTMON_HTTP_ADDR:-127.0.0.1:4000}"
"$ROOT/build/rtmon" migrate --config-file="$ROOT/config/rtmon.ini"

cat >&2 <<MSG

[rtmon] ─────────────────────────────────────────────────────────────────────────────
[rtmon]  web UI     http://$RTMON_HTTP_ADDR/
[rtmon]  hub        http://$RTMON_HTTP_ADDR   (health: /readyz, metrics: /metrics, API: /api/openapi.json)
[rtmon]  send logs  curl -X POST http://$RTMON_HTTP_ADDR/logs -H 'Content-Type: application/json' \\
[rtmon]               -d '{"level":"error","msg":"Database connection failed","service":"api"}'
[rtmon]  metrics    POST http://$RTMON_HTTP_ADDR/metrics     events: POST /events
[rtmon]  websocket  ws://$RTMON_HTTP_ADDR/ingest?kind=logs
[rtmon]  kafka      $RTMON_KAFKA_BROKERS   postgres  ${RTMON_DATABASE_URL/:rtmon@/:***@}
[rtmon]  alerts     set RTMON_SLACK_WEBHOOK_URL / RTMON_SMTP_URL+RTMON_EMAIL_FROM+RTMON_EMAIL_TO /
[rtmon]             RTMON_WEBHOOK_URL to be notified (config/notifications.json)
[rtmon] ─────────────────────────────────────────────────────────────────────────────

MSG
cd "$ROOT"
exec "$ROOT/build/rtmon" serve --config-file="$ROOT/config/rtmon.ini"
