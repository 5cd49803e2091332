"""rtmon processing benchmark: drain throughput with windows and rules, and breach latency.

(a) Throughput. A backlog of N records (logs and response_time metrics with an endpoint tag, 20
    services, event time in order over a few minutes; two services above the error-rate
    threshold, one endpoint slow) is ingested once through rtmon's own edge (role ingest) and
    dumped with kcat into COPY files of the same rows. Each round, interleaved (ABBA):
      COPY     psql \\copy logs + \\copy metrics into a fresh database migrated by rtmon migrate
               (the same in-run reference as bench/ingest part (b));
      rules    rtmon role process, fresh database and group, the default rules file;
      norules  the same with an empty rules file ({"rules": []}): windows and aggregates still
               run, no rule is evaluated (rtmon has no switch that turns processing off).
    A drain is timed from launch until logs + metrics hold N rows AND the group's committed
    offsets reached the end of both topics (offsets are committed only after the batch's
    aggregates and incidents are durable; the bench sets auto.commit.interval.ms=100 so the
    commit shows within 0.1 s). Ratios: rules/COPY, rules/norules, norules/COPY.
(b) Breach latency. Edge capacity = closed-loop wrk events/s of an ingest-only rtmon (as in
    bench/ingest part (a), linger --linger, its connection plan). Hub capacity = min(edge
    capacity, the drain rate with rules of (a), or of one quick drain when (a) did not run):
    above it the raw store falls behind for good. Then one rtmon with roles
    ingest,process,store,api on a fresh database runs under paced background load (healthy info logs
    of 20 services, 100-event bodies, wrk + paced.lua) at half the hub capacity; during it, P
    times, one POST of 30 error logs for a fresh service (so each opens incident
    'high-error-rate|<service>'). Latency = time the LISTENing connection receives the NOTIFY
    sent by a trigger on incident_events (kind 'triggered'), i.e. right after the commit,
    minus the time the HTTP 202 of the breaching request arrived. A phase at half the edge
    capacity (overload when it exceeds the hub capacity) and a light phase at 10 % of the hub
    capacity follow.

Writes bench/results/processing.json. See bench/README.md; `bench/processing --help`.
"""

import argparse
import datetime as dt
import http.client
import importlib.machinery
import importlib.util
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, HERE)

import kafkawire  # noqa: E402
import pgwire  # noqa: E402

# bench/ingest is the model: its infra, /proc accounting, rtmon launcher, wrk runner, binary
# selection and COPY helpers are used as they are (it has no .py suffix, hence the loader).
_loader = importlib.machinery.SourceFileLoader("bench_ingest", os.path.join(BENCH, "ingest"))
_spec = importlib.util.spec_from_loader("bench_ingest", _loader)
bi = importlib.util.module_from_spec(_spec)
_loader.exec_module(bi)
# Its own HTTP port, so a bench/ingest run elsewhere cannot collide with this rtmon.
bi.HTTP_PORT = int(os.environ.get("BENCH_PROCESSING_HTTP_PORT", "48091"))
HTTP_PORT = bi.HTTP_PORT
BROKER = bi.BROKER
PG_PORT = bi.PG_ENV["PG_PORT"]
log, die, median = bi.log, bi.die, bi.median

PARTITIONS = 4  # config/rtmon.ini kafka.partitions
SERVICES = ["svc-%d" % i for i in range(20)]
ENDPOINTS = ["/api/login", "/api/search", "/api/cart", "/api/checkout", "/api/profile",
             "/api/orders"]
ERROR_SHARE = {"svc-3": 0.08, "svc-11": 0.08}  # above high-error-rate's 0.05: incidents
SLOW = ("svc-5", "/api/checkout")  # p95 above slow-responses' 500 ms
METRIC_SHARE = 0.25
METRIC_COLS = "event_id, ts, service, name, value, tags"
LATENCY_TARGET_P99_MS = 50.0
COMMIT_PROPS = '--kafka.properties=["auto.commit.interval.ms=100"]'
NOTIFY_SQL = r"""
create function bench_notify_triggered() returns trigger language plpgsql as $$
begin
  perform pg_notify('bench_incident',
    (select service from incidents where id = new.incident_id) || ' ' ||
    extract(epoch from now())::text || ' ' || extract(epoch from clock_timestamp())::text);
  return null;
end $$;
create trigger bench_notify_triggered after insert on incident_events for each row
  when (new.kind = 'triggered') execute function bench_notify_triggered();
"""


# ----------------------------------------------------------------------------------------------
# helpers


def pg_conn(db):
    return pgwire.Conn("127.0.0.1", PG_PORT, "rtmon", "rtmon", db)


def wrk_result(wrk, out, err):
    """The counters of the paced wrk script's `RESULT k=v ...` line; dies if wrk failed."""
    mm = re.search(r"^RESULT (.*)$", out or "", re.M)
    if wrk.returncode != 0 or not mm:
        die("paced wrk failed (rc %s): %s %s" % (wrk.returncode, out, err))
    return {k: int(v) for k, v in (kv.split("=") for kv in mm.group(1).split())}


def scrape_all():
    """Every sample of rtmon's GET /metrics: {'name{labels}': value}."""
    out = {}
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % HTTP_PORT, timeout=5) as r:
            text = r.read().decode()
    except Exception:
        return out
    for line in text.splitlines():
        m = re.match(r"^(rtmon_[\w]+(?:\{[^}]*\})?) ([0-9.eE+-]+|NaN)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def metric_summary(m):
    """The processing-relevant figures of a /metrics scrape (whole life of the process)."""
    def mean_ms(name, labels=""):
        c, s = m.get(name + "_count" + labels, 0), m.get(name + "_sum" + labels, 0)
        return round(s / c * 1000, 2) if c else None
    out = {
        "consumer_records": {p: m.get('rtmon_consumer_records_total{pipeline="%s"}' % p)
                             for p in ("process", "store")},
        "consumer_pauses": {p: m.get('rtmon_consumer_pauses_total{pipeline="%s"}' % p)
                            for p in ("process", "store")},
        "store_commits": m.get("rtmon_store_commit_seconds_count"),
        "store_commit_ms_mean": mean_ms("rtmon_store_commit_seconds"),
        "rows_inserted": m.get('rtmon_store_rows_total{outcome="inserted"}'),
        "window_late": sum(v for k, v in m.items() if k.startswith("rtmon_window_late_total")),
        "window_future": sum(v for k, v in m.items()
                             if k.startswith("rtmon_window_future_total")),
        "series_overflow": sum(v for k, v in m.items()
                               if k.startswith("rtmon_window_series_overflow_total")),
        "processing_failures": {k: v for k, v in m.items()
                                if k.startswith("rtmon_processing_failures_total")},
        "incident_store_refused": m.get("rtmon_incident_store_refused_total", 0),
        "incident_messages_published": m.get("rtmon_incident_messages_published_total", 0),
        # group commits of the processing tree: transitions, and aggregate buckets
        "incident_store_commits": {w: m.get('rtmon_incident_store_commit_seconds_count{what="%s"}'
                                            % w) for w in ("changes", "aggregates")},
        "incident_store_commit_ms_mean": {
            w: mean_ms('rtmon_incident_store_commit_seconds', '{what="%s"}' % w)
            for w in ("changes", "aggregates")},
    }
    if "rtmon_kafka_produce_seconds_count" in m:
        out["kafka_produce_ms_mean"] = mean_ms("rtmon_kafka_produce_seconds")
    h = 'rtmon_http_request_seconds{route="/logs"}'
    if h + "_count" in m:
        out["http_logs_handler_ms_mean"] = mean_ms(h)
    return out


def pct(xs, q):
    """Nearest-rank percentile (q in 0..100) of a list; None if empty."""
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(math.ceil(q / 100.0 * len(s))) - 1))]


