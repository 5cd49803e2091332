"""rtmon alerting benchmark: breach -> notification latency, rtmon vs Prometheus + Alertmanager.

One run, one stream of traffic, three alerting paths watching it at the same time:

  rtmon         the hub (roles ingest,process,store,api) with the shipped rule high-error-rate
                (error share > 5 % over 1 m, min 20 lines, for 0 s) and a notifications file
                routing every incident to a Slack channel whose URL is the bench's receiver;
  prom_default  Debian's Prometheus 2.42 + Alertmanager 0.25 with their default timers
                (scrape/evaluation 1 m, group_wait 30 s, group_interval 5 m);
  prom_fast     the same with the shortest sensible timers (scrape/evaluation 1 s, group_wait
                0 s, group_interval 1 s).

The load generator (wrk + bench/processing.d/paced.lua for the healthy background, this process
for the breaches) POSTs to rtmon, and this process also serves the same traffic as Prometheus
counters log_lines_total{service,level} (an exporter in-process; both Prometheus instances
scrape it). Background: 0.5 x the hub capacity measured first in the same run (phase
half_capacity; hub capacity = min(the ingest-only edge's closed-loop rate, the rate at which a
hub drains a backlog with rules: bench/processing), then 0.1 x (phase light). During each phase P breaches, each one POST of 30 error
lines for a fresh service (so each opens a new rtmon incident and a new Alertmanager group).
t0 = the moment the POST's HTTP 202 was read, which is also the moment the exporter counts the
30 lines; t1 = when the local HTTP receiver (stand-in for Slack / the webhook) has read the
request that names the service, separately per path (/slack for rtmon, /am-default, /am-fast).

Writes bench/results/alerting.json. See bench/README.md (section bench/alerting) and --help.
"""

import argparse
import datetime as dt
import http.client
import importlib.machinery
import importlib.util
import json
import math
import os
import re
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)

# A private stack: its own broker and database (own ports and dirs), so neither the test stacks
# nor a bench/ingest or bench/processing run (which stop the infra they started) can collide.
os.environ["BENCH_KAFKA_PORT"] = os.environ.get("BENCH_ALERTING_KAFKA_PORT", "24092")
os.environ["BENCH_KAFKA_CONTROLLER_PORT"] = os.environ.get(
    "BENCH_ALERTING_KAFKA_CONTROLLER_PORT", "24093")
os.environ["BENCH_PG_PORT"] = os.environ.get("BENCH_ALERTING_PG_PORT", "55438")

# bench/processing (and through it bench/ingest) is the model: infra, rtmon launcher, capacity
# measurement, paced load, breach body, the incident-commit NOTIFY trigger, lag sampling.
_loader = importlib.machinery.SourceFileLoader(
    "bench_processing", os.path.join(BENCH, "processing.d", "processing.py"))
_spec = importlib.util.spec_from_loader("bench_processing", _loader)
bp = importlib.util.module_from_spec(_spec)
_loader.exec_module(bp)
bi = bp.bi
bi.KAFKA_ENV["KAFKA_DIR"] = os.path.join(ROOT, ".rtmon/bench/alerting/kafka")
bi.PG_ENV["PG_DIR"] = os.path.join(ROOT, ".rtmon/bench/alerting/postgres")
HTTP_PORT = int(os.environ.get("BENCH_ALERTING_HTTP_PORT", "48092"))
bi.HTTP_PORT = bp.HTTP_PORT = HTTP_PORT
PORTS = {
    "receiver": int(os.environ.get("BENCH_ALERTING_RECEIVER_PORT", "48093")),
    "exporter": int(os.environ.get("BENCH_ALERTING_EXPORTER_PORT", "48094")),
    "prom_default": int(os.environ.get("BENCH_ALERTING_PROM_DEFAULT_PORT", "48095")),
    "prom_fast": int(os.environ.get("BENCH_ALERTING_PROM_FAST_PORT", "48096")),
    "am_default": int(os.environ.get("BENCH_ALERTING_AM_DEFAULT_PORT", "48097")),
    "am_fast": int(os.environ.get("BENCH_ALERTING_AM_FAST_PORT", "48098")),
}
log, die, median = bi.log, bi.die, bi.median
pct, dist = bp.pct, bp.dist

SERVICES = bp.SERVICES  # svc-0..19: the healthy background (5 lines each per 100-line body)
LINES_PER_SERVICE_PER_BODY = bi.EVENTS_PER_BODY // len(SERVICES)
BREACH_LINES = bp.ctx_breach_lines  # 30 error lines per breach (min_count is 20)
TARGET_P99_MS = 100.0  # the issue: breach -> Slack receiver p99 <= 100 ms at half the capacity
PATHS = {"rtmon": "/slack", "prom_default": "/am-default", "prom_fast": "/am-fast"}
SYSTEMS = ["rtmon", "prom_fast", "prom_default"]

# Prometheus / Alertmanager settings per configuration. (a) are the documented defaults, written
# out explicitly; the rate window of (a) is 2m because rate() needs two samples in its window and
# a 1m window holds at most one sample at a 1m scrape interval (the alert would never fire).
PROM = {
    "prom_default": {"scrape_interval": "1m", "scrape_timeout": "10s",
                     "evaluation_interval": "1m", "window": "2m", "group_wait": "30s",
                     "group_interval": "5m", "repeat_interval": "4h"},
    "prom_fast": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s",
                  "window": "1m", "group_wait": "0s", "group_interval": "1s",
                  "repeat_interval": "4h"},
}


def rule_expr(window):
    return ('(sum by (service) (rate(log_lines_total{level="error"}[%(w)s])) / '
            'sum by (service) (rate(log_lines_total[%(w)s]))) > 0.05 '
            'and on (service) sum by (service) (increase(log_lines_total[%(w)s])) >= 20'
            % {"w": window})


