"""rtmon UI/API benchmark (issue 5, "Benchmark"): two figures, each next to a floor measured in
the same run on the same Postgres.

(1) stream: transition committed -> its frame read from the WebSocket /api/stream.
    A fresh service gets one POST of 30 error lines (the shipped rule high-error-rate: error
    share > 5 % over 1 m, >= 20 lines, for 0 s), which opens an incident; every timeline row
    the hub commits is one frame with a stream_id. Commit moment: the bench adds to its own
    database (never to rtmon's migrations) an AFTER INSERT trigger on incident_events that calls
    pg_notify('bench_ui_commit', stream_id); Postgres delivers it only at commit, to the bench's
    LISTENing connection in this process, at the same moment as rtmon's own NOTIFY rtmon_stream
    from that transaction. Latency = frame arrival - notification arrival (one monotonic clock).
    Floor, interleaved with the transitions: a bare NOTIFY round trip (autocommit
    `select pg_notify(...)` on one connection -> received on another), and the relay floor: that
    notification's arrival -> the hub's own read query (incident_events where stream_id > N)
    answered on the listening connection, i.e. what any relay must do before it can send a frame.
    Phases: idle (no other traffic) and load (a paced background of healthy logs).
(2) list: GET /api/incidents with 100k incidents (+ one timeline row each) seeded with SQL, per
    query shape p50/p99 of the whole HTTP request (keep-alive), against the floor: the very SQL
    the handler runs (page query + counts query, same literals) sent straight to Postgres by this
    process. Rounds interleave floor and hub (ABBA). EXPLAIN (ANALYZE, BUFFERS) of every shape's
    two queries goes into the JSON.

Writes bench/results/ui.json. Not a test: nothing is asserted. See bench/README.md.
"""

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(BENCH, "processing.d"))
import pgwire  # noqa: E402  (stdlib-only Postgres client shared with bench/processing)

STATE_DIR = os.environ.get("BENCH_UI_STATE_DIR", os.path.join(ROOT, ".rtmon/bench/ui"))
KAFKA_PORT = int(os.environ.get("BENCH_UI_KAFKA_PORT", "23092"))
KAFKA_CONTROLLER_PORT = int(os.environ.get("BENCH_UI_KAFKA_CONTROLLER_PORT", "23093"))
PG_PORT = int(os.environ.get("BENCH_UI_PG_PORT", "55439"))
RESULTS = os.path.join(BENCH, "results", "ui.json")
WORK = os.path.join(BENCH, "work", "ui")
TICK = os.sysconf("SC_CLK_TCK")
TARGET_STREAM_P99_MS = 100.0
TARGET_LIST_P99_MS = 50.0
BREACH_LINES = 30


def log(*a):
    print("[bench/ui] " + " ".join(str(x) for x in a), file=sys.stderr, flush=True)


def die(msg):
    log("ERROR: " + msg)
    sys.exit(1)


def pct(xs, q):
    """Nearest-rank percentile (q in 0..100)."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(1, -(-len(s) * q // 100))
    return s[int(k) - 1]


def dist(xs):
    if not xs:
        return {"n": 0}
    r = lambda v: round(v, 2)  # noqa: E731
    return {"n": len(xs), "p50": r(pct(xs, 50)), "p90": r(pct(xs, 90)), "p99": r(pct(xs, 99)),
            "max": r(max(xs)), "min": r(min(xs)), "mean": r(sum(xs) / len(xs))}


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def iso_ms(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (t.microsecond // 1000)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack(cmd):
    env = dict(os.environ, RTMON_STATE_DIR=STATE_DIR, TEST_KAFKA_PORT=str(KAFKA_PORT),
               TEST_KAFKA_CONTROLLER_PORT=str(KAFKA_CONTROLLER_PORT), TEST_PG_PORT=str(PG_PORT))
    r = subprocess.run(["bash", os.path.join(ROOT, "test/integration/stack.sh"), cmd], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        die("stack.sh %s failed:\n%s" % (cmd, r.stdout[-3000:]))


def pg(db="rtmon"):
    return pgwire.Conn("127.0.0.1", PG_PORT, "rtmon", "rtmon", db)


def q(s):
    """SQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


# ----------------------------------------------------------------------------------------------
# /proc accounting (noise indicators)

def cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / TICK
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle, time.monotonic()


class Usage:
    """CPU of rtmon and whole-machine busy cores over a step."""

    def __init__(self, pid):
        self.pid = pid
        self.c0, self.b0 = cpu_s(pid), machine_busy()

    def done(self):
        b1 = machine_busy()
        wall = max(b1[1] - self.b0[1], 1e-6)
        rt = cpu_s(self.pid) - self.c0
        return {"seconds": round(wall, 2), "rtmon_cores": round(rt / wall, 2),
                "machine_busy_cores": round((b1[0] - self.b0[0]) / TICK / wall, 2)}


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
        model = m.group(1) if m else ""
    with open("/proc/meminfo") as f:
        mem = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1)) // 1024 // 1024
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gib": mem,
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
            "kernel": os.uname().release, "hostname": socket.gethostname()}


