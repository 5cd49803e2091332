#!/usr/bin/env bash
# Starts (up) or stops (down) the real Kafka broker and PostgreSQL that the integration tests
# share, on test ports in a fresh directory, so a developer's running hub is never touched.
# CTest runs `up` as a FIXTURES_SETUP test and `down` as its FIXTURES_CLEANUP.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
. "$here/../../infra/lib.sh"

export KAFKA_PORT="${TEST_KAFKA_PORT:-29092}"
export KAFKA_CONTROLLER_PORT="${TEST_KAFKA_CONTROLLER_PORT:-29093}"
export PG_PORT="${TEST_PG_PORT:-55433}"
export KAFKA_DIR="$STATE_DIR/test-stack/kafka"
export PG_DIR="$STATE_DIR/test-stack/postgres"

case "${1:-}" in
  up)
    # A fresh broker and cluster per test run: no state leaks between runs.
    bash "$ROOT/infra/kafka.sh" stop >/dev/null 2>&1 || true
    bash "$ROOT/infra/postgres.sh" stop >/dev/null 2>&1 || true
    rm -rf "$STATE_DIR/test-stack"
    mkdir -p "$STATE_DIR/test-stack"
    chmod 755 "$STATE_DIR" "$STATE_DIR/test-stack"
    bash "$ROOT/infra/kafka.sh" start
    bash "$ROOT/infra/postgres.sh" start
    ;;
  down)
    bash "$ROOT/infra/kafka.sh" stop || true
    bash "$ROOT/infra/postgres.sh" stop || true
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