# ----------------------------------------------------------------------------------------------
# the receiver (stand-in for Slack and for the Alertmanager webhook) and the exporter


class Receiver:
    """Threaded HTTP server; answers every POST 200 "ok" and records, per (path, service named
    in the body), the first request's arrival (monotonic and wall clock, taken once the body
    has been read completely, as test/integration/receivers.py's SlackReceiver does)."""

    def __init__(self, port, service_re):
        self.port, self.re = port, service_re
        self.lock = threading.Lock()
        self.first = {}       # (path, service) -> (mono, wall, starts_at or None)
        self.counts = {}      # path -> requests
        self.samples = {}     # path -> first body (for the record)
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                mono, wall = time.monotonic(), time.time()
                rec.record(self.path, body, mono, wall)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def record(self, path, body, mono, wall):
        text = body.decode(errors="replace")
        starts = {}
        if path.startswith("/am-"):
            try:  # Alertmanager webhook: the alerts' startsAt = Prometheus' evaluation time
                for a in json.loads(text).get("alerts", []):
                    if a.get("status") == "firing":
                        starts[a["labels"].get("service")] = a.get("startsAt")
            except (ValueError, KeyError, AttributeError):
                pass
        with self.lock:
            self.counts[path] = self.counts.get(path, 0) + 1
            self.samples.setdefault(path, text[:3000])
            for svc in set(self.re.findall(text)):
                self.first.setdefault((path, svc), (mono, wall, starts.get(svc)))

    def got(self, path, svc):
        with self.lock:
            return self.first.get((path, svc))

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Exporter:
    """Prometheus text exposition of log_lines_total{service,level}: the same lines rtmon gets.
    Background lines of svc-0..19 follow paced.lua's absolute schedule (slot k at start + k /
    rate, 5 lines per service per body); breach lines are counted when their POST's 202 is read.
    Breach services are exposed at 0 from the start (initialised counters, as instrumentation
    libraries do for known label values): rate() needs a sample before the increase."""

    def __init__(self, port, probe_services):
        self.port = port
        self.lock = threading.Lock()
        self.bg_base = 0            # background lines per service before the current phase
        self.bg_rate = 0.0          # requests/s of the current phase
        self.bg_t0 = None
        self.bg_until = None
        self.errors = {s: 0 for s in probe_services}
        self.scrapes = {}           # path -> [monotonic time of each exposition]
        exp = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body = exp.text(self.path).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _bg(self, now):
        if self.bg_t0 is None:
            return self.bg_base
        t = min(now, self.bg_until) if self.bg_until else now
        bodies = int(math.floor(max(0.0, t - self.bg_t0) * self.bg_rate)) + 1
        return self.bg_base + bodies * LINES_PER_SERVICE_PER_BODY

    def load_started(self, req_rate, t0):
        with self.lock:
            self.bg_rate, self.bg_t0, self.bg_until = req_rate, t0, None

    def load_stopped(self, t1):
        with self.lock:
            self.bg_base = self._bg(t1)
            self.bg_t0 = self.bg_until = None

    def breach(self, svc, n):
        with self.lock:
            self.errors[svc] += n

    def text(self, path):
        with self.lock:
            now = time.monotonic()
            self.scrapes.setdefault(path, []).append(now)
            bg = self._bg(now)
            lines = ["# HELP log_lines_total Log lines posted to rtmon by the bench.",
                     "# TYPE log_lines_total counter"]
            for s in SERVICES:
                lines.append('log_lines_total{service="%s",level="info"} %d' % (s, bg))
            for s, n in self.errors.items():
                lines.append('log_lines_total{service="%s",level="info"} 0' % s)
                lines.append('log_lines_total{service="%s",level="error"} %d' % (s, n))
        return "\n".join(lines) + "\n"

    def first_scrape_after(self, path, t):
        with self.lock:
            for x in self.scrapes.get(path, []):
                if x >= t:
                    return x
        return None

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ----------------------------------------------------------------------------------------------
# Prometheus and Alertmanager (run from the Debian binaries with the bench's own configs)


