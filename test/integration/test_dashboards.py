"""Grafana dashboards and provisioning (dashboards/), checked without Grafana: the provisioning
YAML has the shape Grafana reads and agrees with infra/docker-compose.yml; every dashboard JSON
is structurally valid; and every panel query, with template variables substituted and Grafana's
PostgreSQL macros expanded exactly as the backend does (formats.md §4.4), runs in a read-only
transaction against data seeded through rtmon, returns the columns its format needs, shows the
seeded data, and is planned without a Seq Scan on a selectively filtered day partition."""
import json
import re
import subprocess
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
PROVISIONING = DASHBOARDS / "provisioning"
COMPOSE = ROOT / "infra" / "docker-compose.yml"
DS_TYPE = "grafana-postgresql-datasource"
DS_UID = "rtmon-pg"

# ---------------------------------------------------------------------------------------------
# Grafana's PostgreSQL macro engine, per formats.md §4.4 (pkg/tsdb/grafana-postgresql-datasource/
# macros.go + sqleng + gtime). Durations are integer nanoseconds, as Go's time.Duration.
# ---------------------------------------------------------------------------------------------
NS = 1
US = 1000 * NS
MS = 1000 * US
SEC = 1000 * MS
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
YEAR = 365 * DAY

MACRO_RE = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
GO_UNITS = {"ns": NS, "us": US, "µs": US, "μs": US, "ms": MS, "s": SEC, "m": MIN, "h": HOUR}
GO_DURATION_RE = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
DATE_UNIT_RE = re.compile(r"^(\d+)([dwMy])$")


class MacroError(Exception):
    pass


def go_parse_duration(s):
    """Go time.ParseDuration (signed sequence of decimal number + unit)."""
    orig, sign = s, 1
    if s[:1] in "+-" and s:
        sign, s = (-1 if s[0] == "-" else 1), s[1:]
    if s == "0":
        return 0
    if not s:
        raise MacroError(f"time: invalid duration {orig!r}")
    total, pos = Decimal(0), 0
    while pos < len(s):
        m = GO_DURATION_RE.match(s, pos)
        if not m or m.group(1) in ("", "."):
            raise MacroError(f"time: invalid duration {orig!r}")
        total += Decimal(m.group(1)) * GO_UNITS[m.group(2)]
        pos = m.end()
    return sign * int(total)


def add_months(t, months):
    y, m = divmod(t.month - 1 + months, 12)
    y += t.year
    # Go's AddDate normalizes overflowing days (Jan 31 + 1 month = Mar 3); emulate it.
    first = t.replace(year=y, month=m + 1, day=1)
    return first + timedelta(days=t.day - 1)


def gtime_parse_interval(s, now=None):
    """grafana-plugin-sdk-go gtime.ParseInterval: N[dwMy] is calendar arithmetic from now,
    anything else is time.ParseDuration."""
    m = DATE_UNIT_RE.match(s)
    if not m:
        return go_parse_duration(s)
    n, unit = int(m.group(1)), m.group(2)
    now = now or datetime.now(timezone.utc)
    if unit == "d":
        later = now + timedelta(days=n)
    elif unit == "w":
        later = now + timedelta(days=7 * n)
    elif unit == "M":
        later = add_months(now, n)
    else:
        later = add_months(now, 12 * n)
    delta = later - now
    return (delta.days * 86400 + delta.seconds) * SEC + delta.microseconds * US


def format_interval(d):
    """gtime.FormatInterval: largest unit >= 1, truncating."""
    for unit, suffix in ((YEAR, "y"), (DAY, "d"), (HOUR, "h"), (MIN, "m"), (SEC, "s"), (MS, "ms")):
        if d >= unit:
            return f"{d // unit}{suffix}"
    return "1ms"


def go_float(x):
    """Go's %v for a float64 (shortest representation; integral values without '.0')."""
    if x == int(x) and abs(x) < 1e21:
        return str(int(x))
    return repr(x)


def rfc3339nano(t):
    """Go's RFC3339Nano in UTC: fraction with trailing zeros dropped, 'Z'."""
    t = t.astimezone(timezone.utc)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += "." + f"{t.microsecond:06d}".rstrip("0")
    return s + "Z"


