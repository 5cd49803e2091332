#!/usr/bin/env bash
# Single-quoted `bash -c '...' _ ARGS` snippets expand their positional args themselves:
# shellcheck disable=SC2016
# Self-checking test of the local infrastructure scripts (infra/*.sh, infra/docker-compose.yml).
# Starts a throwaway Kafka (ports 29192/29193) and a throwaway PostgreSQL (port 55532) in temp dirs,
# exercises them and stops them again, also on failure or interruption. Bounded: a watchdog ends the
# run after TEST_INFRA_TIMEOUT seconds (default 240).
# Prints "N passed, M failed" last; exits non-zero if anything failed.
# Env: TEST_KAFKA_PORT (29192), TEST_KAFKA_CONTROLLER_PORT (29193), TEST_PG_PORT (55532),
#      TEST_INFRA_TIMEOUT (240), RTMON_STATE_DIR (shared jar cache, default <repo>/.rtmon).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
INFRA="$ROOT/infra"
STATE_DIR="${RTMON_STATE_DIR:-$ROOT/.rtmon}"
T_KAFKA_PORT="${TEST_KAFKA_PORT:-29192}"
T_KAFKA_CTRL_PORT="${TEST_KAFKA_CONTROLLER_PORT:-29193}"
T_PG_PORT="${TEST_PG_PORT:-55532}"
TIMEOUT_S="${TEST_INFRA_TIMEOUT:-240}"

PASS=0
FAIL=0
SKIP=0
T0=$(date +%s)

TMP="$(mktemp -d "${TMPDIR:-/tmp}/rtmon-test-infra.XXXXXX")"
chmod 755 "$TMP" # the postgres OS user must traverse it
OUT="$TMP/out.log"
KDIR="$TMP/kafka"
PGDIR="$TMP/pg"
WATCHDOG=""

# Our throwaway instances, as commands usable from sub-shells too; the Kafka jar cache stays shared
# ($STATE_DIR/kafka-libs).
KAFKA_CMD="$TMP/kafka-cmd"
PG_CMD="$TMP/pg-cmd"
# fd 7 (the test's original stdout, see below) is closed so that brokers never inherit it.
printf '#!/usr/bin/env bash\nexec 7>&-\nKAFKA_PORT=%q KAFKA_CONTROLLER_PORT=%q KAFKA_DIR=%q KAFKA_HEAP=384m exec %q "$@"\n' \
  "$T_KAFKA_PORT" "$T_KAFKA_CTRL_PORT" "$KDIR" "$INFRA/kafka.sh" >"$KAFKA_CMD"
printf '#!/usr/bin/env bash\nexec 7>&-\nPG_PORT=%q PG_DIR=%q exec %q "$@"\n' "$T_PG_PORT" "$PGDIR" "$INFRA/postgres.sh" >"$PG_CMD"
chmod +x "$KAFKA_CMD" "$PG_CMD"
kafka() { "$KAFKA_CMD" "$@"; }
pg() { "$PG_CMD" "$@"; }
BROKER="127.0.0.1:$T_KAFKA_PORT"