class Proc:
    def __init__(self, name, cmd, logpath):
        self.name, self.logpath = name, logpath
        self.log = open(logpath, "ab")
        self.p = subprocess.Popen(cmd, cwd=os.path.dirname(logpath), stdout=self.log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.p.pid

    def cpu(self):
        return bi.proc_cpu(self.pid) or 0.0

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def wait_http(url, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            die("%s exited with %s; see %s" % (proc.name, proc.p.returncode, proc.logpath))
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    die("%s not ready within %ss; see %s" % (proc.name, timeout, proc.logpath))


def start_prometheus_pair(ctx, name):
    """Alertmanager + Prometheus for one configuration, each with a fresh data dir."""
    cfg = PROM[name]
    short = name.split("_", 1)[1]
    d = os.path.join(ctx.work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "am-data"))
    os.makedirs(os.path.join(d, "prom-data"))
    am_port, prom_port = PORTS["am_" + short], PORTS[name]
    am_yml = os.path.join(d, "alertmanager.yml")
    with open(am_yml, "w") as f:
        f.write("""# bench/alerting, configuration %(name)s
route:
  receiver: bench
  # one group per alert (= per breaching service), like one rtmon incident per service
  group_by: [alertname, service]
  group_wait: %(group_wait)s
  group_interval: %(group_interval)s
  repeat_interval: %(repeat_interval)s
receivers:
  - name: bench
    webhook_configs:
      - url: http://127.0.0.1:%(recv)d%(path)s
        send_resolved: false
""" % dict(cfg, name=name, recv=PORTS["receiver"], path=PATHS[name]))
    rules_yml = os.path.join(d, "rules.yml")
    with open(rules_yml, "w") as f:
        f.write("""# bench/alerting: high-error-rate of config/rules.json (error share > 5 %% over the
# window, at least 20 lines, no 'for'), as PromQL over the exporter's counters.
groups:
  - name: bench
    rules:
      - alert: HighErrorRate
        expr: >-
          %(expr)s
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.service }}: {{ $value }} of logs are errors"
""" % {"expr": rule_expr(cfg["window"])})
    prom_yml = os.path.join(d, "prometheus.yml")
    with open(prom_yml, "w") as f:
        f.write("""# bench/alerting, configuration %(name)s
global:
  scrape_interval: %(scrape_interval)s
  scrape_timeout: %(scrape_timeout)s
  evaluation_interval: %(evaluation_interval)s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:%(am)d"]
scrape_configs:
  - job_name: bench
    metrics_path: /metrics-%(short)s
    static_configs:
      - targets: ["127.0.0.1:%(exp)d"]
""" % dict(cfg, name=name, am=am_port, short=short, exp=PORTS["exporter"]))
    am = Proc("alertmanager (%s)" % name,
              [ctx.am_bin, "--config.file=" + am_yml, "--storage.path=" + os.path.join(
                  d, "am-data"), "--web.listen-address=127.0.0.1:%d" % am_port,
               "--cluster.listen-address=", "--log.level=info"],
              os.path.join(d, "alertmanager.log"))
    prom = Proc("prometheus (%s)" % name,
                [ctx.prom_bin, "--config.file=" + prom_yml,
                 "--storage.tsdb.path=" + os.path.join(d, "prom-data"),
                 "--web.listen-address=127.0.0.1:%d" % prom_port, "--log.level=info"],
                os.path.join(d, "prometheus.log"))
    wait_http("http://127.0.0.1:%d/-/ready" % am_port, am)
    wait_http("http://127.0.0.1:%d/-/ready" % prom_port, prom)
    return {"am": am, "prom": prom, "dir": d,
            "files": {"prometheus.yml": open(prom_yml).read(), "rules.yml": open(rules_yml).read(),
                      "alertmanager.yml": open(am_yml).read()}}


def check_prom_configs(ctx):
    """promtool / amtool syntax checks (cheap, and a clear error instead of a dead process)."""
    for name in ctx.prom_systems:
        d = os.path.join(ctx.work, name)
        for cmd in (["promtool", "check", "config", os.path.join(d, "prometheus.yml")],
                    ["amtool", "check-config", os.path.join(d, "alertmanager.yml")]):
            if shutil.which(cmd[0]):
                r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
                if r.returncode != 0:
                    die("%s failed:\n%s" % (" ".join(cmd), r.stdout))


# ----------------------------------------------------------------------------------------------
# one load phase: rtmon under paced background load, breaches seen by every system


def notifications_file(ctx):
    path = os.path.join(ctx.work, "notifications.json")
    with open(path, "w") as f:
        json.dump({"channels": {"slack": {
            "kind": "slack", "url": "http://127.0.0.1:%d%s" % (PORTS["receiver"], PATHS["rtmon"]),
            "rate_per_s": 50, "burst": 50}},
            "routes": [{"match": {}, "channels": ["slack"]}]}, f, indent=1)
    return path


def run_phase(ctx, label, fraction, rate, seconds, probes):
    name = "%s_%s" % (ctx.run, label)
    url = bi.fresh_db(name)
    bi.migrate(ctx, url)
    c0 = bp.pg_conn(name)
    c0.query(bp.NOTIFY_SQL)  # incident 'triggered' committed -> NOTIFY bench_incident
    c0.close()
    prefix = "%s_%s." % (ctx.run, label)
    group = "%s_g%s" % (ctx.run, label)
    r = bi.Rtmon(ctx.binary, "ingest,process,store,api", url, prefix, ctx.args.linger, group,
                 os.path.join(ctx.work, "rtmon-%s.log" % label),
                 extra=["--processing.rules-file=%s" % ctx.rules_file])
    listener = lag = wrk = None
    out = []
    services = ctx.probe_services[label]
    try:
        r.wait_ready()
        if not bp.wait_assigned():
            log("warning: the consumer did not report its partitions within 30 s")
        ctx.quiet.wait("phase %s" % label)
        listener = bp.Listener(name)
        listener.start()
        lag = bp.LagSampler(group, bp.topics_of(prefix))
        lag.start()
        c = bi.Cpu()
        s0, r0, b0, o0 = c.snap(), r.cpu(), bi.machine_busy(), others_cpu(ctx)
        req_rate = rate / bi.EVENTS_PER_BODY
        conns = ctx.args.load_conns or max(32, 16 * int(math.ceil(req_rate * 0.15 / 16)))
        env = dict(os.environ, BENCH_TEMPLATE=ctx.template, BENCH_REQ_RATE="%.3f" % req_rate)
        t_load = time.monotonic()
        wrk = subprocess.Popen(
            ["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s",
             "-s", os.path.join(BENCH, "processing.d", "paced.lua"),
             "http://127.0.0.1:%d/logs" % HTTP_PORT],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ctx.exporter.load_started(req_rate, t_load)
        conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=30)
        conn.connect()
        first, last = min(3.0, seconds * 0.2), seconds - 2.0
        step = (last - first) / max(1, probes - 1)
        for i, svc in enumerate(services):
            due = t_load + first + i * step
            time.sleep(max(0.0, due - time.monotonic()))
            body = bp.breach_body(svc)
            t_send = time.monotonic()
            conn.request("POST", "/logs", body, {"Content-Type": "application/x-ndjson"})
            resp = conn.getresponse()
            resp.read()
            t0, w0 = time.monotonic(), time.time()
            if resp.status == 202:
                ctx.exporter.breach(svc, BREACH_LINES)  # the same lines, counted at t0
            out.append({"service": svc, "phase": label, "status": resp.status,
                        "at_s": round(t_send - t_load, 3),
                        "http_ms": round((t0 - t_send) * 1000, 2), "t0": t0, "w0": w0})
        conn.close()
        _, status, ru = os.wait4(wrk.pid, 0)
        wrk.returncode = os.waitstatus_to_exitcode(status)
        t_end = time.monotonic()
        ctx.exporter.load_stopped(t_end)
        wrk_cpu = ru.ru_utime + ru.ru_stime
        wout, werr = wrk.stdout.read(), wrk.stderr.read()
        s1, r1, b1, o1 = c.snap(), r.cpu(), bi.machine_busy(), others_cpu(ctx)
        # rtmon's tail: wait (bounded) for its notifications of this phase
        deadline = time.monotonic() + ctx.args.tail
        want = [p["service"] for p in out if p["status"] == 202]
        while time.monotonic() < deadline and not all(
                ctx.receiver.got(PATHS["rtmon"], s) for s in want):
            time.sleep(0.05)
        m = bp.scrape_all()
    finally:
        if wrk and wrk.poll() is None:
            wrk.kill()
            wrk.wait()
        if lag:
            lag.stop()
        if listener:
            listener.stop()
        r.stop()
    w = bp.wrk_result(wrk, wout, werr)
    secs = w["duration_us"] / 1e6
    achieved = w["ok"] * bi.EVENTS_PER_BODY / secs
    for p in out:  # incident committed (NOTIFY from the trigger), for the split
        g = listener.got.get(p["service"])
        if g:
            p["rtmon_incident_committed_ms"] = round((g[0] - p["t0"]) * 1000, 2)
    db = bp.pg_conn(name)
    outbox = {}
    try:  # what rtmon's outbox recorded (informational: the schema may move on)
        outbox = {row[0]: int(row[1]) for row in db.query(
            "select event || ':' || status, count(*) from notifications group by 1")}
        first_attempt = {row[0]: float(row[1]) for row in db.query(
            "select i.service, extract(epoch from min(a.started_at)) from notifications n "
            "join incidents i on i.id = n.incident_id join notification_attempts a on "
            "a.notification_id = n.id where i.service like 'brk-%' and n.event = 'triggered' "
            "group by 1")}
        for p in out:
            if p["service"] in first_attempt:
                p["rtmon_first_attempt_started_ms"] = round(
                    (first_attempt[p["service"]] - p["w0"]) * 1000, 2)
    except Exception as e:  # noqa: BLE001
        outbox = {"error": str(e)[:200]}
    n_inc = int(db.scalar("select count(*) from incidents where service like 'brk-%%'"))
    db.close()
    bi.drop_db(name)
    wall = t_end - t_load
    cpu = {"rtmon": r1 - r0, "kafka": s1["kafka"] - s0["kafka"], "pg": s1["pg"] - s0["pg"],
           "wrk": wrk_cpu}
    cpu.update({k: o1[k] - o0[k] for k in o0})
    lags = [x[1] for x in lag.samples]
    return {
        "label": label, "fraction_of_capacity": fraction, "target_events_s": round(rate),
        "achieved_events_s": round(achieved), "load_achieved_ratio": round(achieved / rate, 3),
        "load": {"seconds": round(secs, 2), "connections": conns, "requests_ok": w["ok"],
                 "non_202": w["other"], "late_slots": w["late"], "dropped_slots": w["dropped"],
                 "http_ms": {"p50": w["p50_us"] / 1000, "p99": w["p99_us"] / 1000,
                             "max": w["max_us"] / 1000},
                 "socket_errors": w["err_connect"] + w["err_read"] + w["err_write"]
                 + w["err_timeout"]},
        "probes": len(out), "probes_non_202": sum(1 for p in out if p["status"] != 202),
        "rtmon_incidents": n_inc, "rtmon_outbox": outbox,
        "consumer_lag": {"max": max(lags) if lags else None,
                         "max_s_of_input": round(max(lags) / achieved, 2) if lags else None,
                         "keeps_up": bool(lags) and max(lags) <= 2 * achieved},
        "cpu_cores": {k: round(v / wall, 3) for k, v in cpu.items()},
        "cpu_us_per_event": {k: round(v / max(w["ok"] * bi.EVENTS_PER_BODY, 1) * 1e6, 2)
                             for k, v in cpu.items() if k in ("rtmon", "kafka", "pg", "wrk")},
        "machine_busy_cores": bi.busy_cores(b0, b1),
        "foreign_cores": bi.foreign_cores(b0, b1, sum(cpu.values())),
        "rtmon_metrics": {k: v for k, v in m.items() if "notif" in k or "outbox" in k}
        | bp.metric_summary(m),
        "listener_error": listener.error,
        "_probes": out,
    }


def others_cpu(ctx):
    """CPU seconds of the Prometheus/Alertmanager processes and of this process (exporter,
    receiver, breach POSTs), for the foreign-load figure."""
    d = {"bench_py": sum(os.times()[:2])}
    for name, pair in ctx.pairs.items():
        d[name] = pair["prom"].cpu() + pair["am"].cpu()
    return d


# ----------------------------------------------------------------------------------------------
# results


def parse_rfc3339(s):
    """Alertmanager's startsAt (e.g. 2026-11-24T01:02:03.456789012Z) -> epoch seconds."""
    if not s:
        return None
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", s)
    if not m:
        return None
    base = dt.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z"
                                                   else m.group(3)))
    return base.timestamp() + (float(m.group(2)) if m.group(2) else 0.0)