def epoch_s(t):
    return int(t.timestamp()) if t.microsecond == 0 else int(t.timestamp() // 1)


def epoch_ns(t):
    delta = t - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * SEC + delta.microseconds * US


def expand_macros(sql, frm, to, interval, timescaledb=False):
    """Step 1 (plain replacements, in order) then step 2 (macro regex), as the backend does."""
    sql = sql.replace("$__interval_ms", str(interval // MS))
    sql = sql.replace("$__interval", format_interval(interval))
    sql = sql.replace("$__unixEpochFrom()", str(epoch_s(frm)))
    sql = sql.replace("$__unixEpochTo()", str(epoch_s(to)))
    original = sql

    def evaluate(name, args):
        if name == "__time":
            if not args[0]:
                raise MacroError(f"missing time column argument for macro {name}")
            return f'{args[0]} AS "time"'
        if name == "__timeEpoch":
            if not args[0]:
                raise MacroError(f"missing time column argument for macro {name}")
            return f'extract(epoch from {args[0]}) as "time"'
        if name == "__timeFilter":
            if not args[0]:
                raise MacroError(f"missing time column argument for macro {name}")
            return f"{args[0]} BETWEEN '{rfc3339nano(frm)}' AND '{rfc3339nano(to)}'"
        if name == "__timeFrom":
            return f"'{rfc3339nano(frm)}'"
        if name == "__timeTo":
            return f"'{rfc3339nano(to)}'"
        if name in ("__timeGroup", "__timeGroupAlias"):
            if len(args) < 2:
                raise MacroError(f"macro {name} needs time column and interval and optional fill value")
            try:
                iv = gtime_parse_interval(args[1].strip("'"))
            except MacroError:
                raise MacroError(f"error parsing interval {args[1]}")
            if len(args) == 3:
                fill = args[2]
                if fill not in ("NULL", "previous"):
                    try:
                        float(fill)
                    except ValueError:
                        raise MacroError(f"error parsing fill value {fill}")
            secs = iv / SEC
            if timescaledb:
                expr = f"time_bucket('{secs:.3f}s',{args[0]})"
            else:
                expr = f"floor(extract(epoch from {args[0]})/{go_float(secs)})*{go_float(secs)}"
            return expr + ' AS "time"' if name == "__timeGroupAlias" else expr
        if name == "__unixEpochFilter":
            if not args[0]:
                raise MacroError(f"missing time column argument for macro {name}")
            return f"{args[0]} >= {epoch_s(frm)} AND {args[0]} <= {epoch_s(to)}"
        if name == "__unixEpochNanoFilter":
            if not args[0]:
                raise MacroError(f"missing time column argument for macro {name}")
            return f"{args[0]} >= {epoch_ns(frm)} AND {args[0]} <= {epoch_ns(to)}"
        if name == "__unixEpochNanoFrom":
            return str(epoch_ns(frm))
        if name == "__unixEpochNanoTo":
            return str(epoch_ns(to))
        if name in ("__unixEpochGroup", "__unixEpochGroupAlias"):
            if len(args) < 2:
                raise MacroError(f"macro {name} needs time column and interval and optional fill value")
            try:
                iv = gtime_parse_interval(args[1].strip("'"))
            except MacroError:
                raise MacroError(f"error parsing interval {args[1]}")
            secs = go_float(iv / SEC)
            expr = f"floor(({args[0]})/{secs})*{secs}"
            return expr + ' AS "time"' if name == "__unixEpochGroupAlias" else expr
        raise MacroError(f'unknown macro "{name}"')

    def repl(m):
        name = m.group(1)
        args = [a.strip(" ") for a in m.group(2).split(",")]
        # Pre-5.3 compatibility: $__timeGroup(...) directly followed by ',' gets AS "time".
        # Like the backend, this looks at the first occurrence of the call in the query.
        idx = original.find(m.group(0))
        end = idx + len(m.group(0))
        if name == "__timeGroup" and idx >= 0 and end < len(original) and original[end] == ",":
            name = "__timeGroupAlias"
        return evaluate(name, args)

    return MACRO_RE.sub(repl, sql)


# Template variables are interpolated by the frontend before the backend sees the SQL.
VAR_RE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(\w+)")


def substitute_vars(sql, values):
    """values: {name: [value, ...]}. Multi-values become 'a','b' (SQL datasources), :csv/:raw
    unquoted. Macros ($__...) are left for the backend."""
    def repl(m):
        name = m.group(1) or m.group(3) or m.group(4)
        fmt = m.group(2)
        if name.startswith("__"):
            return m.group(0)
        if name not in values:
            raise AssertionError(f"query uses undefined template variable ${name}")
        vs = values[name]
        if fmt in ("csv", "raw"):
            return ",".join(vs)
        return ",".join("'" + v.replace("'", "''") + "'" for v in vs)
    return VAR_RE.sub(repl, sql)


ROUND_STEPS = [1 * MS, 10 * MS, 20 * MS, 50 * MS, 100 * MS, 200 * MS, 500 * MS, 1 * SEC, 2 * SEC,
               5 * SEC, 10 * SEC, 15 * SEC, 20 * SEC, 30 * SEC, 1 * MIN, 2 * MIN, 5 * MIN, 10 * MIN,
               15 * MIN, 20 * MIN, 30 * MIN, 1 * HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
               24 * HOUR, 7 * DAY, 30 * DAY, YEAR]


def browser_interval(frm, to, max_data_points=1000, min_interval=SEC):
    """max(RoundInterval((to-from)/maxDataPoints), minInterval): snaps to the nearest step."""
    raw = epoch_ns(to) - epoch_ns(frm)
    raw //= max_data_points
    best = min(ROUND_STEPS, key=lambda s: abs(s - raw))
    return max(best, min_interval)


# ---------------------------------------------------------------------------------------------
# Dashboard discovery
# ---------------------------------------------------------------------------------------------
def dashboard_files():
    return sorted(p for p in DASHBOARDS.rglob("*.json"))


def walk_panels(panels):
    for p in panels or []:
        yield p
        yield from walk_panels(p.get("panels"))


def all_targets():
    out = []
    for path in dashboard_files():
        dash = json.loads(path.read_text())
        for p in walk_panels(dash.get("panels")):
            for t in p.get("targets") or []:
                out.append(pytest.param(path, p, t, id=f"{path.name}:{p.get('id')}:{p.get('title')}:{t.get('refId')}"))
    return out


TARGETS = all_targets()

# ---------------------------------------------------------------------------------------------
# Provisioning and JSON structure (no database needed)
# ---------------------------------------------------------------------------------------------
ENV_REF = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$")


def grafana_expand_env(value, environ):
    """Grafana provisioning's env interpolation: $VAR / ${VAR}, $$ = literal $."""
    def repl(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(2)
        return environ.get(name, "")
    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", repl, value)


def compose_grafana():
    return yaml.safe_load(COMPOSE.read_text())["services"]["grafana"]


def test_datasource_provisioning():
    files = sorted((PROVISIONING / "datasources").glob("*.y*ml"))
    assert files, "no datasource provisioning file"
    doc = yaml.safe_load((PROVISIONING / "datasources" / "rtmon.yaml").read_text())
    assert doc["apiVersion"] == 1
    [ds] = doc["datasources"]
    assert ds["name"] == "rtmon" and ds["uid"] == DS_UID and ds["type"] == DS_TYPE
    assert ds.get("access", "proxy") == "proxy"
    assert "database" not in ds and "password" not in ds, "legacy top-level keys (#132582)"
    jd = ds["jsonData"]
    assert jd["sslmode"] == "disable" and jd["postgresVersion"] == 1500
    assert jd["timescaledb"] is False
    for key in ("database",):
        assert jd[key]
    # Secrets and connection data come from the environment, never literals.
    assert ENV_REF.match(ds["secureJsonData"]["password"]), ds["secureJsonData"]
    for v in (ds["url"], ds["user"], jd["database"]):
        assert "$" in v
    # With the environment docker-compose gives Grafana, everything resolves to a usable DSN.
    environ = {k: str(v) for k, v in compose_grafana()["environment"].items()}
    url = grafana_expand_env(ds["url"], environ)
    assert re.fullmatch(r"[A-Za-z0-9.-]+:\d+", url), f"url must be host:port, got {url!r}"
    assert url == "postgres:5432"
    assert grafana_expand_env(ds["user"], environ) == "rtmon"
    assert grafana_expand_env(jd["database"], environ) == "rtmon"
    assert grafana_expand_env(ds["secureJsonData"]["password"], environ) == "rtmon"


def test_dashboard_provider_provisioning():
    doc = yaml.safe_load((PROVISIONING / "dashboards" / "rtmon.yaml").read_text())
    assert doc["apiVersion"] == 1
    [prov] = doc["providers"]
    assert prov["type"] == "file" and prov["name"] and prov.get("orgId", 1) == 1
    path = prov["options"]["path"]
    assert path == "/var/lib/grafana/dashboards"
    # The compose file mounts dashboards/ there, and the provisioning dir where Grafana reads it.
    mounts = {}
    for v in compose_grafana()["volumes"]:
        parts = v.split(":")
        if parts[0].startswith("."):
            mounts[parts[1]] = (COMPOSE.parent / parts[0]).resolve()
    assert mounts.get(path) == DASHBOARDS.resolve(), mounts
    assert mounts.get("/etc/grafana/provisioning") == PROVISIONING.resolve(), mounts


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_dashboard_json_structure(path):
    text = path.read_text()
    dash = json.loads(text)
    assert dash["uid"] and dash["title"] and dash["schemaVersion"] == 39
    assert "${RTMON" not in text, "env references belong in provisioning YAML only"
    ids = [p["id"] for p in walk_panels(dash["panels"])]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for p in walk_panels(dash["panels"]):
        assert set(p["gridPos"]) >= {"x", "y", "w", "h"}
        assert 0 <= p["gridPos"]["x"] and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": DS_TYPE, "uid": DS_UID}
        assert p["targets"], f"panel {p['title']} has no targets"
        for t in p["targets"]:
            assert t["refId"] and t["rawQuery"] is True and t["editorMode"] == "code"
            assert t["format"] in ("table", "time_series")
            assert t["rawSql"].strip()
            assert t.get("datasource", p["datasource"])["uid"] == DS_UID
            assert not {"fill", "fillMode"} & set(t), "fill only via the macro argument"
    for v in dash.get("templating", {}).get("list", []):
        if v["type"] == "query":
            assert v["datasource"]["uid"] == DS_UID and v["query"]
    titles = {p["title"] for p in walk_panels(dash["panels"])}
    if path.name == "rt-monitoring.json":
        assert dash["title"] == "RT Monitoring - Logs, Metrics & Events"
        assert {"Total logs", "Total metrics", "Total events", "Log levels", "Recent logs",
                "Recent metrics", "Recent events", "Topic overview"} <= titles
        [var] = dash["templating"]["list"]
        assert var["name"] == "service" and var["multi"] and var["includeAll"]


def test_macro_engine_matches_notes():
    """The expander itself, on the examples in formats.md §4.4."""
    frm = datetime(2024, 1, 1, tzinfo=timezone.utc)
    to = datetime(2024, 1, 1, 6, tzinfo=timezone.utc)
    e = lambda s, iv=MIN: expand_macros(s, frm, to, iv)
    assert e("$__timeFilter(ts)") == "ts BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-01T06:00:00Z'"
    assert rfc3339nano(frm + timedelta(milliseconds=500)) == "2024-01-01T00:00:00.5Z"
    assert e("$__timeFrom() $__timeTo()") == "'2024-01-01T00:00:00Z' '2024-01-01T06:00:00Z'"
    assert e("$__unixEpochFrom() $__unixEpochTo()") == "1704067200 1704088800"
    assert e("$__interval $__interval_ms", 90 * SEC) == "1m 90000"
    assert [format_interval(d) for d in (30 * SEC, 2 * HOUR, DAY, 100 * MS, 400 * DAY, 10)] == \
        ["30s", "2h", "1d", "100ms", "1y", "1ms"]
    assert e("$__timeGroup(ts,'5m')") == "floor(extract(epoch from ts)/300)*300"
    assert e("$__timeGroup(ts, 500ms)") == "floor(extract(epoch from ts)/0.5)*0.5"
    assert e("$__timeGroupAlias(ts, $__interval)") == 'floor(extract(epoch from ts)/60)*60 AS "time"'
    assert e("SELECT $__timeGroup(ts,'1h'), x") == 'SELECT floor(extract(epoch from ts)/3600)*3600 AS "time", x'
    assert e("$__timeGroup(ts,'1d',NULL)") == "floor(extract(epoch from ts)/86400)*86400"
    assert expand_macros("$__timeGroup(ts,'5m')", frm, to, MIN, timescaledb=True) == "time_bucket('300.000s',ts)"
    assert e("$__unixEpochFilter(t)") == "t >= 1704067200 AND t <= 1704088800"
    assert e("$__unixEpochNanoFilter(t)") == "t >= 1704067200000000000 AND t <= 1704088800000000000"
    assert e("$__unixEpochGroupAlias(t,'5m')") == 'floor((t)/300)*300 AS "time"'
    assert e("$__time(ts) $__timeEpoch(ts)") == 'ts AS "time" extract(epoch from ts) as "time"'
    with pytest.raises(MacroError, match='unknown macro "__foo"'):
        e("$__foo(x)")
    assert substitute_vars("service in ($service) and ${service:csv}", {"service": ["a", "b'c"]}) == \
        "service in ('a','b''c') and a,b'c"


# ---------------------------------------------------------------------------------------------
# Seeding through rtmon, then every query against the module's database
# ---------------------------------------------------------------------------------------------
SERVICES = ["api", "billing", "worker"]
SUBSET = ["api", "worker"]
LEVELS = ["info", "warn", "error", "debug", "fatal"]
N_LOGS, N_METRICS, N_EVENTS, N_RECENT = 3000, 3000, 1500, 60


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def seeded(env):
    """Rows spread over every existing day partition inside the last 7 days, plus some in the
    last 10 minutes, posted as NDJSON batches to rtmon; waits until all are in Postgres."""
    hub = env.hub()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    first_day = env.pg.scalar(
        "select min(to_date(right(c.relname, 8), 'YYYYMMDD')) from pg_inherits i "
        "join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent "
        "where p.relname = 'logs' and c.relname ~ '_[0-9]{8}$'")
    start = max(datetime.fromisoformat(first_day).replace(tzinfo=timezone.utc) + timedelta(minutes=1),
                now - timedelta(hours=160))
    span = (now - timedelta(minutes=15) - start).total_seconds()

    def ts(i, n, k):
        if k < N_RECENT:  # the last 10 minutes
            return now - timedelta(seconds=5 + (k * 600) // N_RECENT)
        return start + timedelta(seconds=span * i / n)

    expected = {"logs": {}, "metrics": {}, "events": {}}
    batches = {"logs": [], "metrics": [], "events": []}
    for i in range(N_LOGS):
        svc, lvl = SERVICES[i % 3], LEVELS[(i // 3) % len(LEVELS)]
        batches["logs"].append({"service": svc, "level": lvl, "host": f"h{i % 4}",
                                "message": f"line {i}", "ts": iso(ts(i, N_LOGS, i)), "req": i})
        expected["logs"][(svc, lvl)] = expected["logs"].get((svc, lvl), 0) + 1
    for i in range(N_METRICS):
        svc = SERVICES[i % 3]
        name = ["cpu", "latency_ms"][(i // 3) % 2]
        batches["metrics"].append({"service": svc, "name": name, "value": (i % 100) / 4,
                                   "ts": iso(ts(i, N_METRICS, i)), "endpoint": "/x"})
        expected["metrics"][svc] = expected["metrics"].get(svc, 0) + 1
    for i in range(N_EVENTS):
        svc = SERVICES[i % 3]
        batches["events"].append({"service": svc, "type": ["deploy", "restart", "scale"][(i // 3) % 3],
                                  "ts": iso(ts(i, N_EVENTS, i)), "version": f"1.{i}"})
        expected["events"][svc] = expected["events"].get(svc, 0) + 1
    for kind, items in batches.items():
        for k in range(0, len(items), 1000):
            chunk = items[k:k + 1000]
            r = hub.post(f"/{kind}", "\n".join(json.dumps(x) for x in chunk) + "\n",
                         content_type="application/x-ndjson")
            assert r.status_code == 202 and r.json()["accepted"] == len(chunk), r.text
    totals = {"logs": N_LOGS, "metrics": N_METRICS, "events": N_EVENTS}
    for kind, n in totals.items():
        wait_until(lambda: int(env.pg.scalar(f"select count(*) from {kind}")) == n, 45,
                   what=f"{n} rows in {kind}")
    env.pg.query("vacuum analyze logs, metrics, events")
    return expected


def run_sql(env, sql):
    """gdesc, EXPLAIN and the rows of `sql`, in one read-only transaction."""
    body = sql.strip().rstrip(";")
    # The plan is taken with seq scans priced out: the question is whether an index *can* serve
    # the time filter. With seq scans allowed the answer would depend on table size (the planner
    # rightly scans a partition of a few pages, e.g. the day partition just after midnight UTC).
    script = (f"begin read only;\n{body}\n\\gdesc\n\\echo @@EXPLAIN@@\nset local enable_seqscan = off;\n"
              f"explain {body}\n\\g\nreset enable_seqscan;\n"
              f"\\echo @@ROWS@@\n{body}\n\\g\n\\echo @@END@@\nrollback;\n")
    cmd = ["psql", env.pg.url, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
    out = subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"query failed: {out.stderr}\n--- SQL ---\n{body}"
    head, rest = out.stdout.split("@@EXPLAIN@@\n", 1)
    plan, rest = rest.split("@@ROWS@@\n", 1)
    rows = rest.split("@@END@@\n", 1)[0]
    cols = [line.split("\t") for line in head.splitlines() if line]
    return ([(c[0], c[1]) for c in cols], plan.splitlines(),
            [line.split("\t") for line in rows.splitlines() if line])


NUMERIC = {"smallint", "integer", "bigint", "numeric", "real", "double precision"}
TIME_TYPES = {"timestamp with time zone", "timestamp without time zone", "date"} | NUMERIC
DAY_SEQ = re.compile(r"Seq Scan on ((?:logs|metrics|events)_2\d{7})\b")


def partition_bounds(env):
    rows = env.pg.query(
        "select c.relname, pg_get_expr(c.relpartbound, c.oid) from pg_class c "
        "where c.relname ~ '^(logs|metrics|events)_2[0-9]{7}$'")
    out = {}
    for name, bound in rows:
        lo, hi = re.findall(r"'([^']+)'", bound)
        out[name] = (datetime.fromisoformat(lo.replace(" ", "T") + ("" if "+" in lo[10:] else "+00:00")),
                     datetime.fromisoformat(hi.replace(" ", "T") + ("" if "+" in hi[10:] else "+00:00")))
    return out


def is_time_ranged(sql):
    return any(m in sql for m in ("$__timeFilter(", "$__unixEpochFilter(", "$__unixEpochNanoFilter("))


def check_plan(plan, frm, to, bounds, sql):
    """No Seq Scan on a day partition the time filter selects only part of, in a plan taken with
    enable_seqscan=off (run_sql): there a Seq Scan means no index can serve the filter. A
    partition that starts inside [from, to] has every row (none are in the future) matching the
    ts predicate, so a Seq Scan there is fine."""
    for line in plan:
        m = DAY_SEQ.search(line)
        if m:
            lo, _ = bounds[m.group(1)]
            assert lo >= frm, (f"Seq Scan on {m.group(1)}, which the range selects only part of:\n"
                               + "\n".join(plan) + "\n--- SQL ---\n" + sql)


def test_plan_check_rejects_partial_seq_scan():
    """check_plan itself: a Seq Scan on a partition the range cuts is rejected, one on a
    partition wholly inside the range is accepted."""
    day = datetime(2026, 1, 2, tzinfo=timezone.utc)
    bounds = {"logs_20260101": (day - timedelta(days=1), day), "logs_20260102": (day, day + timedelta(days=1))}
    to = day + timedelta(hours=12)
    check_plan(["  ->  Seq Scan on logs_20260102 logs_2  (cost=0.00..1.00 rows=1 width=0)"],
               to - timedelta(days=7), to, bounds, "q")
    with pytest.raises(AssertionError, match="logs_20260102"):
        check_plan(["  ->  Seq Scan on logs_20260102 logs  (cost=0.00..1.00 rows=1 width=0)"],
                   to - timedelta(minutes=15), to, bounds, "q")


def service_options(env, dash, frm, to):
    """The 'All' option list: the service variable's own query, run like Grafana does."""
    [var] = [v for v in dash["templating"]["list"] if v["name"] == "service"]
    sql = expand_macros(var["query"], frm, to, browser_interval(frm, to))
    cols, plan, rows = run_sql(env, sql)
    return [r[0] for r in rows]


RANGES = {"15m": timedelta(minutes=15), "7d": timedelta(days=7)}


def test_service_variable_lists_seeded_services(env, seeded):
    for path in dashboard_files():
        dash = json.loads(path.read_text())
        for rng, width in RANGES.items():
            to = datetime.now(timezone.utc).replace(microsecond=0)
            assert service_options(env, dash, to - width, to) == sorted(SERVICES), rng


@pytest.mark.parametrize("path,panel,target", TARGETS)
def test_panel_query(env, seeded, path, panel, target):
    dash = json.loads(path.read_text())
    bounds = partition_bounds(env)
    raw = target["rawSql"]
    for rng, width in RANGES.items():
        to = datetime.now(timezone.utc).replace(microsecond=0)
        frm = to - width
        all_services = service_options(env, dash, frm, to)
        assert all_services == sorted(SERVICES)
        for sel_name, selected in (("subset", SUBSET), ("All", all_services)):
            sql = substitute_vars(raw, {"service": selected})
            intervals = [browser_interval(frm, to)]
            if "$__interval" in raw or "$__timeGroup" in raw:
                intervals += [SEC, MIN, HOUR]
            for iv in dict.fromkeys(intervals):
                expanded = expand_macros(sql, frm, to, iv)
                assert "$" not in expanded.replace("$$", ""), expanded
                where = f"[{rng} {sel_name} interval={format_interval(iv)}]"
                cols, plan, rows = run_sql(env, expanded)
                names = [c[0] for c in cols]
                types = dict(cols)
                if target["format"] == "time_series":
                    assert "time" in names, f"{where} time column is missing: {cols}"
                    assert types["time"] in TIME_TYPES, f"{where} {cols}"
                    assert [n for n, t in cols if n != "time" and t in NUMERIC], f"{where} no numeric column: {cols}"
                if panel["type"] == "stat":
                    assert any(t in NUMERIC for _, t in cols), f"{where} stat without a number: {cols}"
                assert rows, f"{where} no rows for panel {panel['title']}:\n{expanded}"
                if is_time_ranged(raw):
                    check_plan(plan, frm, to, bounds, expanded)
                check_values(panel, cols, rows, selected, rng, seeded, where)


def check_values(panel, cols, rows, selected, rng, seeded, where):
    """What the seeded data must look like on the known panels (7-day range: everything)."""
    title = panel["title"]
    names = [c[0] for c in cols]
    col = lambda name: [r[names.index(name)] for r in rows]
    n_logs = sum(n for (s, _), n in seeded["logs"].items() if s in selected)
    n_metrics = sum(n for s, n in seeded["metrics"].items() if s in selected)
    n_events = sum(n for s, n in seeded["events"].items() if s in selected)
    if rng == "7d":
        if title in ("Total logs", "Total metrics", "Total events"):
            assert int(rows[0][0]) == {"Total logs": n_logs, "Total metrics": n_metrics,
                                       "Total events": n_events}[title], where
        if title == "Log levels":
            got = {}
            for r in rows:
                got[r[names.index("metric")]] = got.get(r[names.index("metric")], 0) + int(r[names.index("value")])
            want = {}
            for (s, lvl), n in seeded["logs"].items():
                if s in selected:
                    want[lvl] = want.get(lvl, 0) + n
            assert got == want, where
        if title == "Topic overview":
            got = {r[0]: (int(r[1]), int(r[4])) for r in rows}
            assert got == {"logs": (n_logs, len(selected)), "metrics": (n_metrics, len(selected)),
                           "events": (n_events, len(selected))}, where
    if title.startswith("Recent "):
        assert len(rows) == 20, where
        assert set(col("service")) <= set(selected), where
        ts = col("time")
        assert ts == sorted(ts, reverse=True), where
