#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for rtmon (not Debian's system cluster), run as OS user postgres
# (or as yourself when not root).
#
# Usage: infra/postgres.sh {install|start|status|stop|kill|url|psql [ARGS...]}
#   install   check the PostgreSQL 15 binaries (apt-get install them if missing) and initdb the data dir
#   start     install if needed, start the cluster, wait for pg_isready, create role/db rtmon and the
#             pg_trgm extension (idempotent), print the URL; already running -> just print the URL
#   status    exit 0 iff the cluster is running and accepts connections on 127.0.0.1:PG_PORT
#   stop      pg_ctl stop -m fast
#   kill      pg_ctl stop -m immediate (crash tests; the next start runs crash recovery)
#   url       print postgresql://rtmon:rtmon@127.0.0.1:PG_PORT/rtmon
#   psql      run psql as the rtmon user against the cluster; remaining args are passed through
#
# Env: PG_PORT (55432), PG_DIR ($STATE_DIR/postgres: data/, run/ (unix socket), postgres.log),
#      PG_START_TIMEOUT (60), RTMON_STATE_DIR (state root, default <repo>/.rtmon).
# Several clusters can run side by side with different PG_PORT / PG_DIR.
set -euo pipefail
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_VERSION=15
PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
PG_PORT="${PG_PORT:-55432}"
PG_DIR="${PG_DIR:-$STATE_DIR/postgres}"
[[ "$PG_DIR" == /* ]] || PG_DIR="$PWD/$PG_DIR"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
PG_DATA="$PG_DIR/data"
PG_RUN="$PG_DIR/run"
PG_LOG="$PG_DIR/postgres.log"
PG_USER=rtmon
PG_PASSWORD=rtmon
PG_DB=rtmon
URL="postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"

[[ "$PG_PORT" =~ ^[0-9]+$ ]] || die "PG_PORT must be a number (got '$PG_PORT')"

# The OS user that owns and runs the cluster: postgres when we are root (the server refuses to run as
# root), otherwise the current user.
if [[ "$(id -u)" -eq 0 ]]; then
  PG_OS_USER=postgres
else
  PG_OS_USER="$(id -un)"
fi

usage() {
  sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Run a command as the cluster's OS user, from / (the caller's cwd may be unreadable for that user).
as_pg() {
  if [[ "$(id -u)" -eq 0 ]]; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

binaries_ok() { [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/psql" && -x "$PG_BIN/pg_isready" ]]; }

ensure_binaries() {
  if ! binaries_ok; then
    log "PostgreSQL $PG_VERSION binaries not found in $PG_BIN; installing postgresql-$PG_VERSION"
    export DEBIAN_FRONTEND=noninteractive
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "postgresql-$PG_VERSION" "postgresql-client-$PG_VERSION" >/dev/null
    binaries_ok || die "PostgreSQL $PG_VERSION binaries still missing in $PG_BIN"
  fi
  [[ -f "/usr/share/postgresql/$PG_VERSION/extension/pg_trgm.control" ]] ||
    die "pg_trgm is missing (it ships with postgresql-$PG_VERSION); reinstall postgresql-$PG_VERSION"
  id "$PG_OS_USER" >/dev/null 2>&1 || die "OS user '$PG_OS_USER' does not exist (postgresql-$PG_VERSION creates it)"
}

# Create PG_DIR owned by the cluster's OS user and make sure that user can reach it.
prepare_dirs() {
  mkdir -p "$PG_DIR" "$PG_RUN"
  PG_DIR="$(cd "$PG_DIR" && pwd -P)"
  PG_DATA="$PG_DIR/data"
  PG_RUN="$PG_DIR/run"
  PG_LOG="$PG_DIR/postgres.log"
  if [[ "$(id -u)" -eq 0 ]]; then
    chown "$PG_OS_USER:" "$PG_DIR" "$PG_RUN"
    [[ -e "$PG_LOG" ]] && chown "$PG_OS_USER:" "$PG_LOG"
    if [[ -d "$PG_DATA" && "$(stat -c %U "$PG_DATA")" != "$PG_OS_USER" ]]; then
      chown -R "$PG_OS_USER:" "$PG_DATA"
    fi
    if ! as_pg test -w "$PG_DIR" -a -x "$PG_DIR"; then
      local d="$PG_DIR" blocker=""
      while [[ "$d" != "/" ]]; do
        d="$(dirname "$d")"
        as_pg test -x "$d" || blocker="$d"
      done
      die "OS user $PG_OS_USER cannot reach $PG_DIR${blocker:+ (no search permission on $blocker, e.g. a 0700 home dir)}; set RTMON_STATE_DIR (or PG_DIR) to a directory it can traverse, e.g. RTMON_STATE_DIR=/var/tmp/rtmon"
    fi
  fi
  chmod 0750 "$PG_DIR"
  chmod 0755 "$PG_RUN"
  # The socket path must fit in sun_path (107 bytes).
  local sock="$PG_RUN/.s.PGSQL.$PG_PORT"
  ((${#sock} <= 100)) || die "unix socket path too long (${#sock} > 100 bytes): $sock; use a shorter PG_DIR / RTMON_STATE_DIR"
}

# cmd_install [quiet]
cmd_install() {
  ensure_binaries
  prepare_dirs
  if [[ -f "$PG_DATA/PG_VERSION" ]]; then
    [[ -n "${1:-}" ]] || log "postgres data dir already initialized: $PG_DATA"
    return 0
  fi
  [[ ! -e "$PG_DATA" ]] || die "$PG_DATA exists but is not a PostgreSQL data dir; remove it"
  # initdb into a temp dir and rename, so an interrupted initdb is never mistaken for a cluster.
  local tmp="$PG_DIR/data.init"
  rm -rf "$tmp"
  log "initializing postgres cluster in $PG_DATA (initdb)"
  local initdb_log="$PG_DIR/initdb.log"
  local common=(-D "$tmp" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8)
  : >"$initdb_log"
  [[ "$(id -u)" -eq 0 ]] && chown "$PG_OS_USER:" "$initdb_log"
  if ! as_pg "$PG_BIN/initdb" "${common[@]}" --locale=C.UTF-8 >>"$initdb_log" 2>&1; then
    log "initdb with locale C.UTF-8 failed; retrying with locale C"
    rm -rf "$tmp"
    if ! as_pg "$PG_BIN/initdb" "${common[@]}" --locale=C >>"$initdb_log" 2>&1; then
      tail -n 30 "$initdb_log" >&2
      rm -rf "$tmp"
      die "initdb failed (log: $initdb_log)"
    fi
  fi
  # rtmon.conf is regenerated on every start (port and socket dir follow the environment).
  cat >>"$tmp/postgresql.conf" <<'EOF'

# ---- rtmon (infra/postgres.sh) ----
include_if_exists = 'rtmon.conf'
EOF
  mv -T "$tmp" "$PG_DATA"
  log "postgres cluster initialized"
}

write_rtmon_conf() {
  local conf="$PG_DATA/rtmon.conf"
  cat >"$conf.tmp" <<EOF
# Generated by infra/postgres.sh on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 100
shared_buffers = 256MB
max_wal_size = 4GB
wal_compression = on
log_min_duration_statement = -1
fsync = on
EOF
  mv -f "$conf.tmp" "$conf"
  [[ "$(id -u)" -eq 0 ]] && chown "$PG_OS_USER:" "$conf"
  return 0
}

pg_running() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }
pg_ready() { timeout 10 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 3; }
port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Idempotent: role rtmon (LOGIN, password rtmon), database rtmon owned by it, extension pg_trgm.
setup_db() {
  local psql_su=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PG_PORT" -U postgres)
  as_pg "${psql_su[@]}" -d postgres >/dev/null <<SQL
SET client_min_messages = warning;
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER ENCODING ''UTF8'''
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = '$PG_DB')
\gexec
SQL
  as_pg "${psql_su[@]}" -d "$PG_DB" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SQL
}

show_log_tail() {
  if [[ -f "$PG_LOG" ]]; then
    log "last 40 lines of $PG_LOG:"
    tail -n 40 "$PG_LOG" >&2
  fi
}

lock_dir() {
  mkdir -p "$PG_DIR"
  exec 9>"$PG_DIR/.lock"
  flock -w 120 9 || die "another infra/postgres.sh is busy with $PG_DIR"
}

cmd_start() {
  ensure_binaries
  lock_dir
  cmd_install quiet
  if pg_running; then
    if wait_for "postgres at 127.0.0.1:$PG_PORT" "$PG_START_TIMEOUT" pg_ready; then
      setup_db
      log "postgres already running (dir $PG_DIR)"
      printf '%s\n' "$URL"
      return 0
    fi
    show_log_tail
    die "postgres in $PG_DIR is running but does not accept connections on 127.0.0.1:$PG_PORT (another PG_PORT?)"
  fi
  if port_in_use "$PG_PORT"; then
    die "port 127.0.0.1:$PG_PORT is already in use by another process; set PG_PORT"
  fi
  write_rtmon_conf
  local start
  start=$(date +%s)
  log "starting postgres $PG_VERSION on 127.0.0.1:$PG_PORT (dir $PG_DIR)"
  # 9>&-: the postmaster must not inherit our lock.
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_START_TIMEOUT" start >/dev/null 9>&-; then
    show_log_tail
    die "pg_ctl start failed (log: $PG_LOG)"
  fi
  if ! wait_for "postgres at 127.0.0.1:$PG_PORT" "$PG_START_TIMEOUT" pg_ready; then
    show_log_tail
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    die "postgres did not accept connections within ${PG_START_TIMEOUT}s (log: $PG_LOG)"
  fi
  setup_db
  log "postgres ready at 127.0.0.1:$PG_PORT ($(($(date +%s) - start))s)"
  printf '%s\n' "$URL"
}

stop_mode() {
  local mode="$1"
  [[ -d "$PG_DATA" ]] || {
    log "postgres not initialized (dir $PG_DIR)"
    return 0
  }
  lock_dir
  if ! pg_running; then
    log "postgres not running (dir $PG_DIR)"
    return 0
  fi
  log "stopping postgres (dir $PG_DIR, mode $mode)"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m "$mode" -w -t 60 stop >/dev/null ||
    die "pg_ctl stop -m $mode failed (log: $PG_LOG)"
  log "postgres stopped"
}

cmd_status() {
  if [[ ! -d "$PG_DATA" ]] || ! pg_running; then
    log "postgres not running (dir $PG_DIR)"
    return 1
  fi
  if pg_ready; then
    log "postgres running and ready at 127.0.0.1:$PG_PORT (dir $PG_DIR)"
    return 0
  fi
  log "postgres running (dir $PG_DIR) but not accepting connections on 127.0.0.1:$PG_PORT"
  return 1
}

case "${1:-}" in
  install)
    lock_dir
    cmd_install
    ;;
  start) cmd_start ;;
  status) cmd_status ;;
  stop) stop_mode fast ;;
  kill) stop_mode immediate ;;
  url) printf '%s\n' "$URL" ;;
  psql)
    shift
    exec "$PG_BIN/psql" -X -d "$URL" "$@"
    ;;
  *) usage ;;
esac