def dist(xs):
    if not xs:
        return None
    return {"n": len(xs), "p50": round(pct(xs, 50), 2), "p90": round(pct(xs, 90), 2),
            "p99": round(pct(xs, 99), 2), "max": round(max(xs), 2), "min": round(min(xs), 2),
            "mean": round(statistics.mean(xs), 2)}


def topics_of(prefix):
    return {prefix + "logs": list(range(PARTITIONS)), prefix + "metrics": list(range(PARTITIONS))}


def iso_ms(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


# ----------------------------------------------------------------------------------------------
# data


def backlog_items(n, rng, span_s):
    """n (kind, item) in event-time order over the last span_s seconds (ending a minute ago)."""
    end = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=60)
    start = end - dt.timedelta(seconds=span_s)
    for i in range(n):
        ts = bi.iso_us(start + dt.timedelta(seconds=span_s * i / n))
        svc = rng.choice(SERVICES)
        ep = rng.choice(ENDPOINTS)
        if rng.random() < METRIC_SHARE:
            base = 700.0 if (svc, ep) == SLOW else 120.0
            v = round(base * math.exp(rng.gauss(0, 0.35)), 2)
            if v == int(v):
                v += 0.01
            yield "metric", {"ts": ts, "service": svc, "name": "response_time", "value": v,
                             "tags": {"endpoint": ep,
                                      "host": "ip-10-0-%d-%d" % (rng.randrange(8),
                                                                 rng.randrange(32))}}
        else:
            r = rng.random()
            if r < ERROR_SHARE.get(svc, 0.01):
                level = "error"
            else:
                level = rng.choice(["info"] * 14 + ["debug"] * 3 + ["warn"] * 2)
            yield "log", {"ts": ts, "service": svc, "level": level,
                          "host": "ip-10-0-%d-%d" % (rng.randrange(8), rng.randrange(256)),
                          "message": "user %d %s %d ms" % (rng.randrange(1000000),
                                                           rng.choice(bi.VERBS),
                                                           rng.randrange(1, 900)),
                          "attrs": {"endpoint": ep, "trace_id": "%032x" % rng.getrandbits(128),
                                    "status": 500 if level == "error" else 200,
                                    "latency_ms": bi.latency(rng)}}