def sig(x):
    return round(x, 3) if x < 1 else round(x, 2) if x < 10 else round(x, 1)


def summarize(ctx, phases, probes):
    """Per phase and system: latency distribution (ms), missed breaches, splits, ratios."""
    out = {}
    for ph in phases:
        label = ph["label"]
        mine = [p for p in probes if p["phase"] == label and p["status"] == 202]
        systems = {}
        for sysname in ["rtmon"] + ctx.prom_systems:
            path = PATHS[sysname]
            lat, missed, split_a, split_b, split_c = [], [], [], [], []
            for p in mine:
                g = ctx.receiver.got(path, p["service"])
                if not g:
                    missed.append(p["service"])
                    continue
                ms = (g[0] - p["t0"]) * 1000
                p[sysname + "_ms"] = round(ms, 2)
                lat.append(ms)
                if sysname == "rtmon":
                    if "rtmon_incident_committed_ms" in p:
                        split_a.append(p["rtmon_incident_committed_ms"])
                        split_b.append(ms - p["rtmon_incident_committed_ms"])
                else:
                    short = sysname.split("_", 1)[1]
                    sc = ctx.exporter.first_scrape_after("/metrics-" + short, p["t0"])
                    if sc is not None:
                        p[sysname + "_scraped_ms"] = round((sc - p["t0"]) * 1000, 1)
                        split_a.append(p[sysname + "_scraped_ms"])
                    ev = parse_rfc3339(g[2])
                    if ev is not None:
                        p[sysname + "_eval_ms"] = round((ev - p["w0"]) * 1000, 1)
                        split_b.append(p[sysname + "_eval_ms"])
                        split_c.append((g[1] - ev) * 1000)
            d = {"n": len(lat), "missed": len(missed), "latency_ms": dist(lat)}
            if missed:
                d["missed_services"] = missed[:10]
            if sysname == "rtmon":
                d["ack_to_incident_committed_ms"] = dist(split_a)
                d["incident_committed_to_receiver_ms"] = dist(split_b)
            else:
                d["t0_to_first_scrape_with_breach_ms"] = dist(split_a)
                d["t0_to_rule_evaluation_ms"] = dist(split_b)
                d["rule_evaluation_to_receiver_ms"] = dist(split_c)
            systems[sysname] = d
        ratios = {}
        base = systems["rtmon"]["latency_ms"]
        for sysname in ctx.prom_systems:
            x = systems[sysname]["latency_ms"]
            if base and x:
                ratios[sysname] = {k: sig(x[k] / base[k]) if base[k] > 0 else None
                                   for k in ("p50", "p99", "max", "mean")}
                if systems["rtmon"]["missed"] or systems[sysname]["missed"]:
                    ratios[sysname]["censored"] = True  # a side missed breaches: indicative
        out[label] = {"load_events_s": ph["achieved_events_s"],
                      "load_asked_events_s": ph["target_events_s"],
                      "fraction_of_capacity": ph["fraction_of_capacity"],
                      "breaches": len(mine), "systems": systems,
                      "ratio_to_rtmon": ratios,
                      "rtmon_meets_target_p99_100ms": bool(
                          base and not systems["rtmon"]["missed"]
                          and base["p99"] <= TARGET_P99_MS)}
    return out