say() { printf '[test_infra] %s\n' "$*"; }
ok() {
  PASS=$((PASS + 1))
  printf 'ok   - %s\n' "$1"
}
# not_ok DESC [quiet]: shows the tail of $OUT unless told to be quiet.
not_ok() {
  FAIL=$((FAIL + 1))
  printf 'FAIL - %s\n' "$1"
  if [[ -z "${2:-}" && -s "$OUT" ]]; then tail -n 25 "$OUT" | sed 's/^/       | /'; fi
}
skip() {
  SKIP=$((SKIP + 1))
  printf 'skip - %s\n' "$1"
}
# check DESC CMD [ARGS...]: CMD's output goes to $OUT (shown on failure).
check() {
  local desc="$1"
  shift
  if "$@" >"$OUT" 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [[ -n "$WATCHDOG" ]]; then kill "$WATCHDOG" 2>/dev/null; fi
  # Stop only what this test started: the instances in our temp dirs, by their pid files.
  if [[ -f "$KDIR/kafka.pid" ]]; then
    kafka stop >/dev/null 2>&1 || true
    local kpid
    kpid="$(head -n 1 "$KDIR/kafka.pid" 2>/dev/null || true)"
    if [[ "$kpid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$kpid/cmdline" 2>/dev/null | grep -q "$KDIR/server.properties"; then
      kill -KILL "$kpid" 2>/dev/null || true
    fi
  fi
  if [[ -f "$PGDIR/data/postmaster.pid" ]]; then
    pg kill >/dev/null 2>&1 || true
    local ppid
    ppid="$(head -n 1 "$PGDIR/data/postmaster.pid" 2>/dev/null || true)"
    if [[ "$ppid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$ppid/cmdline" 2>/dev/null | grep -q "$PGDIR/data"; then
      kill -KILL "$ppid" 2>/dev/null || true
    fi
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted" >&7; exit 130' INT
# Traps can run while a check's output is redirected to $OUT: report on the saved stdout (fd 7).
exec 7>&1
on_term() {
  FAIL=$((FAIL + 1))
  {
    say "timed out or terminated after $(($(date +%s) - T0))s; cleaning up"
    printf '%d passed, %d failed\n' "$PASS" "$FAIL"
  } >&7
  exit 124
}
trap on_term TERM

# Watchdog: bound the whole run (1 s sleeps, so killing it leaves no long-lived sleep behind).
(
  deadline=$((T0 + TIMEOUT_S))
  while (($(date +%s) < deadline)); do sleep 1; done
  kill -TERM $$ 2>/dev/null
) </dev/null >/dev/null 2>&1 &
WATCHDOG=$!

##################################################################### static checks
say "static checks"
for f in "$INFRA/lib.sh" "$INFRA/deps.sh" "$INFRA/kafka.sh" "$INFRA/postgres.sh" "$ROOT/test/infra/test_infra.sh"; do
  check "bash -n ${f#"$ROOT"/}" bash -n "$f"
done
for f in "$INFRA/deps.sh" "$INFRA/kafka.sh" "$INFRA/postgres.sh"; do
  check "${f#"$ROOT"/} is executable" test -x "$f"
done
if command -v shellcheck >/dev/null 2>&1; then
  check "shellcheck infra/*.sh test/infra/test_infra.sh" \
    bash -c 'cd "$1" && shellcheck -x infra/lib.sh infra/deps.sh infra/kafka.sh infra/postgres.sh test/infra/test_infra.sh' _ "$ROOT"
else
  skip "shellcheck (not installed)"
fi
for f in infra/kafka/pom.xml infra/kafka/server.properties.in infra/kafka/log4j2.properties infra/docker/rtmon.Dockerfile infra/docker-compose.yml; do
  check "$f exists" test -s "$ROOT/$f"
done
check "infra/kafka/pom.xml is well-formed and pins kafka_2.13 4.1.2" python3 -c '
import sys, xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
root = ET.parse(sys.argv[1]).getroot()
props = {e.tag.split("}")[1]: e.text for e in root.find("m:properties", ns)}
assert props["kafka.version"] == "4.1.2", props
arts = [d.find("m:artifactId", ns).text for d in root.iter("{http://maven.apache.org/POM/4.0.0}dependency")]
for a in ("kafka_2.13", "log4j-core", "log4j-slf4j-impl"):
    assert a in arts, (a, arts)
' "$ROOT/infra/kafka/pom.xml"
check "deps.sh: everything installed" "$INFRA/deps.sh"
check "deps.sh: a second run is a no-op (< 2 s)" bash -c '
  s=$(date +%s%N); "$1" || exit 1; e=$(( ($(date +%s%N) - s) / 1000000 )); echo "took ${e} ms"; (( e < 2000 ))' _ "$INFRA/deps.sh"

##################################################################### docker-compose.yml
say "docker-compose.yml"
PY=python3
if ! python3 -c 'import yaml' 2>/dev/null; then
  venv="$STATE_DIR/venv-test-infra"
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
    say "installing PyYAML into $venv"
    mkdir -p "$STATE_DIR"
    if ! { timeout 120 python3 -m venv "$venv" >"$OUT" 2>&1 &&
      timeout 180 "$venv/bin/pip" install -q --disable-pip-version-check PyYAML >>"$OUT" 2>&1; }; then
      not_ok "install PyYAML"
    fi
  fi
  PY="$venv/bin/python"
fi
# Defaults declared by the scripts, so compose and scripts cannot drift apart.
def_kafka="$(sed -n 's/^KAFKA_PORT="\${KAFKA_PORT:-\([0-9]*\)}"$/\1/p' "$INFRA/kafka.sh")"
def_pg="$(sed -n 's/^PG_PORT="\${PG_PORT:-\([0-9]*\)}"$/\1/p' "$INFRA/postgres.sh")"
check "script defaults: kafka 19092, postgres 55432" test "$def_kafka:$def_pg" = "19092:55432"
"$PY" - "$ROOT/infra/docker-compose.yml" "$def_kafka" "$def_pg" >"$OUT" 2>&1 <<'PYEOF' || true
import sys
import yaml

path, kafka_port, pg_port = sys.argv[1], int(sys.argv[2] or 0), int(sys.argv[3] or 0)
results = []
def check(desc, cond):
    results.append((bool(cond), desc))

try:
    doc = yaml.safe_load(open(path))
    check("compose: parses with yaml.safe_load", isinstance(doc, dict))
except Exception as e:  # noqa: BLE001
    print(f"FAIL compose: parses with yaml.safe_load ({e})")
    sys.exit(0)

services = doc.get("services") or {}
for name in ("kafka", "postgres", "grafana", "rtmon"):
    check(f"compose: service {name} exists", name in services)

def mappings(svc):
    out = []
    for p in (services.get(svc) or {}).get("ports") or []:
        if isinstance(p, dict):
            out.append((str(p.get("host_ip", "")), int(p.get("published", 0)), int(p.get("target", 0))))
        else:
            parts = str(p).split(":")
            if len(parts) == 3:
                out.append((parts[0], int(parts[1]), int(parts[2].split("/")[0])))
            else:
                out.append(("", int(parts[-2]) if len(parts) > 1 else 0, int(parts[-1].split("/")[0])))
    return out

for svc in services:
    ms = mappings(svc)
    check(f"compose: every port of {svc} is bound to 127.0.0.1 ({ms})", all(h == "127.0.0.1" for h, _, _ in ms))
expect = {"kafka": (kafka_port, None), "postgres": (pg_port, 5432), "rtmon": (4000, 4000), "grafana": (3000, 3000)}
for svc, (pub, tgt) in expect.items():
    ms = mappings(svc)
    check(f"compose: {svc} published on 127.0.0.1:{pub}" + (f" -> {tgt}" if tgt else ""),
          any(h == "127.0.0.1" and p == pub and (tgt is None or t == tgt) for h, p, t in ms))

k = services.get("kafka") or {}
kenv = {str(a): str(b) for a, b in (k.get("environment") or {}).items()}
check("compose: kafka image apache/kafka:4.1.2", k.get("image") == "apache/kafka:4.1.2")
check("compose: kafka advertises 127.0.0.1:%d and an internal kafka:9092 listener" % kafka_port,
      f"127.0.0.1:{kafka_port}" in kenv.get("KAFKA_ADVERTISED_LISTENERS", "")
      and "kafka:9092" in kenv.get("KAFKA_ADVERTISED_LISTENERS", ""))
check("compose: kafka KRaft combined mode", kenv.get("KAFKA_PROCESS_ROLES") == "broker,controller")

p = services.get("postgres") or {}
penv = {str(a): str(b) for a, b in (p.get("environment") or {}).items()}
check("compose: postgres:15 with user/db/password rtmon",
      p.get("image") == "postgres:15" and penv.get("POSTGRES_USER") == "rtmon"
      and penv.get("POSTGRES_DB") == "rtmon" and penv.get("POSTGRES_PASSWORD") == "rtmon")

g = services.get("grafana") or {}
gvols = [str(v) for v in g.get("volumes") or []]
check("compose: grafana mounts dashboards and provisioning",
      any(v.startswith("../dashboards/provisioning:/etc/grafana/provisioning") for v in gvols)
      and any(v.startswith("../dashboards:/var/lib/grafana/dashboards") for v in gvols))
check("compose: grafana gets RTMON_PG_PASSWORD", "RTMON_PG_PASSWORD" in (g.get("environment") or {}))

r = services.get("rtmon") or {}
renv = {str(a): str(b) for a, b in (r.get("environment") or {}).items()}
build = r.get("build") or {}
check("compose: rtmon builds infra/docker/rtmon.Dockerfile from ..",
      build.get("context") == ".." and build.get("dockerfile") == "infra/docker/rtmon.Dockerfile")
check("compose: rtmon env (brokers kafka:9092, database url, http addr 0.0.0.0:4000)",
      renv.get("RTMON_KAFKA_BROKERS") == "kafka:9092"
      and renv.get("RTMON_DATABASE_URL") == "postgresql://rtmon:rtmon@postgres:5432/rtmon"
      and renv.get("RTMON_HTTP_ADDR") == "0.0.0.0:4000")
for svc in ("kafka", "postgres", "grafana", "rtmon"):
    check(f"compose: {svc} has a healthcheck", "test" in ((services.get(svc) or {}).get("healthcheck") or {}))
deps = r.get("depends_on") or {}
check("compose: rtmon depends on kafka and postgres being healthy",
      isinstance(deps, dict) and all((deps.get(s) or {}).get("condition") == "service_healthy" for s in ("kafka", "postgres")))

for good, desc in results:
    print(("PASS " if good else "FAIL ") + desc)
PYEOF
if ! grep -qE '^(PASS|FAIL) ' "$OUT"; then
  not_ok "compose: python checks ran"
fi
while IFS= read -r line; do
  case "$line" in
    PASS\ *) ok "${line#PASS }" ;;
    FAIL\ *) not_ok "${line#FAIL }" quiet ;;
  esac
done < <(grep -E '^(PASS|FAIL) ' "$OUT" || true)

##################################################################### Kafka
say "kafka: throwaway broker on $BROKER (dir $KDIR)"
check "kafka: start" kafka start
check "kafka: status after start" kafka status
check "kafka: listeners bind 127.0.0.1 only" bash -c '
  grep -E "^(advertised\.)?listeners=" "$1/server.properties" | tee /dev/stderr | tr "," "\n" | grep -v "://127\.0\.0\.1:" && exit 1
  grep -q "^listeners=PLAINTEXT://127.0.0.1:$2," "$1/server.properties"' _ "$KDIR" "$T_KAFKA_PORT"

TOPIC="rtmon.test-infra.$$.$RANDOM"
MSG="hello-rtmon-$RANDOM"
check "kafka: produce one message (idempotent producer, acks=all, debug=feature,protocol)" \
  bash -c 'printf "%s\n" "$3" | timeout 30 kcat -P -b "$1" -t "$2" -X enable.idempotence=true -X acks=all \
    -X debug=feature,protocol -X message.timeout.ms=20000 2>"$4"' _ "$BROKER" "$TOPIC" "$MSG" "$TMP/kcat-debug.log"
cp "$TMP/kcat-debug.log" "$OUT" 2>/dev/null || true
check "kafka: debug log shows the ApiVersion negotiation" grep -q 'APIVERSION' "$TMP/kcat-debug.log"
if grep -qE 'Disabling feature (MsgVer2|IdempotentProducer|BrokerGroupCoordinator)' "$TMP/kcat-debug.log"; then
  grep -E 'Disabling feature' "$TMP/kcat-debug.log" >"$OUT" || true
  not_ok "kafka: librdkafka keeps MsgVer2, IdempotentProducer, BrokerGroupCoordinator"
else
  ok "kafka: librdkafka keeps MsgVer2, IdempotentProducer, BrokerGroupCoordinator"
fi
check "kafka: consume the message back (kcat -C)" bash -c '
  got=$(timeout 30 kcat -C -b "$1" -t "$2" -o beginning -c 1 -e -q) || true
  echo "got: $got"; [[ "$got" == "$3" ]]' _ "$BROKER" "$TOPIC" "$MSG"
check "kafka: consume it with a balanced consumer group (kcat -G)" bash -c '
  got=$(timeout 60 kcat -G "rtmon-test-infra-$$" -b "$1" -X auto.offset.reset=earliest -c 1 -q "$2") || true
  echo "got: $got"; [[ "$got" == "$3" ]]' _ "$BROKER" "$TOPIC" "$MSG"
check "kafka: auto-created topic has 4 partitions" bash -c '
  timeout 15 kcat -L -b "$1" -t "$2" -m 5 | tee /dev/stderr | grep -q "with 4 partitions"' _ "$BROKER" "$TOPIC"
check "kafka: second start is idempotent (already running)" bash -c '
  out=$("$1" start 2>&1); rc=$?; echo "$out"; [[ $rc == 0 ]] && grep -q "already running" <<<"$out"' _ "$KAFKA_CMD"
check "kafka: restart keeps the data dir (no reformat) and the message" bash -c '
  "$1" restart || exit 1
  got=$(timeout 30 kcat -C -b "$2" -t "$3" -o beginning -c 1 -e -q) || true
  echo "got: $got"; [[ "$got" == "$4" ]]' _ "$KAFKA_CMD" "$BROKER" "$TOPIC" "$MSG"
check "kafka: cluster id unchanged across restart" bash -c '
  grep -q "cluster.id=$(cat "$1/cluster.id")" "$1/data/meta.properties"' _ "$KDIR"
check "kafka: stop" kafka stop
check "kafka: status fails after stop" bash -c '! "$1" status' _ "$KAFKA_CMD"
check "kafka: no pid file left" test ! -e "$KDIR/kafka.pid"

##################################################################### PostgreSQL
say "postgres: throwaway cluster on 127.0.0.1:$T_PG_PORT (dir $PGDIR)"
check "postgres: start" pg start
check "postgres: status" pg status
URL="$(pg url)"
check "postgres: url is postgresql://rtmon:rtmon@127.0.0.1:$T_PG_PORT/rtmon" \
  test "$URL" = "postgresql://rtmon:rtmon@127.0.0.1:$T_PG_PORT/rtmon"
check "postgres: infra/postgres.sh psql -c 'select 1'" bash -c '
  out=$("$1" psql -Atc "select 1") || exit 1; echo "$out"; [[ "$out" == 1 ]]' _ "$PG_CMD"
check "postgres: psql \"\$url\" -c 'select 1' (TCP, password auth)" bash -c '
  out=$(timeout 20 psql "$1" -XAtc "select 1") || exit 1; echo "$out"; [[ "$out" == 1 ]]' _ "$URL"
check "postgres: connected as user rtmon to database rtmon" bash -c '
  out=$(timeout 20 psql "$1" -XAtc "select current_user, current_database()") || exit 1
  echo "$out"; [[ "$out" == "rtmon|rtmon" ]]' _ "$URL"
check "postgres: wrong password is rejected (scram on TCP)" bash -c '
  ! timeout 20 psql "postgresql://rtmon:wrong@127.0.0.1:$1/rtmon" -XAtc "select 1"' _ "$T_PG_PORT"
t_pg_trgm() {
  local out
  out=$(timeout 20 psql "$URL" -XAtc "select extname from pg_extension where extname = 'pg_trgm'; select similarity('rtmon', 'rtmom') > 0") || return 1
  echo "$out"
  [[ "$out" == $'pg_trgm\nt' ]]
}
check "postgres: pg_trgm installed in db rtmon" t_pg_trgm
check "postgres: rtmon owns the database and can create tables" bash -c '
  timeout 20 psql "$1" -X -v ON_ERROR_STOP=1 -qc "create table t_infra(id int primary key); insert into t_infra values (1); drop table t_infra;"' _ "$URL"
check "postgres: listens on 127.0.0.1 only" bash -c '
  out=$(timeout 20 psql "$1" -XAtc "show listen_addresses") || exit 1; echo "$out"; [[ "$out" == 127.0.0.1 ]]' _ "$URL"
check "postgres: second start is idempotent and prints the URL" bash -c '
  out=$("$1" start 2>/dev/null) || exit 1; echo "$out"; [[ "$out" == "$2" ]]' _ "$PG_CMD" "$URL"
check "postgres: kill (immediate) then start recovers" bash -c '
  "$1" kill && "$1" start >/dev/null && "$1" psql -Atc "select 1"' _ "$PG_CMD"
check "postgres: stop" pg stop
check "postgres: status fails after stop" bash -c '! "$1" status' _ "$PG_CMD"

##################################################################### summary
kill "$WATCHDOG" 2>/dev/null || true
WATCHDOG=""
say "done in $(($(date +%s) - T0))s"
if ((SKIP > 0)); then
  printf '%d passed, %d failed, %d skipped\n' "$PASS" "$FAIL" "$SKIP"
else
  printf '%d passed, %d failed\n' "$PASS" "$FAIL"
fi
((FAIL == 0))