def ingest_backlog(ctx, rng, items_per_body=500, clients=4):
    """Produces the backlog through rtmon's edge (role ingest) in event-time order (bodies of
    500, 4 clients: at most ~2000 records out of order, well inside the 5 s allowed lateness at
    the default span), then dumps both topics with kcat into COPY files of the same rows."""
    import queue

    bodies = queue.Queue()
    cur = {"log": [], "metric": []}
    counts = {"log": 0, "metric": 0}
    for kind, item in backlog_items(ctx.n, rng, ctx.args.span):
        cur[kind].append(json.dumps(item, separators=(",", ":")))
        counts[kind] += 1
        if len(cur[kind]) == items_per_body:
            bodies.put((kind, "\n".join(cur[kind]).encode() + b"\n"))
            cur[kind] = []
    for kind in cur:
        if cur[kind]:
            bodies.put((kind, "\n".join(cur[kind]).encode() + b"\n"))
    r = bi.Rtmon(ctx.binary, "ingest", ctx.ingest_db_url, ctx.backlog_prefix, ctx.args.linger,
                 ctx.run + "_unused", os.path.join(ctx.work, "rtmon-backlog.log"))
    errors = []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=30)
        while not errors:
            try:
                kind, body = bodies.get_nowait()
            except queue.Empty:
                return
            n = body.count(b"\n")
            path = "/logs" if kind == "log" else "/metrics"
            for _ in range(50):
                conn.request("POST", path, body, {"Content-Type": "application/x-ndjson"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 202 and json.loads(data)["accepted"] == n:
                    break
                if resp.status != 503:
                    errors.append("POST %s answered %s: %s" % (path, resp.status, data[:300]))
                    return
                time.sleep(0.2)
            else:
                errors.append("POST %s kept answering 503" % path)

    t0 = time.monotonic()
    try:
        r.wait_ready()
        ts = [threading.Thread(target=client) for _ in range(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    finally:
        r.stop()
    if errors:
        die("backlog ingest failed: %s" % errors[0])
    ingest_s = time.monotonic() - t0
    kc = kafkawire.Client(BROKER)
    ends = kc.end_offsets(topics_of(ctx.backlog_prefix))
    kc.close()
    ctx.end_offsets = ends
    got = {k: sum(v for (t, _), v in ends.items() if t == ctx.backlog_prefix + k + "s")
           for k in ("log", "metric")}
    if got != counts:
        die("backlog topics hold %s records, expected %s" % (got, counts))
    ctx.counts = counts
    info = {"ingest_s": round(ingest_s, 2), "logs": counts["log"], "metrics": counts["metric"],
            "event_time_span_s": ctx.args.span}
    consume_s = 0.0
    for kind, table in (("log", "logs"), ("metric", "metrics")):
        topic = ctx.backlog_prefix + table
        raw = os.path.join(ctx.work, "backlog-%s.json" % table)
        with open(raw, "w") as f:
            wall, _, rc, _, err = bi.run_timed(["kcat", "-C", "-b", BROKER, "-t", topic, "-o",
                                                "beginning", "-e", "-q", "-f", "%s\n"],
                                               stdout=f, stderr=subprocess.PIPE)
        if rc != 0:
            die("kcat -C of %s failed: %s" % (topic, err[-2000:]))
        consume_s += wall
        rows = 0
        with open(raw) as f, open(ctx.cfiles[table], "w") as cf:
            for line in f:
                if not line.strip():
                    continue
                o = json.loads(line)
                if rows == 0:
                    info["sample_record_" + table] = line.strip()[:600]
                rows += write_copy_rows(cf, table, o)
        expected = counts[kind]
        if rows != expected:
            die("dumped %d %s rows, expected %d" % (rows, table, expected))
    info["kcat_consume_s"] = round(consume_s, 3)
    info["kcat_consume_events_s"] = round(ctx.n / consume_s)
    # The first consumer group on a fresh broker creates __consumer_offsets (50 partitions):
    # done here by a throwaway group, not inside the first timed drain.
    t = time.monotonic()
    subprocess.run(["kcat", "-b", BROKER, "-G", ctx.run + "_warm", "-X",
                    "auto.offset.reset=earliest", "-c", "1", "-e", "-q",
                    ctx.backlog_prefix + "logs"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    info["group_coordinator_warmup_s"] = round(time.monotonic() - t, 2)
    return info


def write_copy_rows(cf, table, o):
    e = bi.copy_escape
    if table == "logs":
        host = o.get("host")
        cf.write("\t".join([e(o["event_id"]), e(o["ts"]), e(o["service"]),
                            e(host) if isinstance(host, str) else "\\N", e(o["level"]),
                            e(o["message"]),
                            e(json.dumps(o.get("attrs", {}), separators=(",", ":")))]) + "\n")
        return 1
    # metrics: one row per sample (the bench sends one sample per item)
    samples = o.get("samples")
    if samples is None:
        samples = [{"name": o["name"], "value": o["value"]}]
    tags = e(json.dumps(o.get("tags", {}), separators=(",", ":")))
    for s in samples:
        cf.write("\t".join([e(o["event_id"]), e(o["ts"]), e(o["service"]), e(s["name"]),
                            repr(float(s["value"])), tags]) + "\n")
    return len(samples)


def healthy_template(path, rng):
    """100 healthy info logs of the 20 services; ts = __TS__ (filled in per request)."""
    lines = []
    for i in range(bi.EVENTS_PER_BODY):
        lines.append(json.dumps({
            "ts": "__TS__", "service": SERVICES[i % len(SERVICES)], "level": "info",
            "host": "ip-10-0-%d-%d" % (rng.randrange(8), rng.randrange(256)),
            "message": "user %d %s %d ms" % (rng.randrange(1000000), rng.choice(bi.VERBS),
                                             rng.randrange(1, 900)),
            "attrs": {"endpoint": rng.choice(ENDPOINTS),
                      "trace_id": "%032x" % rng.getrandbits(128), "status": 200,
                      "latency_ms": bi.latency(rng)}}, separators=(",", ":")))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_rules(ctx):
    """Snapshots of the default rules and an empty rule set (absolute paths, so the rules-file
    resolution rule of the config in force does not matter)."""
    ctx.rules_file = os.path.join(ctx.work, "rules.json")
    shutil.copyfile(ctx.args.rules_file, ctx.rules_file)
    ctx.norules_file = os.path.join(ctx.work, "rules-empty.json")
    with open(ctx.norules_file, "w") as f:
        f.write('{"rules": []}\n')


# ----------------------------------------------------------------------------------------------
# (a) throughput


def measure_copy(ctx, rnd):
    name = "%s_copy_r%d" % (ctx.run, rnd)
    url = bi.fresh_db(name)
    bi.migrate(ctx, url)
    bi.pg_superuser("checkpoint")
    c = bi.Cpu()
    base = c.pg_background()
    c.pg_settle(base)
    ctx.quiet.wait("COPY")
    s0 = c.snap()
    env = dict(os.environ, PGPASSWORD="rtmon")
    b0 = bi.machine_busy()
    t0 = time.monotonic()
    p = subprocess.Popen(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", PG_PORT,
         "-U", "rtmon", "-d", name,
         "-c", "\\copy logs (%s) from '%s'" % (bi.COPY_COLS, ctx.cfiles["logs"]),
         "-c", "\\copy metrics (%s) from '%s'" % (METRIC_COLS, ctx.cfiles["metrics"])],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    backend = {}
    while True:
        pid_, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid_:
            break
        backend.update(bi.pg_backends(c.pg_pid, name))
        time.sleep(0.02)
    wall = time.monotonic() - t0
    b1 = bi.machine_busy()
    rc, cpu, err = os.waitstatus_to_exitcode(status), ru.ru_utime + ru.ru_stime, p.stderr.read()
    c.pg_settle(base)
    s1 = c.snap()
    if rc != 0:
        die("psql \\copy failed: %s" % err)
    n = int(bi.psql(name, "select (select count(*) from logs) + (select count(*) from metrics)"))
    if n != ctx.n:
        die("COPY loaded %d rows, expected %d" % (n, ctx.n))
    cpu_d = {"pg": s1["pg"] - s0["pg"], "pg_backend": sum(backend.values()), "psql": cpu}
    return name, {"rows": n, "wall_s": round(wall, 3), "rows_s": round(n / wall),
                  "machine_busy_cores": bi.busy_cores(b0, b1),
                  "foreign_cores": bi.foreign_cores(b0, b1, cpu_d["pg"] + cpu_d["psql"]),
                  "cpu_s": {k: round(v, 3) for k, v in cpu_d.items()},
                  "cpu_us_per_row": {k: round(v / n * 1e6, 2) for k, v in cpu_d.items()}}


def measure_drain(ctx, rnd, variant):
    """rtmon role process drains the backlog into a fresh database: launch -> rows = N and
    committed offsets = end offsets (polled every poll_s)."""
    name = "%s_%s_r%d" % (ctx.run, variant, rnd)
    url = bi.fresh_db(name)
    bi.migrate(ctx, url)
    bi.pg_superuser("checkpoint")
    group = "%s_g%s%d" % (ctx.run, variant, rnd)
    rules = ctx.rules_file if variant == "rules" else ctx.norules_file
    db = pg_conn(name)
    kc = kafkawire.Client(BROKER)
    topics = topics_of(ctx.backlog_prefix)
    end_total = sum(ctx.end_offsets.values())
    c = bi.Cpu()
    c.pg_settle(c.pg_background() | set(bi.pg_backends(c.pg_pid, name)))
    ctx.quiet.wait("rtmon drain (%s)" % variant)
    s0, b0 = c.snap(), bi.machine_busy()
    r = bi.Rtmon(ctx.binary, "process,store", url, ctx.backlog_prefix, ctx.args.linger, group,
                 os.path.join(ctx.work, "rtmon-drain-%s-r%d.log" % (variant, rnd)),
                 extra=["--processing.rules-file=%s" % rules, COMMIT_PROPS, *ctx.args.rtmon_arg])
    t0 = r.t_launch
    t_first = t_rows = t_lag0 = None
    n = committed = 0
    samples = []
    deadline = t0 + ctx.args.drain_timeout
    next_count = t0
    try:
        # Committed offsets every 50 ms (cheap; they move only once a batch's rows, aggregates
        # and incidents are durable, so they imply the rows); count(*) every --poll seconds
        # (its cost grows with the table) for the rows-only time.
        while time.monotonic() < deadline:
            if r.p.poll() is not None:
                die("rtmon (process) exited with %s; see %s" % (r.p.returncode, r.logpath))
            now = time.monotonic()
            # Both pipelines done: processing (group) and the raw store (group-store).
            committed = min(kc.lag(g, topics)[1] for g in (group, group + "-store"))
            if committed >= end_total:
                t_lag0 = now
            if t_rows is None and (now >= next_count or t_lag0 is not None):
                next_count = now + ctx.args.poll
                n = int(db.scalar("select (select count(*) from logs) + "
                                  "(select count(*) from metrics)"))
                if n > 0 and t_first is None:
                    t_first = now
                if n >= ctx.n:
                    t_rows = now
            samples.append((round(now - t0, 3), n, committed))
            if t_lag0 is not None:
                break
            time.sleep(max(0.0, 0.05 - (time.monotonic() - now)))
        s1, rcpu, th1, b1 = c.snap(), r.cpu(), r.threads(), bi.machine_busy()
        backend = sum(bi.pg_backends(c.pg_pid, name).values())
        m = scrape_all()
    finally:
        r.stop()
        kc.close()
    res = {"variant": variant, "rows": n, "committed": committed,
           "complete": t_rows is not None and t_lag0 is not None, "offset_polls": len(samples),
           "launch_to_first_row_s": round(t_first - t0, 3) if t_first else None}
    if not res["complete"]:
        log("warning: %s drain round %d reached %d of %d rows, committed %d of %d in %ss" % (
            variant, rnd, n, ctx.n, committed, end_total, ctx.args.drain_timeout))
    t_done = t_lag0 or time.monotonic()
    res["rows_at_s"] = round(t_rows - t0, 3) if t_rows else None
    res["committed_at_s"] = round(t_lag0 - t0, 3) if t_lag0 else None
    res["wall_s"] = round(t_done - t0, 3)
    res["rows_s"] = round(n / (t_done - t0))
    if t_rows:
        res["rows_s_rows_only"] = round(n / (t_rows - t0))
    if t_first and t_done > t_first:
        res["rows_s_after_first_row"] = round(n / (t_done - t_first))
    cpu_d = {"rtmon": rcpu, "kafka": s1["kafka"] - s0["kafka"], "pg": s1["pg"] - s0["pg"],
             "pg_backends_of_db": backend}
    res["machine_busy_cores"] = bi.busy_cores(b0, b1)
    res["foreign_cores"] = bi.foreign_cores(b0, b1, rcpu + cpu_d["kafka"] + cpu_d["pg"])
    res["cpu_s"] = {k: round(v, 3) for k, v in cpu_d.items()}
    res["cpu_us_per_row"] = {k: round(v / max(n, 1) * 1e6, 2) for k, v in cpu_d.items()}
    res["rtmon_threads"] = bi.thread_delta(r.pid, {}, th1)[:8]
    res["rtmon_metrics"] = metric_summary(m)
    # what processing left behind (sanity: rules off -> no incidents)
    res["aggregates_rows"] = int(db.scalar("select count(*) from aggregates"))
    res["incidents"] = {row[0]: int(row[1]) for row in db.query(
        "select rule || ':' || status, count(*) from incidents group by 1 order by 1")}
    res["progress"] = samples[:: max(1, len(samples) // 20)]
    db.close()
    return name, res


METRIC_ROW_TEXT = ("event_id || '|' || ts::text || '|' || service || '|' || name || '|' || "
                   "value::text || '|' || tags::text")


def same_rows(db_a, db_b):
    ok, diff = bi.same_rows(db_a, db_b)
    if not ok:
        return False, "logs: " + diff
    q = ("select count(*) || ':' || md5(string_agg(%s, E'\\n' order by event_id, name)) "
         "from metrics" % METRIC_ROW_TEXT)
    if bi.psql(db_a, q) != bi.psql(db_b, q):
        return False, "metrics differ"
    return True, ""


# ----------------------------------------------------------------------------------------------
# (b) breach latency


def capacity_conns(ctx):
    """bench/ingest's connection plan for its 0.7 x kcat target (272 at linger 20): enough
    requests in flight that Little's law does not cap the edge (32 capped it near 120k/s)."""
    return ctx.args.conns or bi.conns_for(ctx.args.linger, 560_000)


def quick_drain(ctx, rng, n):
    """Part (a)'s 'rules' drain, one round on a fresh backlog of n records, for runs without
    part (a): the rate at which a hub's two pipelines process and store (rows/s)."""
    ctx.n = n
    ctx.backlog_prefix = "%s_cbl." % ctx.run
    ctx.cfiles = {t: os.path.join(ctx.work, "capacity-backlog-%s.copy" % t)
                  for t in ("logs", "metrics")}
    log("hub capacity: a %d-record backlog drained with rules" % n)
    ingest_backlog(ctx, rng)
    name, res = measure_drain(ctx, 0, "rules")
    bi.drop_db(name)
    if not res["complete"]:
        die("the capacity drain did not finish within %ss" % ctx.args.drain_timeout)
    return res


def hub_capacity(edge, drain_rows_s):
    """What a default hub sustains: its HTTP edge acknowledges `edge` events/s, its pipelines
    process and store `drain_rows_s`. Loads above the smaller one only grow Kafka's backlog."""
    cap = min(edge["events_s"], drain_rows_s)
    return {"events_s": round(cap), "edge_events_s": edge["events_s"],
            "drain_rules_rows_s": round(drain_rows_s),
            "bound_by": "edge" if edge["events_s"] <= drain_rows_s else "processing+store drain"}


def measure_capacity(ctx):
    """Closed-loop wrk against an ingest-only rtmon (as bench/ingest part (a), linger --linger)."""
    prefix = "%s_cap." % ctx.run
    r = bi.Rtmon(ctx.binary, "ingest", ctx.ingest_db_url, prefix, ctx.args.linger, ctx.run + "_unused",
                 os.path.join(ctx.work, "rtmon-capacity.log"))
    try:
        r.wait_ready()
        conns = capacity_conns(ctx)
        bi.run_wrk(ctx.lua, ctx.cap_body, conns, ctx.args.warmup)
        ctx.quiet.wait("ingest capacity")
        c = bi.Cpu()
        s0, r0, b0 = c.snap(), r.cpu(), bi.machine_busy()
        res = bi.run_wrk(ctx.lua, ctx.cap_body, conns, ctx.args.capacity_seconds)
        s1, r1, b1 = c.snap(), r.cpu(), bi.machine_busy()
    finally:
        r.stop()
    secs = res["duration_us"] / 1e6
    ev = res["ok"] * bi.EVENTS_PER_BODY / secs
    cpu = {"rtmon": r1 - r0, "kafka": s1["kafka"] - s0["kafka"], "wrk": res["wrk_cpu_s"]}
    return {"events_s": round(ev), "seconds": round(secs, 2), "connections": conns,
            "non_202": res["other"], "p50_ms": res["p50_us"] / 1000,
            "p99_ms": res["p99_us"] / 1000,
            "cpu_us_per_event": {k: round(v / max(ev * secs, 1) * 1e6, 2) for k, v in cpu.items()},
            "foreign_cores": bi.foreign_cores(b0, b1, sum(cpu.values())),
            "wrk": "wrk -t1 -c%d -d%ds (+%ds warm-up), 100 healthy info logs per POST, only 202 "
                   "counted; rtmon role ingest, linger %d" % (conns,
                                                              ctx.args.capacity_seconds,
                                                              ctx.args.warmup, ctx.args.linger)}


class Listener(threading.Thread):
    """LISTENs on bench_incident; records (service, recv monotonic, recv wall, tx start wall,
    trigger clock wall) for every notification."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.conn = pg_conn(db)
        self.conn.query("listen bench_incident")
        self.stop_flag = False
        self.got = {}
        self.error = None

    def run(self):
        try:
            while not self.stop_flag:
                for ch, payload, mono, wall, _pid in self.conn.wait_notifications(0.2):
                    svc, tx_start, trig = payload.split(" ")
                    self.got.setdefault(svc, (mono, wall, float(tx_start), float(trig)))
        except Exception as e:  # reported by the phase
            self.error = repr(e)

    def stop(self):
        self.stop_flag = True
        self.join(timeout=5)
        self.conn.close()


class LagSampler(threading.Thread):
    def __init__(self, group, topics, every=1.0):
        super().__init__(daemon=True)
        self.kc = kafkawire.Client(BROKER)
        self.group, self.topics, self.every = group, topics, every
        self.samples = []
        self.stop_flag = False
        self.t0 = time.monotonic()

    def run(self):
        while not self.stop_flag:
            try:
                lag, _, end = self.kc.lag(self.group, self.topics)
                self.samples.append((round(time.monotonic() - self.t0, 1), lag, end))
            except Exception:
                pass
            time.sleep(self.every)

    def stop(self):
        self.stop_flag = True
        self.join(timeout=5)
        self.kc.close()


def wait_assigned(timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = scrape_all()
        if (m.get('rtmon_consumer_assigned_partitions{pipeline="process"}', 0) >= 2 * PARTITIONS
                and m.get('rtmon_consumer_assigned_partitions{pipeline="store"}', 0)
                >= 2 * PARTITIONS):
            return True
        time.sleep(0.2)
    return False


def breach_body(service):
    now = iso_ms(dt.datetime.now(dt.timezone.utc))
    lines = [json.dumps({"ts": now, "service": service, "level": "error",
                         "host": "ip-10-9-9-%d" % k,
                         "message": "upstream answered 503 (attempt %d)" % k,
                         "attrs": {"endpoint": "/api/checkout", "status": 503}},
                        separators=(",", ":")) for k in range(ctx_breach_lines)]
    return ("\n".join(lines) + "\n").encode()


ctx_breach_lines = 30


def latency_phase(ctx, label, rate, seconds, probes):
    """rtmon (ingest,process,store,api) under paced healthy load at `rate` events/s; `probes`
    breaching POSTs for fresh services; latency = NOTIFY receipt - HTTP 202 arrival."""
    name = "%s_lat_%s" % (ctx.run, label)
    url = bi.fresh_db(name)
    bi.migrate(ctx, url)
    c0 = pg_conn(name)
    c0.query(NOTIFY_SQL)
    c0.close()
    prefix = "%s_lat_%s." % (ctx.run, label)
    group = "%s_glat_%s" % (ctx.run, label)
    r = bi.Rtmon(ctx.binary, ctx.args.latency_roles, url, prefix, ctx.args.linger, group,
                 os.path.join(ctx.work, "rtmon-latency-%s.log" % label),
                 extra=["--processing.rules-file=%s" % ctx.rules_file, *ctx.args.rtmon_arg])
    listener = lag = store_lag = wrk = None
    probes_out = []
    try:
        r.wait_ready()
        if not wait_assigned():
            log("warning: the consumer did not report its %d partitions within 30 s" %
                (2 * PARTITIONS))
        # rtmon's CPU with nothing to do (CAF workers, consumer loop, timers): a baseline
        i0, it0 = r.cpu(), time.monotonic()
        time.sleep(2.0)
        idle_cores = (r.cpu() - i0) / (time.monotonic() - it0)
        ctx.quiet.wait("latency phase %s" % label)
        listener = Listener(name)
        listener.start()
        lag = LagSampler(group, topics_of(prefix))  # processing: what alerts wait for
        lag.start()
        store_lag = LagSampler(group + "-store", topics_of(prefix))  # raw rows: by the way
        store_lag.start()
        c = bi.Cpu()
        s0, r0, th0, b0 = c.snap(), r.cpu(), r.threads(), bi.machine_busy()
        req_rate = rate / bi.EVENTS_PER_BODY
        # Little's law: enough connections for 150 ms per request at this rate (the paced load
        # stays open-loop while responses are that slow), a multiple of 16, at least 32.
        conns = ctx.args.load_conns or max(32, 16 * int(math.ceil(req_rate * 0.15 / 16)))
        env = dict(os.environ, BENCH_TEMPLATE=ctx.template, BENCH_REQ_RATE="%.3f" % req_rate)
        t_load = time.monotonic()
        wrk = subprocess.Popen(
            ["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s",
             "-s", os.path.join(HERE, "paced.lua"), "http://127.0.0.1:%d/logs" % HTTP_PORT],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Probes evenly spread from 3 s into the load until 2 s before its end.
        conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=30)
        conn.connect()
        first, last = min(3.0, seconds * 0.2), seconds - 2.0
        step = (last - first) / max(1, probes - 1)
        for i in range(probes):
            due = t_load + first + i * step
            time.sleep(max(0.0, due - time.monotonic()))
            svc = "breach-%s-%s-%02d" % (ctx.run, label, i)
            body = breach_body(svc)
            t_send = time.monotonic()
            conn.request("POST", "/logs", body, {"Content-Type": "application/x-ndjson"})
            resp = conn.getresponse()
            resp.read()
            t_ack, w_ack = time.monotonic(), time.time()
            probes_out.append({"service": svc, "status": resp.status,
                               "at_s": round(t_send - t_load, 3),
                               "http_ms": round((t_ack - t_send) * 1000, 2),
                               "t_ack": t_ack, "w_ack": w_ack})
        conn.close()
        _, status, ru = os.wait4(wrk.pid, 0)
        wrk.returncode = os.waitstatus_to_exitcode(status)
        wrk_cpu = ru.ru_utime + ru.ru_stime
        out, err = wrk.stdout.read(), wrk.stderr.read()
        t_end = time.monotonic()
        s1, r1, th1, b1 = c.snap(), r.cpu(), r.threads(), bi.machine_busy()
        # the tail: give late incidents up to --tail seconds after the load
        deadline = time.monotonic() + ctx.args.tail
        want = {p["service"] for p in probes_out if p["status"] == 202}
        while time.monotonic() < deadline and not want <= set(listener.got):
            time.sleep(0.05)
        m = scrape_all()
    finally:
        if wrk and wrk.poll() is None:
            wrk.kill()
            wrk.wait()
        if lag:
            lag.stop()
        if store_lag:
            store_lag.stop()
        if listener:
            listener.stop()
        r.stop()
    w = wrk_result(wrk, out, err)
    secs = w["duration_us"] / 1e6
    # latencies
    lat, lo, trig, missed = [], [], [], []
    for p in probes_out:
        g = listener.got.get(p["service"])
        if g is None:
            missed.append(p["service"])
            continue
        mono, wall, tx_start, trig_clock = g
        p["notify_ms"] = round((mono - p["t_ack"]) * 1000, 2)
        p["tx_start_ms"] = round((tx_start - p["w_ack"]) * 1000, 2)
        p["trigger_clock_ms"] = round((trig_clock - p["w_ack"]) * 1000, 2)
        lat.append(p["notify_ms"])
        lo.append(p["tx_start_ms"])
        trig.append(p["trigger_clock_ms"])
    # How far the raw store trails: logs.ingested_at defaults to now() = the start of the store
    # transaction that wrote the probe's raw rows. (The rules do not wait for it: the store
    # pipeline is its own consumer group.)
    db = pg_conn(name)
    stored = {row[0]: float(row[1]) for row in db.query(
        "select service, extract(epoch from min(ingested_at)) from logs "
        "where service like 'breach-%' group by 1")}
    to_store = []
    for p in probes_out:
        if p["service"] in stored:
            p["store_tx_start_ms"] = round((stored[p["service"]] - p["w_ack"]) * 1000, 2)
            to_store.append(p["store_tx_start_ms"])
        del p["t_ack"], p["w_ack"]
    n_inc = int(db.scalar("select count(*) from incidents where service like 'breach-%%' "
                          "and status = 'triggered'"))
    other_inc = {row[0]: int(row[1]) for row in db.query(
        "select rule || ':' || status, count(*) from incidents where service not like "
        "'breach-%' group by 1")}
    db.close()
    cpu = {"rtmon": r1 - r0, "kafka": s1["kafka"] - s0["kafka"], "pg": s1["pg"] - s0["pg"],
           "wrk": wrk_cpu}
    wall = t_end - t_load
    lags = [x[1] for x in lag.samples]
    achieved = w["ok"] * bi.EVENTS_PER_BODY / secs
    res = {
        "label": label, "target_events_s": round(rate),
        "achieved_events_s": round(achieved),
        "load_achieved_ratio": round(achieved / rate, 3),
        "load": {"seconds": round(secs, 2), "connections": conns,
                 "requests_ok": w["ok"], "non_202": w["other"], "late_slots": w["late"],
                 "dropped_slots": w["dropped"],
                 "http_ms": {"p50": w["p50_us"] / 1000, "p90": w["p90_us"] / 1000,
                             "p99": w["p99_us"] / 1000, "max": w["max_us"] / 1000},
                 "socket_errors": w["err_connect"] + w["err_read"] + w["err_write"]
                 + w["err_timeout"]},
        "probes": len(probes_out), "probe_lines": ctx_breach_lines,
        "probes_non_202": sum(1 for p in probes_out if p["status"] != 202),
        "detected": len(lat), "missed": missed, "triggered_incidents_in_db": n_inc,
        "other_incidents": other_inc,
        "latency_ms": dist(lat),
        "latency_lower_bound_tx_start_ms": dist(lo),
        "latency_trigger_clock_ms": dist(trig),
        "ack_to_raw_rows_store_tx_start_ms": dist(to_store),
        "probe_http_ms": dist([p["http_ms"] for p in probes_out]),
        "consumer_lag": {"max": max(lags) if lags else None,
                         "last": lags[-1] if lags else None,
                         "max_s_of_input": round(max(lags) / achieved, 2) if lags else None,
                         # the committed offsets trail by up to auto.commit.interval.ms (1 s)
                         "keeps_up": bool(lags) and max(lags) <= 2 * achieved,
                         "samples": lag.samples[:: max(1, len(lag.samples) // 30)]},
        "store_consumer_lag": {"max": max(x[1] for x in store_lag.samples)
                               if store_lag.samples else None,
                               "last": store_lag.samples[-1][1] if store_lag.samples else None,
                               # the store commits every 1 s and batches for 250 ms
                               "keeps_up": bool(store_lag.samples) and max(
                                   x[1] for x in store_lag.samples) <= 3 * achieved},
        "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "cpu_cores": {k: round(v / wall, 2) for k, v in cpu.items()},
        "cpu_us_per_event": {k: round(v / max(w["ok"] * bi.EVENTS_PER_BODY, 1) * 1e6, 2)
                             for k, v in cpu.items()},
        "machine_busy_cores": bi.busy_cores(b0, b1),
        "foreign_cores": bi.foreign_cores(b0, b1, sum(cpu.values())),
        "rtmon_idle_cores_before_load": round(idle_cores, 3),
        "rtmon_threads": bi.thread_delta(r.pid, th0, th1)[:10],
        "rtmon_metrics": metric_summary(m),
        "listener_error": listener.error,
        "samples": probes_out,
    }
    p99 = res["latency_ms"]["p99"] if res["latency_ms"] else None
    res["p99_ms"] = p99 if not missed else None
    res["meets_target"] = bool(p99 is not None and not missed and p99 <= LATENCY_TARGET_P99_MS)
    bi.drop_db(name)
    return res


# ----------------------------------------------------------------------------------------------


class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser(prog="bench/processing",
                                 description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Details: bench/README.md, section bench/processing.")
    ap.add_argument("--linger", type=int, default=20,
                    help="rtmon kafka.linger-ms (20, the shipped default; see config/rtmon.ini)")
    ap.add_argument("--quick", action="store_true",
                    help="~2 min smoke run: 1 round, N=150k, 12 s phases with 25 probes")
    ap.add_argument("--rounds", type=int, help="throughput rounds (3; --quick 1)")
    ap.add_argument("--backlog", type=int, help="N records for (a) (300,000; --quick 150,000)")
    ap.add_argument("--span", type=int, default=180,
                    help="event-time span of the backlog in seconds (180)")
    ap.add_argument("--poll", type=float, default=0.2,
                    help="count(*) poll interval of a drain (0.2 s; offsets: every 50 ms)")
    ap.add_argument("--drain-timeout", type=int, default=180)
    ap.add_argument("--only", choices=["throughput", "latency"])
    ap.add_argument("--capacity-seconds", type=int, help="wrk seconds for the capacity (6; "
                                                         "--quick 4)")
    ap.add_argument("--warmup", type=int, default=2, help="wrk warm-up seconds (2)")
    ap.add_argument("--conns", type=int, default=0,
                    help="wrk connections for the edge capacity (default: bench/ingest's plan, "
                         "272 at linger 20)")
    ap.add_argument("--load-fraction", type=float, default=0.5,
                    help="background load as a fraction of the hub capacity (0.5)")
    ap.add_argument("--load-seconds", type=int, help="seconds of background load per phase "
                                                     "(20; --quick 12)")
    ap.add_argument("--load-rate", type=int, help="background events/s (skips the capacity)")
    ap.add_argument("--load-conns", type=int, default=0,
                    help="connections of the paced load (default: Little's law, 150 ms per "
                         "request, at least 32)")
    ap.add_argument("--phases", default="half_capacity,half_edge,light",
                    help="latency phases: half_capacity (load-fraction x the hub capacity = "
                         "min(edge capacity, drain rate with rules): the issue's figure), "
                         "half_edge (load-fraction x the edge capacity, when it exceeds the hub "
                         "capacity: overload, informational), light "
                         "(light-fraction x hub capacity); default: all three")
    ap.add_argument("--light-fraction", type=float, default=0.1,
                    help="load of the light phase as a fraction of the hub capacity (0.1)")
    ap.add_argument("--probes", type=int, help="breaching requests per phase (50; --quick 25)")
    ap.add_argument("--tail", type=float, default=10,
                    help="seconds to wait after the load for the last incidents (10)")
    ap.add_argument("--rules-file", default=os.path.join(ROOT, "config/rules.json"))
    ap.add_argument("--latency-roles", default="ingest,process,store,api",
                    help="roles of the latency phases' rtmon (default: a default hub's)")
    ap.add_argument("--rtmon-arg", action="append", default=[],
                    help="extra rtmon option for every rtmon the bench starts (repeatable), "
                         "e.g. --rtmon-arg=--store.nice=19")
    ap.add_argument("--bin", help="rtmon binary (default: as bench/ingest: build/rtmon if "
                    "Release, else a Release build in .rtmon/bench/build)")
    ap.add_argument("--bin-source", help="provenance of --bin to record, e.g. 'git archive "
                    "3169709' (the recorded git state is the working tree's)")
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--allow-non-release", action="store_true")
    ap.add_argument("--quiet-wait", type=float, default=15)
    ap.add_argument("--quiet-budget", type=float, default=120)
    ap.add_argument("--keep-infra", action="store_true")
    ap.add_argument("--out", default=os.path.join(BENCH, "results/processing.json"))
    args = ap.parse_args()
    q = args.quick
    args.rounds = args.rounds or (1 if q else 3)
    args.backlog = args.backlog or (150_000 if q else 300_000)
    args.capacity_seconds = args.capacity_seconds or (4 if q else 6)
    args.load_seconds = args.load_seconds or (12 if q else 20)
    args.probes = args.probes or (25 if q else 50)
    if q:
        args.quiet_wait, args.quiet_budget = min(args.quiet_wait, 5), min(args.quiet_budget, 30)

    for tool in ("wrk", "kcat", "psql", "java"):
        if not shutil.which(tool):
            die("%s not found (see bench/README.md)" % tool)
    os.environ.pop("RTMON_RULES_FILE", None)  # would override --processing.rules-file
    t_start = time.monotonic()
    ctx = Ctx()
    ctx.args = args
    ctx.quiet = bi.Quiet(args.quiet_wait, args.quiet_budget)
    ctx.run = "bp" + dt.datetime.now().strftime("%m%d%H%M%S")
    ctx.work = os.path.join(BENCH, "work/processing")
    os.makedirs(ctx.work, exist_ok=True)
    for f in os.listdir(ctx.work):
        if f.endswith((".copy", ".json", ".log", ".ndjson", ".lua")) and f != "rtmon.json":
            os.remove(os.path.join(ctx.work, f))
    ctx.binary, binfo = bi.pick_binary(args, ctx.work)
    log("rtmon binary: %s (%s, sha256 %s, git %s, %d modified files)" % (
        binfo["path"], binfo["build_type"], binfo["sha256"], binfo["git_head"],
        binfo["git_dirty_files"]))
    if args.bin_source:
        binfo["source"] = args.bin_source
        binfo["note"] = "git_head / git_dirty_files describe the working tree at run time"
    write_rules(ctx)
    machine = bi.machine()

    started = []
    throughput = latency = None
    rounds = []
    backlog_info = None
    try:
        if not bi.kafka_running():
            shutil.rmtree(os.path.join(bi.KAFKA_ENV["KAFKA_DIR"], "data"), ignore_errors=True)
            log("starting bench Kafka on %s" % BROKER)
            bi.infra("kafka.sh", "start", env_extra=bi.KAFKA_ENV)
            started.append("kafka")
        if not bi.pg_running():
            log("starting bench Postgres on port %s" % PG_PORT)
            bi.infra("postgres.sh", "start", env_extra=bi.PG_ENV)
            started.append("postgres")
        for db in bi.psql("rtmon", "select datname from pg_database where datname like 'bp%'"
                          ).split():
            bi.drop_db(db)
        ctx.ingest_db_url = bi.fresh_db(ctx.run + "_ingest")
        pg_version = bi.psql("rtmon", "show server_version")
        others = bi.other_heavy_processes()
        if others:
            log("note: %d other java/postgres/rtmon processes share the CPUs" % len(others))
        rng = random.Random(7)
        ctx.lua = os.path.join(ctx.work, "post.lua")
        with open(ctx.lua, "w") as f:
            f.write(bi.WRK_LUA)
        ctx.template = os.path.join(ctx.work, "healthy.template.ndjson")
        healthy_template(ctx.template, rng)
        ctx.cap_body = os.path.join(ctx.work, "healthy.ndjson")
        with open(ctx.template) as f, open(ctx.cap_body, "w") as g:
            g.write(f.read().replace("__TS__", iso_ms(dt.datetime.now(dt.timezone.utc))))

        # ---------------- (a) throughput
        if args.only != "latency":
            ctx.n = args.backlog
            ctx.backlog_prefix = "%s_bl." % ctx.run
            ctx.cfiles = {t: os.path.join(ctx.work, "backlog-%s.copy" % t)
                          for t in ("logs", "metrics")}
            log("ingesting the backlog through rtmon's edge: %d records" % ctx.n)
            backlog_info = ingest_backlog(ctx, rng)
            log("backlog: %d logs + %d metrics in %s{logs,metrics} (edge %.1fs; kcat -C "
                "%d ev/s)" % (ctx.counts["log"], ctx.counts["metric"], ctx.backlog_prefix,
                              backlog_info["ingest_s"], backlog_info["kcat_consume_events_s"]))
            for rnd in range(1, args.rounds + 1):
                order = ["copy", "rules", "norules"] if rnd % 2 else ["norules", "rules", "copy"]
                rr = {"round": rnd, "order": order}
                dbs = {}
                for what in order:
                    if what == "copy":
                        dbs[what], rr[what] = measure_copy(ctx, rnd)
                    else:
                        dbs[what], rr[what] = measure_drain(ctx, rnd, what)
                rr["ratios"] = {
                    "rules_vs_copy": round(rr["rules"]["rows_s"] / rr["copy"]["rows_s"], 3),
                    "rules_vs_norules": round(rr["rules"]["rows_s"] / rr["norules"]["rows_s"],
                                              3),
                    "norules_vs_copy": round(rr["norules"]["rows_s"] / rr["copy"]["rows_s"], 3),
                }
                log("round %d: COPY %d rows/s, rtmon rules %d rows/s (rows at %ss, committed "
                    "at %ss), no rules %d rows/s -> rules/COPY %.2f, rules/norules %.2f" % (
                        rnd, rr["copy"]["rows_s"], rr["rules"]["rows_s"],
                        rr["rules"]["rows_at_s"], rr["rules"]["committed_at_s"],
                        rr["norules"]["rows_s"], rr["ratios"]["rules_vs_copy"],
                        rr["ratios"]["rules_vs_norules"]))
                if rnd == 1 and rr["rules"]["complete"]:
                    same, diff = same_rows(dbs["copy"], dbs["rules"])
                    rr["rules"]["same_rows_as_copy"] = same
                    if diff:
                        rr["rules"]["first_difference"] = diff
                    log("round 1: raw rows identical to the COPY reference: %s %s" % (same, diff))
                for d in dbs.values():
                    bi.drop_db(d)
                rounds.append(rr)
            throughput = {
                "rows": ctx.n, "logs": ctx.counts["log"], "metrics": ctx.counts["metric"],
                "copy_rows_s_median": median([r["copy"]["rows_s"] for r in rounds]),
                "rules_rows_s_median": median([r["rules"]["rows_s"] for r in rounds]),
                "norules_rows_s_median": median([r["norules"]["rows_s"] for r in rounds]),
                "rules_rows_s_rows_only_median": median(
                    [r["rules"].get("rows_s_rows_only") for r in rounds]),
                "norules_rows_s_rows_only_median": median(
                    [r["norules"].get("rows_s_rows_only") for r in rounds]),
                "ratios": {k: [r["ratios"][k] for r in rounds]
                           for k in ("rules_vs_copy", "rules_vs_norules", "norules_vs_copy")},
                "all_complete": all(r[v]["complete"] for r in rounds for v in
                                    ("rules", "norules")),
                "foreign_cores_copy_rules_norules": [
                    [r["copy"]["foreign_cores"], r["rules"]["foreign_cores"],
                     r["norules"]["foreign_cores"]] for r in rounds],
                "cpu_us_per_row_median": {
                    v: {k: median([r[v]["cpu_us_per_row"][k] for r in rounds])
                        for k in rounds[0][v]["cpu_us_per_row"]}
                    for v in ("copy", "rules", "norules")},
            }
            throughput["ratio_medians"] = {k: median(v) for k, v in throughput["ratios"].items()}

        # ---------------- (b) breach latency
        if args.only != "throughput":
            latency = {"target_p99_ms": LATENCY_TARGET_P99_MS, "phases": []}
            cap = hub = drain = None
            want = [x for x in args.phases.split(",") if x]
            phases = []
            if args.load_rate:
                phases.append(("fixed", args.load_rate))
            else:
                log("edge capacity: wrk -c%d for %ds against an ingest-only rtmon" % (
                    capacity_conns(ctx), args.capacity_seconds))
                cap = measure_capacity(ctx)
                log("edge capacity %d events/s (p50 %.1f ms)" % (cap["events_s"], cap["p50_ms"]))
                if throughput:
                    drain = throughput["rules_rows_s_median"]
                else:
                    drain = quick_drain(ctx, rng, args.backlog)["rows_s"]
                hub = hub_capacity(cap, drain)
                log("hub capacity %d events/s (edge %d, drain with rules %d rows/s)" % (
                    hub["events_s"], cap["events_s"], drain))
                if "half_capacity" in want:
                    phases.append(("half_capacity", hub["events_s"] * args.load_fraction))
                # Above the hub's capacity the raw store falls behind for good: reported to
                # show what overload does, not a steady state.
                if "half_edge" in want and cap["events_s"] > 1.2 * hub["events_s"]:
                    phases.append(("half_edge", cap["events_s"] * args.load_fraction))
                if "light" in want:
                    phases.append(("light", hub["events_s"] * args.light_fraction))
            latency["ingest_capacity"] = cap
            latency["hub_capacity"] = hub
            latency["load_fraction"] = args.load_fraction
            latency["drain_rate_rules_rows_s"] = drain
            for label, rr_ in phases:
                log("latency phase %s: %d events/s for %ds, %d breaching requests" % (
                    label, rr_, args.load_seconds, args.probes))
                ph = latency_phase(ctx, label, rr_, args.load_seconds, args.probes)
                L = ph["latency_ms"] or {}
                log("phase %s: load %d ev/s achieved; breach -> incident committed: p50 %s ms, "
                    "p99 %s ms, max %s ms; detected %d/%d; consumer lag max %s" % (
                        label, ph["achieved_events_s"], L.get("p50"), L.get("p99"),
                        L.get("max"), ph["detected"], ph["probes"], ph["consumer_lag"]["max"]))
                latency["phases"].append(ph)
    finally:
        if args.keep_infra:
            log("leaving the bench infra running (--keep-infra)")
        else:
            try:
                for db in bi.psql("rtmon", "select datname from pg_database where datname like "
                                  "'%s%%'" % ctx.run, check=False).split():
                    bi.drop_db(db)
            except SystemExit:
                pass
            if "postgres" in started:
                bi.infra("postgres.sh", "stop", env_extra=bi.PG_ENV, check=False)
            if "kafka" in started:
                bi.infra("kafka.sh", "stop", env_extra=bi.KAFKA_ENV, check=False)
            log("stopped: %s" % (", ".join(started) or "nothing (infra was already running)"))

    result = {
        "benchmark": "rtmon processing (drain with windows + rules vs COPY and vs no rules; "
                     "breach -> incident commit latency under load)",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime_s": round(time.monotonic() - t_start, 1),
        "quiet_wait_s": round(ctx.quiet.waited, 1),
        "quick": args.quick,
        "config": {
            "rounds": args.rounds,
            "order_per_round": "odd rounds: COPY, rtmon rules, rtmon no rules; even rounds: "
                               "no rules, rules, COPY",
            "backlog": backlog_info,
            "backlog_mix": {"services": len(SERVICES), "metric_share": METRIC_SHARE,
                            "error_share": ERROR_SHARE, "default_error_share": 0.01,
                            "slow": list(SLOW), "endpoints": ENDPOINTS},
            "copy_reference": "psql -c '\\copy logs (%s) from <file>' -c '\\copy metrics (%s) "
                              "from <file>' into a fresh DB migrated by rtmon migrate" % (
                                  bi.COPY_COLS, METRIC_COLS),
            "drain": "rtmon role process, fresh group + fresh pre-migrated DB, %s; launch -> "
                     "committed offsets = end offsets (polled every 50 ms; implies the rows, "
                     "checked) ; count(*) polled every %.1f s for the rows-only time" % (
                         COMMIT_PROPS, args.poll),
            "rules_file": open(ctx.rules_file).read() if hasattr(ctx, "rules_file") else None,
            "norules_file": '{"rules": []}',
            "latency": {"roles": args.latency_roles, "rtmon_args": args.rtmon_arg, "load": "wrk -t1 -c<conns> + "
                        "bench/processing.d/paced.lua, 100 healthy info logs of 20 services per "
                        "POST, ts = send time; conns = %s" % (
                            args.load_conns or "Little's law: rate/100 x 150 ms, >= 32"), "load_seconds": args.load_seconds,
                        "probes": args.probes, "probe": "POST /logs of %d error logs (ts = "
                        "now) for a fresh service" % ctx_breach_lines,
                        "measure": "NOTIFY from an AFTER INSERT trigger on incident_events "
                                   "(kind triggered), received by a LISTENing connection, "
                                   "minus the arrival of the probe's HTTP 202"},
            "rtmon": binfo, "postgres": locals().get("pg_version"),
            "kafka": "4.1.2 single node KRaft (infra)",
            "rtmon_ini": open(os.path.join(ROOT, "config/rtmon.ini")).read(),
            "http_port": HTTP_PORT, "machine": machine,
            "loadavg_at_end": open("/proc/loadavg").read().split()[:3],
        },
        "summary": {"throughput": throughput,
                    "latency": None if latency is None else {
                        "target_p99_ms": LATENCY_TARGET_P99_MS,
                        "ingest_capacity_events_s": (latency["ingest_capacity"] or {}).get(
                            "events_s"),
                        "drain_rate_rules_rows_s": latency.get("drain_rate_rules_rows_s"),
                        "hub_capacity": latency.get("hub_capacity"),
                        "phases": [{k: ph[k] for k in (
                            "label", "target_events_s", "achieved_events_s",
                            "load_achieved_ratio", "cpu_us_per_event", "probes",
                            "detected", "latency_ms", "latency_lower_bound_tx_start_ms",
                            "ack_to_raw_rows_store_tx_start_ms",
                            "p99_ms", "meets_target")} | {
                            "consumer_lag_max": ph["consumer_lag"]["max"],
                            "consumer_lag_max_s_of_input": ph["consumer_lag"]["max_s_of_input"],
                            "processing_keeps_up": ph["consumer_lag"]["keeps_up"],
                            "store_keeps_up": ph["store_consumer_lag"].get("keeps_up"),
                            "foreign_cores": ph["foreign_cores"]}
                            for ph in latency["phases"]]}},
        "rounds": rounds,
        "latency": latency,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print_table(result)
    print("\nwrote %s (%.0f s)" % (os.path.relpath(args.out, ROOT), result["runtime_s"]))


def print_table(res):
    s = res["summary"]
    c = res["config"]
    print()
    print("rtmon processing benchmark  %s  nproc=%s  rtmon %s (%s, %s)  rounds=%d%s" % (
        res["date"], c["machine"]["nproc"], c["rtmon"]["sha256"], c["rtmon"]["build_type"],
        c["rtmon"].get("source") or ("git %s%s" % (
            c["rtmon"]["git_head"], "+%d modified" % c["rtmon"]["git_dirty_files"]
            if c["rtmon"]["git_dirty_files"] else "")), c["rounds"],
        "  (--quick)" if res["quick"] else ""))
    t = s["throughput"]
    if t:
        print()
        print("(a) drain of N=%d records (%d logs + %d metrics), rows/s (launch -> rows = N and "
              "offsets committed)" % (t["rows"], t["logs"], t["metrics"]))
        fmt = "  %-24s %10s   %s"
        print(fmt % ("COPY (psql \\copy)", "%d" % t["copy_rows_s_median"],
                     " ".join("%d" % r["copy"]["rows_s"] for r in res["rounds"])))
        print(fmt % ("rtmon, default rules", "%d" % t["rules_rows_s_median"],
                     " ".join("%d" % r["rules"]["rows_s"] for r in res["rounds"])))
        print(fmt % ("rtmon, no rules", "%d" % t["norules_rows_s_median"],
                     " ".join("%d" % r["norules"]["rows_s"] for r in res["rounds"])))
        print("  ratios (median of per-round):")
        for k, label in (("rules_vs_copy", "rtmon rules / COPY"),
                         ("rules_vs_norules", "rtmon rules / rtmon no rules"),
                         ("norules_vs_copy", "rtmon no rules / COPY")):
            print("    %-30s %.2f   (%s)" % (label, t["ratio_medians"][k],
                                           " ".join("%.2f" % x for x in t["ratios"][k])))
        print("  foreign cores per round (COPY/rules/norules): %s" % "  ".join(
            "/".join("%.2f" % x for x in r) for r in t["foreign_cores_copy_rules_norules"]))
        cu = t["cpu_us_per_row_median"]
        print("  CPU-µs per row: COPY pg %.1f (backend %.1f); rules rtmon %.1f + kafka %.1f + "
              "pg %.1f; no rules rtmon %.1f + kafka %.1f + pg %.1f" % (
                  cu["copy"]["pg"], cu["copy"]["pg_backend"], cu["rules"]["rtmon"],
                  cu["rules"]["kafka"], cu["rules"]["pg"], cu["norules"]["rtmon"],
                  cu["norules"]["kafka"], cu["norules"]["pg"]))
        last = res["rounds"][-1]
        for v in ("rules", "norules"):
            d = last[v]
            print("  last round %-8s rows at %ss, committed at %ss; aggregates %d rows; "
                  "incidents %s; store commit mean %s ms, consumer pauses %s" % (
                      v, d["rows_at_s"], d["committed_at_s"], d["aggregates_rows"],
                      d["incidents"] or "none", d["rtmon_metrics"]["store_commit_ms_mean"],
                      d["rtmon_metrics"]["consumer_pauses"]))
    L = s["latency"]
    if L:
        print()
        print("(b) breach latency: HTTP 202 of the breaching request -> incident 'triggered' "
              "committed (NOTIFY received); target p99 <= %.0f ms" % L["target_p99_ms"])
        hub = L.get("hub_capacity") or {}
        print("  hub capacity %s events/s = min(edge capacity %s events/s, drain rate with rules "
              "%s rows/s)" % (hub.get("events_s"), L["ingest_capacity_events_s"],
                              L["drain_rate_rules_rows_s"]))
        for ph in L["phases"]:
            d = ph["latency_ms"] or {}
            lb = ph["latency_lower_bound_tx_start_ms"] or {}
            print("  %-12s load %6d ev/s (asked %6d): p50 %s ms  p99 %s ms  max %s ms  "
                  "(n=%d/%d; tx-start bound p50 %s p99 %s)  -> %s" % (
                      ph["label"], ph["achieved_events_s"], ph["target_events_s"], d.get("p50"),
                      d.get("p99"), d.get("max"), ph["detected"], ph["probes"], lb.get("p50"),
                      lb.get("p99"), "meets target" if ph["meets_target"] else "MISSES target"))
            st = ph.get("ack_to_raw_rows_store_tx_start_ms") or {}
            print("  %-12s ack -> start of the store tx of its raw rows: p50 %s ms p99 %s ms" % (
                "", st.get("p50"), st.get("p99")))
            print("  %-12s consumer lag max %s records = %s s of input (%s; raw store %s); "
                  "foreign cores %.2f" % (
                      "", ph["consumer_lag_max"], ph["consumer_lag_max_s_of_input"],
                      "processing keeps up" if ph["processing_keeps_up"] else
                      "processing FALLS BEHIND",
                      "keeps up" if ph.get("store_keeps_up") else "FALLS BEHIND",
                      ph["foreign_cores"]))
            cu = ph["cpu_us_per_event"]
            print("  %-12s CPU-µs per event: rtmon %.1f + kafka %.1f + pg %.1f + wrk %.1f%s" % (
                "", cu["rtmon"], cu["kafka"], cu["pg"], cu["wrk"],
                "" if ph["load_achieved_ratio"] >= 0.95 else
                "; LOAD NOT ACHIEVED (%.0f%% of the asked rate: acks slowed down)" % (
                    100 * ph["load_achieved_ratio"])))


if __name__ == "__main__":
    main()