def print_table(res):
    c = res["config"]
    b = c["rtmon"]
    print()
    print("rtmon alerting benchmark  %s  nproc=%s  rtmon %s (%s, git %s%s)" % (
        res["date"], c["machine"]["nproc"], b.get("sha256"), b.get("build_type"),
        b.get("git_head"), "+%d modified" % b["git_dirty_files"]
        if b.get("git_dirty_files") else ""))
    cap, hub = res["ingest_capacity"], res.get("hub_capacity") or {}
    print("breach (HTTP 202 of 30 error lines for a fresh service) -> local receiver got the "
          "notification; hub capacity %s events/s = min(edge %s events/s, drain with rules %s "
          "rows/s)" % (hub.get("events_s", "n/a"), (cap or {}).get("events_s", "n/a"),
                       hub.get("drain_rules_rows_s", "n/a")))
    for label, s in res["summary"].items():
        print()
        print("  phase %s: background %d events/s (asked %d = %.2f x capacity), %d breaches" % (
            label, s["load_events_s"], s["load_asked_events_s"], s["fraction_of_capacity"],
            s["breaches"]))
        print("    %-14s %5s %6s %10s %10s %10s %10s   %s" % (
            "system", "n", "missed", "p50 ms", "p99 ms", "max ms", "mean ms",
            "ratio to rtmon p50 / p99"))
        for sysname, d in s["systems"].items():
            L = d["latency_ms"] or {}
            r = s["ratio_to_rtmon"].get(sysname)
            print("    %-14s %5d %6d %10s %10s %10s %10s   %s" % (
                sysname, d["n"], d["missed"], L.get("p50"), L.get("p99"), L.get("max"),
                L.get("mean"), ("%s / %s%s" % (r["p50"], r["p99"], "  (censored: missed "
                                                "breaches)" if r.get("censored") else ""))
                if r else ""))
        ph = next(p for p in res["phases"] if p["label"] == label)
        rt = s["systems"]["rtmon"]
        a, bb = rt.get("ack_to_incident_committed_ms") or {}, \
            rt.get("incident_committed_to_receiver_ms") or {}
        print("    rtmon split: ack -> incident committed p50 %s / p99 %s ms; committed -> "
              "receiver p50 %s / p99 %s ms; consumer lag max %s s of input (%s)" % (
                  a.get("p50"), a.get("p99"), bb.get("p50"), bb.get("p99"),
                  ph["consumer_lag"]["max_s_of_input"],
                  "keeps up" if ph["consumer_lag"]["keeps_up"] else "FALLS BEHIND"))
        for sysname in [k for k in s["systems"] if k != "rtmon"]:
            d = s["systems"][sysname]
            sc = d.get("t0_to_first_scrape_with_breach_ms") or {}
            ev = d.get("t0_to_rule_evaluation_ms") or {}
            ar = d.get("rule_evaluation_to_receiver_ms") or {}
            print("    %s split (p50): t0 -> scraped %s ms, -> rule evaluated %s ms, evaluation "
                  "-> receiver %s ms" % (sysname, sc.get("p50"), ev.get("p50"), ar.get("p50")))
        if ph["load_achieved_ratio"] < 0.95:
            print("    LOAD NOT ACHIEVED: %.0f%% of the asked rate (rtmon's acks slowed down)" %
                  (100 * ph["load_achieved_ratio"]))
        print("    foreign cores %.2f; rtmon p99 target <= %.0f ms: %s" % (
            ph["foreign_cores"], TARGET_P99_MS,
            "met" if s["rtmon_meets_target_p99_100ms"] else "MISSED"))