def git_info(binary_src):
    def git(*a):
        r = subprocess.run(["git", "-C", ROOT] + list(a), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        return r.stdout.strip()
    bt = ""
    cache = os.path.join(os.path.dirname(binary_src), "CMakeCache.txt")
    if os.path.exists(cache):
        m = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$", open(cache).read(), re.M)
        bt = m.group(1) if m else ""
    return {"head": git("rev-parse", "--short", "HEAD"),
            "modified_files": len([x for x in git("status", "--porcelain").splitlines() if x]),
            "build_type": bt}


# ----------------------------------------------------------------------------------------------
# the hub

class Hub:
    def __init__(self, binary, db, run, roles, name):
        self.port = free_port()
        self.url = "127.0.0.1:%d" % self.port
        self.log_path = os.path.join(WORK, "%s-%s.log" % (run, name))
        env = dict(os.environ)
        env.pop("RTMON_DATABASE_URL_FILE", None)
        env.update({"RTMON_KAFKA_BROKERS": "127.0.0.1:%d" % KAFKA_PORT,
                    "RTMON_DATABASE_URL": "postgresql://rtmon:rtmon@127.0.0.1:%d/%s" % (PG_PORT, db),
                    "RTMON_HTTP_ADDR": self.url, "RTMON_ROLES": roles,
                    "RTMON_LOG_LEVEL": "warn"})
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary, "serve", "--config-file=%s" % os.path.join(ROOT, "config/rtmon.ini"),
             "--kafka.topic-prefix=%s." % run, "--kafka.group=g_%s" % run,
             "--kafka.session-timeout-ms=6000"],
            stdout=self.logf, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                die("rtmon exited with %s; see %s" % (self.proc.returncode, self.log_path))
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    c.close()
                    break
                c.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                die("rtmon not ready within 60 s; see %s" % self.log_path)
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


class Http:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method, path, body=None, ctype=None):
        headers = {"Content-Type": ctype} if ctype else {}
        for attempt in (0, 1):
            try:
                self.c.request(method, path, body=body, headers=headers)
                r = self.c.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                if attempt:
                    raise
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)


# ----------------------------------------------------------------------------------------------
# (1) stream latency

COMMIT_TRIGGER_SQL = """
create or replace function bench_ui_commit() returns trigger language plpgsql as $$
begin
  perform pg_notify('bench_ui_commit',
                    new.stream_id || ' ' || extract(epoch from clock_timestamp()));
  return null;
end $$;
drop trigger if exists bench_ui_commit on incident_events;
create trigger bench_ui_commit after insert on incident_events
  for each row execute function bench_ui_commit();
"""

ROWS_SQL = ("select stream_id, (message || jsonb_build_object('stream_id', stream_id))::text"
            " from incident_events where stream_id > %d and stream_id <= 9223372036854775807"
            " order by stream_id limit 500")


class CommitListener(threading.Thread):
    """LISTENs on bench_ui_commit (one notification per timeline row, payload stream_id),
    rtmon_stream (rtmon's own, once per transition transaction) and bench_ui_floor (the floor
    probes). On a floor notification it runs the hub's read query on this connection (relay
    floor)."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.conn = pg(db)
        self.conn.query("listen bench_ui_commit; listen rtmon_stream; listen bench_ui_floor")
        self.commit = {}       # stream_id -> arrival (monotonic)
        self.inserted = {}     # stream_id -> the trigger's clock_timestamp() (wall, pre-commit)
        self.rtmon_stream = []  # arrivals of rtmon's NOTIFY
        self.floor = {}        # probe id -> (notify arrival, rows read)
        self.stop_flag = False
        self.error = None

    def run(self):
        try:
            while not self.stop_flag:
                for ch, payload, mono, _wall, _pid in self.conn.wait_notifications(0.2):
                    if ch == "bench_ui_commit":
                        sid, clock = payload.split(" ")
                        self.commit.setdefault(int(sid), mono)
                        self.inserted.setdefault(int(sid), float(clock))
                    elif ch == "rtmon_stream":
                        self.rtmon_stream.append(mono)
                    elif ch == "bench_ui_floor":
                        pid, last = payload.split(" ")
                        self.conn.query(ROWS_SQL % int(last))
                        self.floor[int(pid)] = (mono, time.monotonic())
        except Exception as e:
            self.error = repr(e)

    def stop(self):
        self.stop_flag = True
        self.join(timeout=5)
        self.conn.close()


class StreamClient(threading.Thread):
    """The WebSocket client: records the arrival of every frame (monotonic, right after recv)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        import websocket  # websocket-client, in .rtmon/venv
        self.ws = websocket.create_connection("ws://127.0.0.1:%d/api/stream" % port, timeout=30)
        self.ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.frames = {}   # stream_id -> (arrival, message)
        self.other = {}    # type -> count
        self.hello = None
        self.error = None
        self.stop_flag = False

    def run(self):
        import websocket
        self.ws.settimeout(0.5)
        while not self.stop_flag:
            try:
                text = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception as e:
                if not self.stop_flag:
                    self.error = repr(e)
                return
            t, w = time.monotonic(), time.time()
            m = json.loads(text)
            if m.get("type") == "incident.transition":
                m["_wall"] = w
                self.frames.setdefault(m["stream_id"], (t, m))
            else:
                self.other[m.get("type")] = self.other.get(m.get("type"), 0) + 1
                if m.get("type") == "hello":
                    self.hello = m

    def stop(self):
        self.stop_flag = True
        self.join(timeout=3)
        try:
            self.ws.close()
        except Exception:
            pass


