#!/usr/bin/env bash
# A local single-node Apache Kafka broker (KRaft combined mode) from Maven Central jars; no Docker.
# See shared/notes/kafka-local.md.
#
# Usage: infra/kafka.sh {install|start|status|stop|restart|kill|brokers}
#   install   fetch the broker jars once into $STATE_DIR/kafka-libs/<version>/ (shared by all KAFKA_DIRs)
#   start     install if needed, format storage on first start, start the broker, wait until it answers
#             a metadata request (kcat -L); idempotent (already running and ready -> exit 0)
#   status    exit 0 iff the broker process is alive and answers kcat -L
#   stop      SIGTERM, wait up to 30 s, then SIGKILL
#   restart   stop + start on the same data dir (no reformat)
#   kill      kill -9 (crash tests; the next start runs log recovery)
#   brokers   print the bootstrap address (127.0.0.1:PORT)
#
# Env: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093), KAFKA_DIR ($STATE_DIR/kafka: data, logs, pid,
#      generated properties), KAFKA_HEAP (512m), KAFKA_LOG_LEVEL (INFO), KAFKA_JVM_OPTS (extra JVM flags),
#      KAFKA_START_TIMEOUT (90), RTMON_STATE_DIR (state root, default <repo>/.rtmon).
set -euo pipefail
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION=4.1.2 # keep in sync with infra/kafka/pom.xml
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_DIR="${KAFKA_DIR:-$STATE_DIR/kafka}"
[[ "$KAFKA_DIR" == /* ]] || KAFKA_DIR="$PWD/$KAFKA_DIR"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_LOG_LEVEL="${KAFKA_LOG_LEVEL:-INFO}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:-}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT=30
KAFKA_LIBS_ROOT="$STATE_DIR/kafka-libs"
KAFKA_LIBS="$KAFKA_LIBS_ROOT/$KAFKA_VERSION"
KAFKA_POM="$ROOT/infra/kafka/pom.xml"
KAFKA_TEMPLATES="$ROOT/infra/kafka"

BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
PID_FILE="$KAFKA_DIR/kafka.pid"
LOG_FILE="$KAFKA_DIR/kafka.log"
DATA_DIR="$KAFKA_DIR/data"
PROPS="$KAFKA_DIR/server.properties"
LOG4J="$KAFKA_DIR/log4j2.properties"
CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"

[[ "$KAFKA_PORT" =~ ^[0-9]+$ && "$KAFKA_CONTROLLER_PORT" =~ ^[0-9]+$ ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must be numbers"
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
[[ "$KAFKA_HEAP" =~ ^[0-9]+[kKmMgG]$ ]] || die "KAFKA_HEAP must look like 512m or 1g (got '$KAFKA_HEAP')"

usage() {
  sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

libs_installed() { [[ -f "$KAFKA_LIBS/.complete" && -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; }

# The pid file names a live process that is our broker (guards against pid reuse).
broker_pid() {
  local pid
  pid_alive "$PID_FILE" || return 1
  pid="$(read_pid "$PID_FILE")"
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "kafka.Kafka $PROPS" || return 1
  printf '%s\n' "$pid"
}

port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Ready = a real metadata round trip. The cheap TCP probe first keeps each attempt short while the
# listener is not up yet (kcat alone would spend its whole -m timeout retrying).
kcat_ok() { port_in_use "$KAFKA_PORT" && timeout 15 kcat -L -b "$BOOTSTRAP" -m 5 >/dev/null 2>&1; }

# The JVM is gone and its listeners are closed (a SIGKILLed JVM can look like a zombie while its
# other threads, and so its sockets, are still being torn down).
broker_gone() { pid_gone "$1" && ! port_in_use "$KAFKA_PORT" && ! port_in_use "$KAFKA_CONTROLLER_PORT"; }

# Escape a value for the right-hand side of a sed s||| command.
sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# cmd_install [quiet]
cmd_install() {
  if libs_installed; then
    [[ -n "${1:-}" ]] || log "kafka $KAFKA_VERSION jars already installed in $KAFKA_LIBS"
    return 0
  fi
  need_cmd java mvn flock
  mkdir -p "$KAFKA_LIBS_ROOT"
  # One installer at a time (e.g. a test and a developer starting brokers together).
  exec 8>"$KAFKA_LIBS_ROOT/.install.lock"
  flock -w 1200 8 || die "timed out waiting for another kafka install to finish"
  if libs_installed; then
    log "kafka $KAFKA_VERSION jars already installed in $KAFKA_LIBS"
    exec 8>&-
    return 0
  fi
  # Leftovers of an interrupted download (we hold the lock, so no other installer is using them).
  rm -rf "$KAFKA_LIBS_ROOT"/.tmp-*
  local tmp start mvn_log
  tmp="$(mktemp -d "$KAFKA_LIBS_ROOT/.tmp-$KAFKA_VERSION.XXXXXX")"
  mvn_log="$tmp.mvn.log"
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp' '$mvn_log'" EXIT
  start=$(date +%s)
  log "downloading Kafka $KAFKA_VERSION jars from Maven Central (first run only)…"
  if ! timeout 1200 mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$mvn_log" 2>&1; then
    tail -n 40 "$mvn_log" >&2
    rm -rf "$tmp" "$mvn_log"
    die "could not fetch the Kafka jars (mvn failed; see output above)"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || {
    rm -rf "$tmp" "$mvn_log"
    die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
  }
  touch "$tmp/.complete"
  rm -rf "$KAFKA_LIBS" "$mvn_log" # a leftover without .complete is never used
  mv -T "$tmp" "$KAFKA_LIBS"
  trap - EXIT
  log "kafka jars installed: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$KAFKA_LIBS" | cut -f1) in $KAFKA_LIBS ($(($(date +%s) - start))s)"
  exec 8>&-
}

render_config() {
  mkdir -p "$KAFKA_DIR" "$DATA_DIR"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@KAFKA_DATA_DIR@|$(sed_escape "$DATA_DIR")|g" \
    "$KAFKA_TEMPLATES/server.properties.in" >"$PROPS.tmp"
  mv -f "$PROPS.tmp" "$PROPS"
  sed -e "s|@KAFKA_LOG_LEVEL@|$(sed_escape "$KAFKA_LOG_LEVEL")|g" \
    "$KAFKA_TEMPLATES/log4j2.properties" >"$LOG4J.tmp"
  mv -f "$LOG4J.tmp" "$LOG4J"
}

# Cluster id: reuse the one the data dir was formatted with, else the saved one, else a new one.
cluster_id() {
  local id=""
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    id="$(sed -n 's/^cluster\.id=//p' "$DATA_DIR/meta.properties" | head -n 1)"
  fi
  if [[ -z "$id" && -s "$CLUSTER_ID_FILE" ]]; then
    id="$(head -n 1 "$CLUSTER_ID_FILE")"
  fi
  if [[ -z "$id" ]]; then
    id="$(java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$LOG4J" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_DIR/format.log" | tail -n 1)"
    [[ "$id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid returned '$id' (see $KAFKA_DIR/format.log)"
  fi
  printf '%s\n' "$id" >"$CLUSTER_ID_FILE"
  printf '%s\n' "$id"
}

format_storage() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return 0 # already formatted: restarts reuse the data dir as is
  fi
  local id
  id="$(cluster_id)"
  log "formatting kafka storage in $DATA_DIR (cluster id $id)"
  if ! java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$LOG4J" kafka.tools.StorageTool format \
    -t "$id" -c "$PROPS" --ignore-formatted >>"$KAFKA_DIR/format.log" 2>&1; then
    tail -n 40 "$KAFKA_DIR/format.log" >&2
    die "kafka storage format failed"
  fi
}

show_log_tail() {
  if [[ -f "$LOG_FILE" ]]; then
    log "last 40 lines of $LOG_FILE:"
    tail -n 40 "$LOG_FILE" >&2
  fi
}

wait_ready() {
  local pid="$1" rc=0
  WAIT_FOR_PID="$pid" wait_for "kafka at $BOOTSTRAP" "$KAFKA_START_TIMEOUT" kcat_ok || rc=$?
  return "$rc"
}

cmd_start() {
  need_cmd java kcat setsid nohup
  mkdir -p "$KAFKA_DIR"
  exec 9>"$KAFKA_DIR/.lock"
  flock -w 120 9 || die "another infra/kafka.sh is busy with $KAFKA_DIR"

  local pid
  if pid="$(broker_pid)"; then
    if kcat_ok; then
      log "kafka already running (pid $pid) and ready at $BOOTSTRAP"
      return 0
    fi
    log "kafka process $pid is alive but not answering yet"
    if wait_ready "$pid"; then
      log "kafka ready at $BOOTSTRAP"
      return 0
    fi
    show_log_tail
    die "kafka (pid $pid) is running but not answering at $BOOTSTRAP; try infra/kafka.sh restart"
  fi
  rm -f "$PID_FILE"

  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_in_use "$p"; then
      die "port 127.0.0.1:$p is already in use by another process; set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    fi
  done

  cmd_install quiet
  render_config
  format_storage

  local start
  start=$(date +%s)
  log "starting kafka $KAFKA_VERSION on $BOOTSTRAP (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, heap $KAFKA_HEAP, dir $KAFKA_DIR)"
  printf '\n===== %s starting kafka %s =====\n' "$(date -Is)" "$KAFKA_VERSION" >>"$LOG_FILE"
  # The inner shell writes its own pid and then execs java, so the pid file names the JVM itself.
  # shellcheck disable=SC2016,SC2086 # $$ expands in the inner shell; KAFKA_JVM_OPTS is a list of flags
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
    java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J" $KAFKA_JVM_OPTS \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$PROPS" \
    </dev/null >>"$LOG_FILE" 2>&1 8>&- 9>&- &
  local launcher=$!
  # Wait (bounded) for the pid file written by the launched process.
  local deadline=$(($(date +%s) + 10))
  while [[ ! -s "$PID_FILE" ]] && (($(date +%s) < deadline)); do sleep 0.1; done
  pid="$(read_pid "$PID_FILE")"
  [[ -n "$pid" ]] || pid="$launcher"

  local rc=0
  wait_ready "$pid" || rc=$?
  if ((rc == 0)); then
    log "kafka ready at $BOOTSTRAP (pid $pid, $(($(date +%s) - start))s)"
    return 0
  fi
  if ((rc == 2)); then
    log "kafka exited during startup"
  else
    log "kafka did not become ready within ${KAFKA_START_TIMEOUT}s; stopping it"
    stop_pid "$pid"
  fi
  rm -f "$PID_FILE"
  show_log_tail
  die "kafka failed to start (full log: $LOG_FILE)"
}

stop_pid() {
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  kill -CONT "$pid" 2>/dev/null || true # in case a test left it SIGSTOPped
  if ! wait_for "kafka (pid $pid) to stop" "$KAFKA_STOP_TIMEOUT" broker_gone "$pid"; then
    log "kafka did not stop within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for "kafka (pid $pid) to exit" 10 broker_gone "$pid" || die "kafka (pid $pid) survived SIGKILL"
  fi
}

cmd_stop() {
  mkdir -p "$KAFKA_DIR"
  exec 9>"$KAFKA_DIR/.lock"
  flock -w 120 9 || die "another infra/kafka.sh is busy with $KAFKA_DIR"
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE"
    log "kafka not running (dir $KAFKA_DIR)"
    return 0
  fi
  log "stopping kafka (pid $pid)"
  stop_pid "$pid"
  rm -f "$PID_FILE"
  log "kafka stopped"
}

cmd_kill() {
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE"
    log "kafka not running (dir $KAFKA_DIR)"
    return 0
  fi
  log "killing kafka (pid $pid) with SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait_for "kafka (pid $pid) to exit" 10 broker_gone "$pid" || die "kafka (pid $pid) survived SIGKILL"
  rm -f "$PID_FILE"
}

cmd_status() {
  local pid
  if ! pid="$(broker_pid)"; then
    log "kafka not running (dir $KAFKA_DIR)"
    return 1
  fi
  if kcat_ok; then
    log "kafka running (pid $pid) and ready at $BOOTSTRAP"
    return 0
  fi
  log "kafka process $pid is alive but does not answer at $BOOTSTRAP"
  return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  restart)
    cmd_stop
    exec 9>&- # release the lock between stop and start
    cmd_start
    ;;
  kill) cmd_kill ;;
  brokers) printf '%s\n' "$BOOTSTRAP" ;;
  *) usage ;;
esac