# ----------------------------------------------------------------------------------------------


class Ctx:
    pass


def snapshot_binary(args, run):
    """The binary is copied to /tmp first (build/ may be rebuilt under the bench)."""
    src = args.bin or os.path.join(ROOT, "build/rtmon")
    if args.build:
        return bi.pick_binary(argparse.Namespace(bin=None, build=True, allow_non_release=False),
                              os.path.join(BENCH, "work/alerting"))
    if not os.path.exists(src):
        die("%s not found (build rtmon first, or pass --bin)" % src)
    info = bi.build_info(src)
    dst = "/tmp/rtmon-bench-alerting-%s" % run
    shutil.copy2(src, dst)
    info["snapshot"] = dst
    if info["build_type"] not in ("Release", "unknown"):
        log("note: %s is a %s build (latency and capacity of a Release build differ; "
            "--build makes one, --bin picks another)" % (src, info["build_type"]))
    return dst, info


def main():
    ap = argparse.ArgumentParser(prog="bench/alerting.sh", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Details: bench/README.md, section bench/alerting.")
    ap.add_argument("--linger", type=int, default=20,
                    help="rtmon kafka.linger-ms (20, the shipped default; see config/rtmon.ini)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 12 s phases with 12 breaches, prom_default's tail 170 s")
    ap.add_argument("--phases", default="half_capacity:0.5,light:0.1",
                    help="label:fraction of the hub capacity, comma-separated "
                         "(half_capacity:0.5,light:0.1)")
    ap.add_argument("--load-seconds", type=int, help="seconds of background load per phase "
                                                     "(30; --quick 12)")
    ap.add_argument("--probes", type=int, help="breaches per phase (40; --quick 12)")
    ap.add_argument("--load-rate", type=int,
                    help="events/s that fraction 1.0 stands for (skips the capacity run)")
    ap.add_argument("--load-conns", type=int, default=0)
    ap.add_argument("--capacity-seconds", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--conns", type=int, default=0,
                    help="wrk connections of the edge capacity run (default: bench/ingest's "
                         "plan, as bench/processing)")
    ap.add_argument("--backlog", type=int, default=150_000,
                    help="records of the capacity drain (150,000)")
    ap.add_argument("--tail", type=float, default=60,
                    help="max seconds to wait for rtmon's last notifications after a phase's "
                         "load (60; when processing falls behind, the backlog's age)")
    ap.add_argument("--prom-tail", type=float, default=170,
                    help="max seconds after the last breach to wait for Alertmanager's "
                         "notifications (170: the default path's worst case is ~150 s)")
    ap.add_argument("--no-prom-default", action="store_true",
                    help="skip configuration (a) (its tail dominates the run time)")
    ap.add_argument("--no-prom", action="store_true", help="rtmon only")
    ap.add_argument("--rules-file", default=os.path.join(ROOT, "config/rules.json"))
    ap.add_argument("--bin", help="rtmon binary (default build/rtmon; copied to /tmp first)")
    ap.add_argument("--build", action="store_true",
                    help="build a Release rtmon with infra/build.sh (as bench/ingest) and use it")
    ap.add_argument("--quiet-wait", type=float, default=10)
    ap.add_argument("--quiet-budget", type=float, default=40)
    ap.add_argument("--keep-infra", action="store_true")
    ap.add_argument("--out", default=os.path.join(BENCH, "results/alerting.json"))
    args = ap.parse_args()
    # what bench/processing's capacity drain reads from its own options
    args.span, args.poll, args.drain_timeout, args.rtmon_arg = 180, 0.2, 300, []
    args.load_seconds = args.load_seconds or (12 if args.quick else 30)
    args.probes = args.probes or (12 if args.quick else 40)
    phases = []
    for item in args.phases.split(","):
        lab, _, frac = item.partition(":")
        if not re.fullmatch(r"[a-z_]+", lab) or not frac:
            die("--phases: expected label:fraction, got %r" % item)
        phases.append((lab, float(frac)))
    for tool in ("wrk", "kcat", "psql", "java"):
        if not shutil.which(tool):
            die("%s not found (see bench/README.md)" % tool)
    sys.setswitchinterval(0.0005)  # receiver/exporter threads: short GIL hand-offs
    for k in ("RTMON_RULES_FILE", "RTMON_SLACK_WEBHOOK_URL", "RTMON_SMTP_URL",
              "RTMON_WEBHOOK_URL"):
        os.environ.pop(k, None)

    t_start = time.monotonic()
    ctx = Ctx()
    ctx.args = args
    ctx.quiet = bi.Quiet(args.quiet_wait, args.quiet_budget)
    ctx.run = "ba" + dt.datetime.now().strftime("%m%d%H%M%S")
    ctx.work = os.path.join(BENCH, "work/alerting")
    os.makedirs(ctx.work, exist_ok=True)
    for f in os.listdir(ctx.work):
        if f.endswith((".json", ".log", ".ndjson", ".lua")):
            os.remove(os.path.join(ctx.work, f))
    ctx.prom_systems = [] if args.no_prom else \
        [s for s in ("prom_fast", "prom_default") if not (args.no_prom_default
                                                           and s == "prom_default")]
    if ctx.prom_systems:
        ctx.prom_bin = shutil.which("prometheus")
        ctx.am_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if not ctx.prom_bin or not ctx.am_bin:
            die("prometheus / prometheus-alertmanager not found: apt-get install -y "
                "--no-install-recommends prometheus prometheus-alertmanager (or --no-prom)")
    ctx.binary, binfo = snapshot_binary(args, ctx.run)
    log("rtmon binary: %s (%s, sha256 %s, git %s, %d modified files)" % (
        ctx.binary, binfo["build_type"], binfo["sha256"], binfo["git_head"],
        binfo["git_dirty_files"]))
    ctx.rules_file = os.path.join(ctx.work, "rules.json")
    shutil.copyfile(args.rules_file, ctx.rules_file)
    os.environ["RTMON_NOTIFICATIONS_FILE"] = notifications_file(ctx)
    machine = bi.machine()
    ctx.probe_services = {lab: ["brk-%s-%s-%03d" % (ctx.run, lab.replace("_", ""), i)
                                for i in range(args.probes)] for lab, _ in phases}
    svc_re = re.compile(r"brk-%s-[a-z]+-\d{3}" % ctx.run)
    ctx.receiver = Receiver(PORTS["receiver"], svc_re)
    ctx.exporter = Exporter(PORTS["exporter"],
                            [s for v in ctx.probe_services.values() for s in v])
    ctx.receiver.start()
    ctx.exporter.start()
    ctx.pairs = {}
    started = []
    phase_results, probes, cap, hub = [], [], None, None
    prom_info = {}
    try:
        # Prometheus first: configuration (a) scrapes once a minute, and each breach service
        # must have been scraped at 0 before its breach (the capacity run covers the wait).
        for name in ctx.prom_systems:
            ctx.pairs[name] = start_prometheus_pair(ctx, name)
            log("%s: prometheus on 127.0.0.1:%d, alertmanager on 127.0.0.1:%d" % (
                name, PORTS[name], PORTS["am_" + name.split("_", 1)[1]]))
        check_prom_configs(ctx)
        for name, pair in ctx.pairs.items():
            prom_info[name] = {"settings": PROM[name], "rule_expr": rule_expr(
                PROM[name]["window"]), "files": pair["files"]}
        if not bi.kafka_running():
            shutil.rmtree(os.path.join(bi.KAFKA_ENV["KAFKA_DIR"], "data"), ignore_errors=True)
            log("starting the bench Kafka on %s" % bi.BROKER)
            bi.infra("kafka.sh", "start", env_extra=bi.KAFKA_ENV)
            started.append("kafka")
        if not bi.pg_running():
            log("starting the bench Postgres on port %s" % bp.PG_PORT)
            bi.infra("postgres.sh", "start", env_extra=bi.PG_ENV)
            started.append("postgres")
        for db in bi.psql("rtmon", "select datname from pg_database where datname like 'ba%'"
                          ).split():
            bi.drop_db(db)
        ctx.ingest_db_url = bi.fresh_db(ctx.run + "_ingest")
        rng = random.Random(7)
        ctx.lua = os.path.join(ctx.work, "post.lua")
        with open(ctx.lua, "w") as f:
            f.write(bi.WRK_LUA)
        ctx.template = os.path.join(ctx.work, "healthy.template.ndjson")
        bp.healthy_template(ctx.template, rng)
        ctx.cap_body = os.path.join(ctx.work, "healthy.ndjson")
        with open(ctx.template) as f, open(ctx.cap_body, "w") as g:
            g.write(f.read().replace("__TS__", bp.iso_ms(dt.datetime.now(dt.timezone.utc))))

        if args.load_rate:
            full = args.load_rate
        else:
            # As bench/processing: fraction 1.0 = the hub capacity, min(edge, drain with rules).
            log("edge capacity: wrk -c%d for %ds against an ingest-only rtmon" % (
                bp.capacity_conns(ctx), args.capacity_seconds))
            cap = bp.measure_capacity(ctx)
            log("edge capacity %d events/s (p50 %.1f ms)" % (cap["events_s"], cap["p50_ms"]))
            hub = bp.hub_capacity(cap, bp.quick_drain(ctx, rng, args.backlog)["rows_s"])
            full = hub["events_s"]
            log("hub capacity %d events/s (edge %d, drain with rules %d rows/s)" % (
                full, cap["events_s"], hub["drain_rules_rows_s"]))
        bi.drop_db(ctx.run + "_ingest")

        # every Prometheus must hold a sample of the breach services at 0 before the first one
        deadline = time.monotonic() + 90
        for name in ctx.prom_systems:
            path = "/metrics-" + name.split("_", 1)[1]
            while not ctx.exporter.scrapes.get(path) and time.monotonic() < deadline:
                time.sleep(0.2)
            if not ctx.exporter.scrapes.get(path):
                die("%s never scraped the exporter (see %s)" % (name,
                                                                ctx.pairs[name]["dir"]))

        for lab, frac in phases:
            rate = full * frac
            log("phase %s: %d events/s (%.2f x %d) for %ds, %d breaches" % (
                lab, rate, frac, full, args.load_seconds, args.probes))
            ph = run_phase(ctx, lab, frac, rate, args.load_seconds, args.probes)
            probes.extend(ph.pop("_probes"))
            phase_results.append(ph)
            got = sum(1 for p in probes if p["phase"] == lab
                      and ctx.receiver.got(PATHS["rtmon"], p["service"]))
            log("phase %s: load %d ev/s achieved; rtmon notified %d/%d breaches" % (
                lab, ph["achieved_events_s"], got, ph["probes"]))

        # Alertmanager's notifications: until every breach is in or --prom-tail after the last
        if ctx.prom_systems and probes:
            last_t0 = max(p["t0"] for p in probes)
            deadline = last_t0 + args.prom_tail
            want = [p["service"] for p in probes if p["status"] == 202]
            t_wait = time.monotonic()
            next_log = t_wait
            while time.monotonic() < deadline:
                left = {n: sum(1 for s in want if not ctx.receiver.got(PATHS[n], s))
                        for n in ctx.prom_systems}
                if not any(left.values()):
                    break
                if time.monotonic() >= next_log:
                    log("waiting for Alertmanager notifications: %s still missing (at most "
                        "%.0fs more)" % (", ".join("%s %d" % kv for kv in left.items()),
                                          deadline - time.monotonic()))
                    next_log += 30
                time.sleep(0.25)
            log("Alertmanager tail: %.0fs" % (time.monotonic() - t_wait))
        for name, pair in ctx.pairs.items():
            prom_info[name]["cpu_s_whole_run"] = {"prometheus": round(pair["prom"].cpu(), 2),
                                                  "alertmanager": round(pair["am"].cpu(), 2)}
            prom_info[name]["scrapes"] = len(ctx.exporter.scrapes.get(
                "/metrics-" + name.split("_", 1)[1], []))
            prom_info[name]["webhook_requests"] = ctx.receiver.counts.get(PATHS[name], 0)
    finally:
        for pair in ctx.pairs.values():
            pair["prom"].stop()
            pair["am"].stop()
        ctx.receiver.stop()
        ctx.exporter.stop()
        if args.keep_infra:
            log("leaving the bench infra running (--keep-infra)")
        else:
            try:
                for db in bi.psql("rtmon", "select datname from pg_database where datname "
                                  "like '%s%%'" % ctx.run, check=False).split():
                    bi.drop_db(db)
            except SystemExit:
                pass
            if "postgres" in started:
                bi.infra("postgres.sh", "stop", env_extra=bi.PG_ENV, check=False)
            if "kafka" in started:
                bi.infra("kafka.sh", "stop", env_extra=bi.KAFKA_ENV, check=False)
            log("stopped: %s" % (", ".join(started) or "nothing (infra was already running)"))
        if ctx.binary.startswith("/tmp/rtmon-bench-alerting-"):
            os.remove(ctx.binary)

    summary = summarize(ctx, phase_results, probes)
    for p in probes:
        p.pop("t0", None)
        p["w0"] = round(p["w0"], 4)
    result = {
        "benchmark": "breach -> notification receiver latency: rtmon vs Prometheus 2.42 + "
                     "Alertmanager 0.25 (defaults, shortest), same rule, same traffic, same run",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime_s": round(time.monotonic() - t_start, 1),
        "machine": machine | {"loadavg_at_end": open("/proc/loadavg").read().split()[:3]},
        "ingest_capacity": cap,
        "hub_capacity": hub,
        "summary": summary,
        "config": {
            "machine": machine,
            "rtmon": binfo,
            "rtmon_roles": "ingest,process,store,api", "rtmon_rules_file": open(ctx.rules_file).read(),
            "rtmon_notifications_file": open(os.environ["RTMON_NOTIFICATIONS_FILE"]).read(),
            "breach": "one POST /logs of %d error lines (ts = now) for a fresh service "
                      "brk-<run>-<phase>-<i>; t0 = HTTP 202 read (keep-alive connection), the "
                      "exporter counts the same lines at t0" % BREACH_LINES,
            "t1": "local HTTP receiver (bench/alerting.d, as SlackReceiver) has read the first "
                  "request naming the service, per path: %s" % PATHS,
            "background": "wrk -t1 + bench/processing.d/paced.lua, 100 healthy info logs of "
                          "svc-0..19 per POST; the exporter follows the same schedule",
            "load_seconds": args.load_seconds, "probes_per_phase": args.probes,
            "phases": [{"label": l, "fraction": f} for l, f in phases],
            "prometheus": prom_info,
            "notes": [
                "All three systems watch the same breaches at the same time (one run, one "
                "traffic stream); each breach is measured on every path.",
                "Alertmanager group_by [alertname, service]: one group per breaching service, "
                "as one rtmon incident per service (with the default group_by of no labels, "
                "every later alert would wait for group_interval = 5m).",
                "Breach services are exposed by the exporter at 0 from the start: rate() needs "
                "a sample before the increase (a counter first seen at 30 never fires).",
                "prom_default uses rate(...[2m]): at a 1m scrape interval a 1m window holds at "
                "most one sample and the rule would never fire; prom_fast uses [1m].",
                "prom_default breaches of every phase are measured in parallel (independent "
                "groups), so its n is the same as rtmon's at no extra wall time; its latencies "
                "cross phase boundaries (timer-bound, not load-bound).",
                "t0 for Prometheus is the same instant as rtmon's: the exporter counts the lines "
                "when the 202 is read. *_scraped_ms = first exposition containing them, "
                "*_eval_ms = the alert's startsAt (the evaluation that fired) - t0.",
            ],
            "prometheus_version": subprocess.run([ctx.prom_bin, "--version"], text=True,
                                                 stdout=subprocess.PIPE,
                                                 stderr=subprocess.STDOUT).stdout.split(
                                                     "\n")[0] if ctx.prom_systems else None,
            "alertmanager_version": subprocess.run([ctx.am_bin, "--version"], text=True,
                                                   stdout=subprocess.PIPE,
                                                   stderr=subprocess.STDOUT).stdout.split(
                                                       "\n")[0] if ctx.prom_systems else None,
            "ports": PORTS | {"rtmon": HTTP_PORT, "kafka": bi.KAFKA_ENV["KAFKA_PORT"],
                              "postgres": bi.PG_ENV["PG_PORT"]},
            "quiet_wait_s": round(ctx.quiet.waited, 1),
        },
        "phases": phase_results,
        "receiver_samples": ctx.receiver.samples,
        "breaches": probes,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print_table(result)
    print("\nwrote %s (%.0f s)" % (os.path.relpath(args.out, ROOT), result["runtime_s"]))


if __name__ == "__main__":
    main()