def breach_body(service):
    now = iso_ms(dt.datetime.now(dt.timezone.utc))
    return ("\n".join(json.dumps(
        {"ts": now, "service": service, "level": "error", "host": "ip-10-9-9-%d" % k,
         "message": "upstream answered 503 (attempt %d)" % k,
         "attrs": {"endpoint": "/api/checkout", "status": 503}}, separators=(",", ":"))
        for k in range(BREACH_LINES)) + "\n").encode()


def load_worker(port, rate, seconds, out_path, conns=4):
    """Background (a subprocess, so its CPU does not hold this process's GIL): 100 healthy info
    lines of svc-0..19 per POST, on an absolute schedule of rate/100 POSTs a second spread over
    `conns` keep-alive connections (each waits for its 202)."""
    per_post = 100
    interval = per_post * conns / rate
    services = ["svc-%d" % i for i in range(20)]
    t0 = time.monotonic() + 0.05
    stats = [[0, 0, 0] for _ in range(conns)]  # posts, accepted, late

    def worker(j):
        h = Http(port)
        n = 0
        while True:
            due = t0 + (n + j / conns) * interval
            if due - t0 >= seconds:
                break
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > 0.005:
                stats[j][2] += 1
            ts = iso_ms(dt.datetime.now(dt.timezone.utc))
            body = ("\n".join(json.dumps(
                {"ts": ts, "service": services[k % 20], "level": "info",
                 "host": "ip-10-0-0-%d" % k, "message": "GET /api/items 200 in %d ms" % (5 + k % 40),
                 "attrs": {"endpoint": "/api/items", "status": 200}}, separators=(",", ":"))
                for k in range(per_post)) + "\n").encode()
            st, _ = h.request("POST", "/logs", body, "application/x-ndjson")
            stats[j][0] += 1
            stats[j][1] += st == 202
            n += 1

    threads = [threading.Thread(target=worker, args=(j,)) for j in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    posts, ok, late = (sum(x[i] for x in stats) for i in range(3))
    with open(out_path, "w") as f:
        json.dump({"connections": conns, "posts": posts, "accepted_posts": ok, "late_slots": late,
                   "seconds": round(wall, 2),
                   "achieved_events_per_s": round(ok * per_post / wall)}, f)


def floor_probe(sender, listener, i):
    """One bare NOTIFY round trip; the listener then runs the hub's read query (relay floor)."""
    # the hub's live read returns the one or two rows just committed: ask for about as many
    last = max(listener.commit) - 1 if listener.commit else 0
    t0 = time.monotonic()
    sender.query("select pg_notify('bench_ui_floor', '%d %d')" % (i, last))
    deadline = t0 + 5
    while i not in listener.floor and time.monotonic() < deadline:
        time.sleep(0.0005)
    got = listener.floor.get(i)
    if not got:
        return None
    return {"notify_rtt_ms": (got[0] - t0) * 1000, "relay_ms": (got[1] - got[0]) * 1000}


def stream_phase(ctx, label, transitions, spacing, load_rate):
    log("stream phase %s: %d breaches every %.2f s%s" % (
        label, transitions, spacing, ", background %d ev/s" % load_rate if load_rate else ""))
    h = Http(ctx.hub.port)
    sender = pg(ctx.db)
    loadp = None
    load_out = os.path.join(WORK, "%s-load-%s.json" % (ctx.run, label))
    duration = transitions * spacing + 4.0
    if load_rate:
        loadp = subprocess.Popen([sys.executable, __file__, "--load-worker", str(ctx.hub.port),
                                  str(load_rate), str(duration), load_out])
        time.sleep(2.0)  # the load reaches steady state before the first breach
    usage = Usage(ctx.hub.proc.pid)
    services, floors = [], []
    t_start = time.monotonic()
    for i in range(transitions):
        due = t_start + i * spacing
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        svc = "brk-%s-%s-%d" % (ctx.run, label, i)
        st, body = h.request("POST", "/logs", breach_body(svc), "application/x-ndjson")
        if st != 202:
            log("breach POST answered %d: %s" % (st, body[:200]))
        services.append(svc)
        # the floor probes sit between the breaches (same moments of the run, same load)
        time.sleep(min(spacing / 2, 0.05))
        fp = floor_probe(sender, ctx.listener, ctx.floor_id)
        ctx.floor_id += 1
        if fp:
            floors.append(fp)
    # every breach's transition frames
    want = set(services)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        seen = {m["service"] for _, m in list(ctx.client.frames.values())}
        if want <= seen:
            break
        time.sleep(0.1)
    u = usage.done()
    if loadp:
        loadp.wait()
    sender.close()
    load = json.load(open(load_out)) if loadp and os.path.exists(load_out) else None
    time.sleep(0.3)  # late commit notifications
    samples, missing_commit = [], 0
    for sid, (t_frame, m) in sorted(ctx.client.frames.items()):
        if m.get("service") not in want:
            continue
        t_commit = ctx.listener.commit.get(sid)
        if t_commit is None:
            missing_commit += 1
            continue
        ins = ctx.listener.inserted.get(sid)
        samples.append({"stream_id": sid, "service": m["service"], "kind": m.get("kind"),
                        "latency_ms": round((t_frame - t_commit) * 1000, 3),
                        "since_insert_ms": round((m["_wall"] - ins) * 1000, 3) if ins else None})
    seen = {s["service"] for s in samples}
    lat = [s["latency_ms"] for s in samples]
    res = {
        "phase": label, "breaches": transitions, "spacing_s": spacing,
        "background_events_per_s_asked": load_rate, "background": load,
        "transitions": len(samples), "breaches_without_frame": len(want - seen),
        "frames_without_commit_notification": missing_commit,
        "kinds": sorted({s["kind"] for s in samples}),
        "rtmon_commit_to_frame_ms": dist(lat),
        # upper bound: from the row's insert (trigger clock, before the commit) to the frame
        "rtmon_insert_to_frame_ms": dist([s["since_insert_ms"] for s in samples
                                          if s["since_insert_ms"] is not None]),
        "negative_samples": sum(1 for x in lat if x < 0),
        "floor_notify_rtt_ms": dist([f["notify_rtt_ms"] for f in floors]),
        "floor_relay_ms": dist([f["relay_ms"] for f in floors]),
        "usage": u, "samples": samples,
        "floor_samples": [{k: round(v, 3) for k, v in f.items()} for f in floors],
    }
    p99 = res["rtmon_commit_to_frame_ms"].get("p99")
    res["ratio_p99_to_notify_rtt"] = ratio(p99, res["floor_notify_rtt_ms"].get("p99"))
    res["ratio_p99_to_relay_floor"] = ratio(p99, res["floor_relay_ms"].get("p99"))
    res["ratio_p50_to_notify_rtt"] = ratio(res["rtmon_commit_to_frame_ms"].get("p50"),
                                           res["floor_notify_rtt_ms"].get("p50"))
    res["meets_target_p99_100ms"] = p99 is not None and p99 <= TARGET_STREAM_P99_MS
    log("  %s: n=%d p50 %s p99 %s ms (notify rtt p99 %s, relay floor p99 %s)" % (
        label, len(lat), res["rtmon_commit_to_frame_ms"].get("p50"), p99,
        res["floor_notify_rtt_ms"].get("p99"), res["floor_relay_ms"].get("p99")))
    return res


# ----------------------------------------------------------------------------------------------
# (2) incidents list

SEED_SQL = """
-- %(n)d incidents over the last 30 days: 200 services (skewed: a few are noisy), 6 rules, each
-- with its severity; about 1 %% open (pending / triggered / acknowledged, opened mostly in the
-- last days), 3 %% cancelled, the rest resolved. One timeline row each (the triggering one).
-- Fingerprints repeat for closed incidents (rule|service|host); open ones are unique (the
-- incidents_open_fingerprint index).
create temporary table seed as
select g,
       gen_random_uuid() as id,
       (array['high-error-rate','slow-responses','error-burst','disk-almost-full',
              'queue-backlog','deploy-failed'])[1 + (g %% 6)] as rule,
       (array['critical','warning','warning','warning','info','critical'])[1 + (g %% 6)]
         as severity,
       'svc-' || lpad((floor(200 * power(random(), 2)))::int::text, 3, '0') as service,
       'h' || (g %% 50) as host,
       random() as r_status, random() as r_time, random() as r_dur, random() as r_val
from generate_series(1, %(n)d) g;
insert into incidents (id, fingerprint, rule, service, severity, status, summary, labels,
                       group_labels, last_value, breach_count, opened_at, last_seen_at,
                       acknowledged_at, resolved_at, flapping, last_seq, updated_at)
select id, fp, rule, service, severity, status,
       service || ': ' || rule || ' breached (value ' || round(val::numeric, 3) || ')',
       jsonb_build_object('team', 'team-' || (g %% 12), 'tier', (array['web','db','queue'])[1 + g %% 3]),
       jsonb_build_object('host', host), val, 1 + (g %% 17), opened,
       opened + interval '1 minute' * (1 + 30 * r_dur),
       case when status = 'acknowledged' or (status = 'resolved' and g %% 3 > 0)
            then opened + interval '1 minute' * (2 + 20 * r_dur) end,
       case when status in ('resolved', 'cancelled')
            then opened + interval '1 minute' * (5 + 120 * r_dur) end,
       g %% 97 = 0, 1, now()
from (
  select s.*, st.status,
         case when st.status in ('pending','triggered','acknowledged')
              then rule || '|' || service || '|host=' || host || '|' || g
              else rule || '|' || service || '|host=' || host end as fp,
         case when st.status in ('pending','triggered','acknowledged')
              then now() - interval '30 days' * power(r_time, 3)
              else now() - interval '30 days' * r_time end as opened,
         0.05 + r_val as val
  from seed s
  cross join lateral (select case when r_status < 0.001 then 'pending'
                                  when r_status < 0.006 then 'triggered'
                                  when r_status < 0.010 then 'acknowledged'
                                  when r_status < 0.040 then 'cancelled'
                                  else 'resolved' end as status) st
) x;
insert into incident_events (incident_id, seq, at, kind, from_status, to_status, actor, detail,
                             value, notify, message, published_at)
select i.id, 1, i.opened_at, 'triggered', 'pending', 'triggered', 'rtmon',
       'value ' || round(i.last_value::numeric, 3) || ' > 0.05', i.last_value, true,
       jsonb_build_object('type', 'incident.transition', 'incident_id', i.id,
                          'fingerprint', i.fingerprint, 'rule', i.rule, 'service', i.service,
                          'severity', i.severity, 'status', 'triggered', 'summary', i.summary,
                          'labels', i.labels, 'group', i.group_labels, 'seq', 1,
                          'kind', 'triggered', 'from', 'pending', 'to', 'triggered',
                          'at', rtmon_iso(i.opened_at), 'actor', 'rtmon',
                          'detail', 'value > 0.05', 'value', i.last_value, 'notify', true,
                          'breach_count', i.breach_count, 'opened_at', rtmon_iso(i.opened_at)),
       i.opened_at
from incidents i where i.service like 'svc-%%';
drop table seed;
"""

# The handler's two statements (system/api/incidents.cpp), with the values as literals.
PAGE_SQL = (
    "select rtmon_incident_json(i)::text, (extract(epoch from i.opened_at) * 1000000)::bigint,"
    " i.id::text from incidents i"
    " where ({st} = '' or i.status = any(string_to_array({st}, ',')))"
    " and ({svc} = '' or i.service = {svc}) and ({sev} = '' or i.severity = {sev})"
    " and (i.opened_at >= {frm}::timestamptz"
    "  or ({allopen} and i.status in ('pending', 'triggered', 'acknowledged')))"
    " and i.opened_at < {to}::timestamptz"
    " and ({cur} = '' or (i.opened_at, i.id) < (nullif({cur}, '')::timestamptz, {cid}::uuid))"
    " order by i.opened_at desc, i.id desc limit {lim}")
COUNTS_SQL = (
    "select status, count(*) from incidents"
    " where ({svc} = '' or service = {svc}) and ({sev} = '' or severity = {sev})"
    " and (opened_at >= {frm}::timestamptz"
    "  or ({allopen} and status in ('pending', 'triggered', 'acknowledged')))"
    " and opened_at < {to}::timestamptz group by status")
LIMIT = 50


def iso_us(us):
    t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Shape:
    """One query shape: the parameters of GET /api/incidents; `pages` > 1 follows the cursor
    that many pages deep and then starts over."""

    def __init__(self, name, status="", service="", severity="", days=None, pages=1):
        self.name, self.status, self.service, self.severity = name, status, service, severity
        self.days, self.pages = days, pages
        self.page = 0
        self.cursor_http = None
        self.cursor_sql = None

    def window(self, now):
        if self.days is None:
            return None, None  # the handler's default: the last hour up to its own now
        # 31 d is the API's bound; a minute less, so the handler's own (later) clock accepts it
        return now - dt.timedelta(days=self.days) + dt.timedelta(
            seconds=60 if self.days >= 31 else 0), now

    def statuses(self):
        if self.status == "open":
            return "pending,triggered,acknowledged"
        return self.status

    def http_path(self, now):
        p = {}
        if self.status:
            p["status"] = self.status
        if self.service:
            p["service"] = self.service
        if self.severity:
            p["severity"] = self.severity
        frm, to = self.window(now)
        if frm:
            p["from"] = iso_ms(frm)  # as the UI: a range ends now, only `from` is sent
        if self.cursor_http:
            p["cursor"] = self.cursor_http
        return "/api/incidents" + ("?" + urllib.parse.urlencode(p) if p else "")

    def sql(self, now):
        frm, to = self.window(now)
        if frm is None:
            frm, to = now - dt.timedelta(hours=1), now
        cur, cid = ("", "00000000-0000-0000-0000-000000000000")
        if self.cursor_sql:
            cur, cid = iso_us(self.cursor_sql[0]), self.cursor_sql[1]
        v = {"st": q(self.statuses()), "svc": q(self.service), "sev": q(self.severity),
             "frm": q(iso_ms(frm)), "to": q(iso_ms(to)), "cur": q(cur), "cid": q(cid),
             "lim": LIMIT + 1, "allopen": "false" if self.days is not None else "true"}
        return PAGE_SQL.format(**v), COUNTS_SQL.format(**v)


def make_shapes(busy_service, quiet_service):
    return [
        Shape("UI default: open, 7 d", status="open", days=7),
        Shape("no parameters (last hour + every open)"),
        Shape("open, 31 d", status="open", days=31),
        Shape("all statuses, 31 d, 10 pages", days=31, pages=10),
        Shape("resolved, 7 d, 10 pages", status="resolved", days=7, pages=10),
        Shape("resolved, 31 d, 10 pages", status="resolved", days=31, pages=10),
        Shape("service (busiest), 7 d", service=busy_service, days=7),
        Shape("service (busiest), 31 d, 5 pages", service=busy_service, days=31, pages=5),
        Shape("service (quietest), 31 d", service=quiet_service, days=31),
        Shape("severity critical, 7 d", severity="critical", days=7),
        Shape("severity critical, 31 d, 5 pages", severity="critical", days=31, pages=5),
        Shape("resolved + service + severity, 31 d", status="resolved", service=busy_service,
              severity="warning", days=31),
    ]


def run_http(h, shape, n, out):
    for _ in range(n):
        now = dt.datetime.now(dt.timezone.utc)
        path = shape.http_path(now)
        t0 = time.monotonic()
        st, body = h.request("GET", path)
        t1 = time.monotonic()
        if st != 200:
            die("GET %s answered %d: %s" % (path, st, body[:300]))
        m = json.loads(body)
        out["ms"].append((t1 - t0) * 1000)
        out["items"].append(len(m["items"]))
        out["counts"] = m["counts"]
        out["bytes"].append(len(body))
        shape.page += 1
        if m["next_cursor"] and shape.page < shape.pages:
            shape.cursor_http = m["next_cursor"]
        else:
            shape.cursor_http, shape.page = None, 0


def run_sql(c, shape, n, out):
    for _ in range(n):
        now = dt.datetime.now(dt.timezone.utc)
        page, counts = shape.sql(now)
        t0 = time.monotonic()
        rows = c.query(page)
        cnt = c.query(counts)
        t1 = time.monotonic()
        out["ms"].append((t1 - t0) * 1000)
        out["items"].append(min(len(rows), LIMIT))
        out["counts"] = {r[0]: int(r[1]) for r in cnt}
        shape.page += 1
        if len(rows) > LIMIT and shape.page < shape.pages:
            shape.cursor_sql = (int(rows[LIMIT - 1][1]), rows[LIMIT - 1][2])
        else:
            shape.cursor_sql, shape.page = None, 0


def explain(c, sql):
    rows = c.query("explain (analyze, buffers, timing) " + sql)
    return [r[0] for r in rows]


def list_part(ctx, rounds, per_round):
    n = ctx.seed
    log("seeding %d incidents + %d timeline rows" % (n, n))
    c = pg(ctx.db)
    c.query("drop trigger if exists bench_ui_commit on incident_events")
    t0 = time.monotonic()
    c.query(SEED_SQL % {"n": n})
    seed_s = time.monotonic() - t0
    c.query("vacuum analyze incidents")
    c.query("vacuum analyze incident_events")
    facts = {
        "seed_seconds": round(seed_s, 1),
        "incidents": int(c.scalar("select count(*) from incidents")),
        "incident_events": int(c.scalar("select count(*) from incident_events")),
        "by_status": {r[0]: int(r[1]) for r in c.query(
            "select status, count(*) from incidents group by 1 order by 1")},
        "by_severity": {r[0]: int(r[1]) for r in c.query(
            "select severity, count(*) from incidents group by 1 order by 1")},
        "services": int(c.scalar("select count(distinct service) from incidents")),
        "incidents_table_mb": round(int(c.scalar(
            "select pg_total_relation_size('incidents')")) / 2**20, 1),
    }
    busy = c.query("select service, count(*) from incidents where service like 'svc-%' "
                   "group by 1 order by 2 desc limit 1")[0]
    quiet = c.query("select service, count(*) from incidents where service like 'svc-%' "
                    "group by 1 order by 2 asc limit 1")[0]
    facts["busiest_service"] = {"service": busy[0], "incidents": int(busy[1])}
    facts["quietest_service"] = {"service": quiet[0], "incidents": int(quiet[1])}
    log("  seeded in %.1f s: %s" % (seed_s, facts["by_status"]))
    shapes = make_shapes(busy[0], quiet[0])
    h = Http(ctx.hub.port)
    usage = Usage(ctx.hub.proc.pid)
    res = {s.name: {"rtmon": {"ms": [], "items": [], "bytes": [], "counts": None},
                    "floor": {"ms": [], "items": [], "counts": None}} for s in shapes}
    # warm-up (not timed): plans, caches, the hub's connections
    for s in shapes:
        run_http(h, s, 3, {"ms": [], "items": [], "bytes": [], "counts": None})
        run_sql(c, s, 3, {"ms": [], "items": [], "counts": None})
        s.cursor_http = s.cursor_sql = None
        s.page = 0
    for rnd in range(rounds):
        for s in shapes:
            order = ["floor", "rtmon"] if rnd % 2 == 0 else ["rtmon", "floor"]
            for who in order:
                s.page, s.cursor_http, s.cursor_sql = 0, None, None
                if who == "rtmon":
                    run_http(h, s, per_round, res[s.name]["rtmon"])
                else:
                    run_sql(c, s, per_round, res[s.name]["floor"])
        log("  round %d/%d done" % (rnd + 1, rounds))
    u = usage.done()
    out = []
    now = dt.datetime.now(dt.timezone.utc)
    for s in shapes:
        r, f = res[s.name]["rtmon"], res[s.name]["floor"]
        s.page, s.cursor_sql = 0, None
        page_sql, counts_sql = s.sql(now)
        d_r, d_f = dist(r["ms"]), dist(f["ms"])
        out.append({
            "shape": s.name, "params": {"status": s.status, "service": s.service,
                                        "severity": s.severity, "days": s.days,
                                        "pages": s.pages, "limit": LIMIT},
            "rtmon_ms": d_r, "floor_sql_ms": d_f,
            "ratio_p50": ratio(d_r.get("p50"), d_f.get("p50")),
            "ratio_p99": ratio(d_r.get("p99"), d_f.get("p99")),
            "meets_target_p99_50ms": d_r.get("p99") is not None
            and d_r["p99"] <= TARGET_LIST_P99_MS,
            "items_per_page_mean": round(sum(r["items"]) / max(len(r["items"]), 1), 1),
            "floor_items_per_page_mean": round(sum(f["items"]) / max(len(f["items"]), 1), 1),
            "response_bytes_mean": round(sum(r["bytes"]) / max(len(r["bytes"]), 1)),
            "counts": r["counts"], "floor_counts": f["counts"],
            "counts_agree": r["counts"] == dict(
                {k: 0 for k in ("pending", "triggered", "acknowledged", "resolved", "cancelled")},
                **(f["counts"] or {})),
            "matching": sum((r["counts"] or {}).get(k, 0) for k in (
                s.statuses().split(",") if s.status else
                ["pending", "triggered", "acknowledged", "resolved", "cancelled"])),
            "explain_page": explain(c, page_sql), "explain_counts": explain(c, counts_sql),
        })
        log("  %-40s rtmon p50 %6.2f p99 %6.2f | sql p50 %6.2f p99 %6.2f ms" % (
            s.name, d_r["p50"], d_r["p99"], d_f["p50"], d_f["p99"]))
    c.close()
    return {"facts": facts, "rounds": rounds, "requests_per_round": per_round,
            "usage": u, "shapes": out}


# ----------------------------------------------------------------------------------------------

class Ctx:
    pass


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--load-worker":
        load_worker(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
        return
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/rtmon"),
                    help="rtmon binary (default build/rtmon; copied to /tmp first)")
    ap.add_argument("--transitions", type=int, default=60, help="breaches per stream phase")
    ap.add_argument("--spacing", type=float, default=0.2, help="seconds between breaches")
    ap.add_argument("--load-rate", type=int, default=5000,
                    help="background events/s of the 'load' stream phase (0: skip the phase)")
    ap.add_argument("--seed", type=int, default=100000, help="incidents to seed")
    ap.add_argument("--rounds", type=int, default=3, help="list rounds (ABBA)")
    ap.add_argument("--requests", type=int, default=40, help="requests per shape per round per side")
    ap.add_argument("--only", choices=["stream", "list"])
    ap.add_argument("--no-stack", action="store_true",
                    help="use the already running stack (ports as configured), don't stop it")
    ap.add_argument("--keep-stack", action="store_true", help="leave the stack up at the end")
    ap.add_argument("--out", default=RESULTS)
    a = ap.parse_args()
    sys.setswitchinterval(0.0005)  # threads record arrival times: switch promptly

    os.makedirs(WORK, exist_ok=True)
    started = time.monotonic()
    ctx = Ctx()
    ctx.run = "ui%s" % dt.datetime.now().strftime("%H%M%S")
    ctx.db = ctx.run
    ctx.seed = a.seed
    ctx.floor_id = 0
    if not os.path.exists(a.bin):
        die("no rtmon binary at %s" % a.bin)
    binary = "/tmp/rtmon-bench-ui-%d" % os.getpid()
    shutil.copy2(a.bin, binary)
    sha = hashlib.sha256(open(binary, "rb").read()).hexdigest()
    result = {
        "benchmark": "ui", "issue": 5,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "binary": dict(git_info(a.bin), path=a.bin, sha256=sha),
        "config": {"kafka_port": KAFKA_PORT, "pg_port": PG_PORT, "state_dir": STATE_DIR,
                   "transitions_per_phase": a.transitions, "spacing_s": a.spacing,
                   "load_rate": a.load_rate, "seed": a.seed, "rounds": a.rounds,
                   "requests_per_shape_round_side": a.requests, "page_limit": LIMIT,
                   "breach_lines": BREACH_LINES, "rule": "high-error-rate (config/rules.json)"},
        "targets": {"stream_p99_ms": TARGET_STREAM_P99_MS, "list_p99_ms": TARGET_LIST_P99_MS},
    }
    if not a.no_stack:
        log("stack up (Kafka %d, Postgres %d, %s)" % (KAFKA_PORT, PG_PORT, STATE_DIR))
        stack("up")
    hub = None
    try:
        admin = pg()
        admin.query('create database "%s"' % ctx.db)
        admin.close()
        if a.only != "list":
            hub = ctx.hub = Hub(binary, ctx.db, ctx.run, "ingest,process,store,api", "stream")
            c = pg(ctx.db)
            c.query(COMMIT_TRIGGER_SQL)
            c.close()
            ctx.listener = CommitListener(ctx.db)
            ctx.listener.start()
            ctx.client = StreamClient(hub.port)
            ctx.client.start()
            # warm-up breach: topics, consumer assignment, first incident path
            h = Http(hub.port)
            deadline = time.monotonic() + 60
            k = 0
            while True:
                svc = "warm-%s-%d" % (ctx.run, k)
                h.request("POST", "/logs", breach_body(svc), "application/x-ndjson")
                t = time.monotonic()
                while time.monotonic() < t + 5 and not any(
                        m["service"] == svc for _, m in list(ctx.client.frames.values())):
                    time.sleep(0.05)
                if any(m["service"] == svc for _, m in list(ctx.client.frames.values())):
                    break
                k += 1
                if time.monotonic() > deadline:
                    die("no transition frame for a warm-up breach within 60 s; see "
                        + hub.log_path)
            log("hub ready (warm-up breaches: %d)" % (k + 1))
            phases = [("idle", 0)] + ([("load", a.load_rate)] if a.load_rate else [])
            result["stream"] = {"phases": [stream_phase(ctx, lbl, a.transitions, a.spacing, r)
                                           for lbl, r in phases]}
            result["stream"]["hello"] = ctx.client.hello
            result["stream"]["other_frames"] = ctx.client.other
            result["stream"]["rtmon_stream_notifications"] = len(ctx.listener.rtmon_stream)
            result["stream"]["errors"] = [e for e in (ctx.client.error, ctx.listener.error) if e]
            ctx.client.stop()
            ctx.listener.stop()
            hub.stop()
            hub = None
        if a.only != "stream":
            # api role only: no consumer, no processing; the stream hub positions at the end
            hub = ctx.hub = Hub(binary, ctx.db, ctx.run, "api", "list")
            result["list"] = list_part(ctx, a.rounds, a.requests)
            hub.stop()
            hub = None
    finally:
        if hub:
            hub.stop()
        if not a.no_stack and not a.keep_stack:
            log("stack down")
            stack("down")
        try:
            os.unlink(binary)
        except OSError:
            pass
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    log("wrote %s (%.0f s)" % (a.out, result["wall_seconds"]))
    print_table(result)


def print_table(r):
    if "stream" in r:
        print("(1) commit -> /api/stream frame (ms)")
        print("| phase | n | rtmon p50 | rtmon p99 | NOTIFY rtt p50 / p99 | relay floor p50 / p99 |"
              " p99 ratio to rtt / relay | target p99 <= 100 |")
        print("|---|---|---|---|---|---|---|---|")
        for p in r["stream"]["phases"]:
            d, f, rl = (p["rtmon_commit_to_frame_ms"], p["floor_notify_rtt_ms"],
                        p["floor_relay_ms"])
            bg = p["phase"]
            if p["background"]:
                bg += " (%d ev/s)" % p["background"]["achieved_events_per_s"]
            print("| %s | %d | %s | %s | %s / %s | %s / %s | %s / %s | %s |" % (
                bg, d.get("n", 0), d.get("p50"), d.get("p99"), f.get("p50"), f.get("p99"),
                rl.get("p50"), rl.get("p99"), p["ratio_p99_to_notify_rtt"],
                p["ratio_p99_to_relay_floor"], "met" if p["meets_target_p99_100ms"] else "MISSED"))
    if "list" in r:
        L = r["list"]
        print("\n(2) GET /api/incidents, %d incidents (ms, %d requests per side and shape)" % (
            L["facts"]["incidents"], L["rounds"] * L["requests_per_round"]))
        print("| shape | matching | items/page | rtmon p50 | rtmon p99 | SQL p50 | SQL p99 |"
              " ratio p50 / p99 | target p99 <= 50 |")
        print("|---|---|---|---|---|---|---|---|---|")
        for s in L["shapes"]:
            print("| %s | %d | %s | %s | %s | %s | %s | %s / %s | %s |" % (
                s["shape"], s["matching"], s["items_per_page_mean"], s["rtmon_ms"]["p50"],
                s["rtmon_ms"]["p99"], s["floor_sql_ms"]["p50"], s["floor_sql_ms"]["p99"],
                s["ratio_p50"], s["ratio_p99"], "met" if s["meets_target_p99_50ms"] else "MISSED"))


if __name__ == "__main__":
    main()
