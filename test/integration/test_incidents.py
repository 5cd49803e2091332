"""Incidents end to end: error logs posted to /logs open an incident of the shipped rule
`high-error-rate` (error rate > 0.05 over 1 m, min_count 20, recovery 0.02, critical, for 0s),
written to Postgres (incidents + the incident_events timeline) and published to
`<prefix>incidents` keyed by fingerprint. Recovery resolves it, repeat breaches do not open a
second one, and neither a kill -9 with a restart nor two processes in one consumer group
duplicate an incident or a transition.

Windows use event time, so every item carries a `ts` near now; a service's later items never go
back by more than the allowed lateness (5 s). Every test uses its own services."""
import json
import re
import time

import requests

from conftest import wait_until

RULE = "high-error-rate"
SETTLE = 2.5  # after the awaited state: time for anything that should NOT happen to show up


def fingerprint(service):
    return f"{RULE}|{service}"


def lines(service, errors, infos, ts, tag):
    """`errors` error and `infos` info lines of `service`, interleaved evenly (so any prefix a
    consumer batch may cut has about the same error rate), event times from `ts` on."""
    total = errors + infos
    out = []
    e = 0
    for i in range(total):
        # Bresenham-style spread of the errors over the lines.
        is_error = (i + 1) * errors // total > e
        if is_error:
            e += 1
        out.append({"event_id": f"{tag}-{i}", "service": service, "ts": round(ts + i * 0.001, 3),
                    "level": "error" if is_error else "info",
                    "message": f"{tag} line {i}" + (" failed" if is_error else " ok"),
                    "host": "it-host"})
    assert e == errors
    return out


def post_logs(hub, items):
    body = "\n".join(json.dumps(x) for x in items) + "\n"
    r = hub.post("/logs", body, content_type="application/x-ndjson")
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == len(items)
    return [x["event_id"] for x in items]


def incidents_of(env, service):
    """The service's incidents as dicts, oldest first."""
    rows = env.pg.query(
        "select id, fingerprint, rule, service, severity, status, coalesce(last_value::text, ''),"
        " breach_count, summary, coalesce(resolved_at::text, ''), last_seq,"
        " coalesce(extract(epoch from last_seen_at)::text, '')"
        " from incidents where service = :'v1' order by opened_at, id", service)
    keys = ["id", "fingerprint", "rule", "service", "severity", "status", "last_value",
            "breach_count", "summary", "resolved_at", "last_seq", "last_seen"]
    out = []
    for r in rows:
        d = dict(zip(keys, r))
        d["last_value"] = float(d["last_value"]) if d["last_value"] else None
        d["breach_count"] = int(d["breach_count"])
        d["last_seq"] = int(d["last_seq"])
        d["last_seen"] = float(d["last_seen"]) if d["last_seen"] else None
        out.append(d)
    return out


def timeline(env, incident_id):
    """(seq, kind, from_status, to_status, published) of an incident, by seq."""
    return [(int(s), k, f, t, p == "t") for s, k, f, t, p in env.pg.query(
        "select seq, kind, from_status, to_status, published_at is not null"
        " from incident_events where incident_id = :'v1' order by seq", incident_id)]


def triggered_rows(env, service):
    return int(env.pg.scalar(
        "select count(*) from incident_events e join incidents i on i.id = e.incident_id"
        " where i.service = :'v1' and e.kind = 'triggered'", service))


def open_incident(env, service):
    rows = [i for i in incidents_of(env, service) if i["status"] == "triggered"]
    return rows[0] if rows else None


def kafka_transitions(env, key):
    """The messages of the incidents topic with this key (parsed), in topic order."""
    return [json.loads(v) for k, v in env.kcat_consume("incidents") if k == key]


def all_published(env, incident_id):
    rows = timeline(env, incident_id)
    return rows and all(r[4] for r in rows)


def logs_stored(env, service):
    return int(env.pg.scalar("select count(*) from logs where service = :'v1'", service))


def agg_totals(env, service, width):
    """(count, errors, error lines per detail, info lines per detail) over the service's log
    aggregates of one bucket width."""
    row = env.pg.query(
        "select coalesce(sum(count), 0), coalesce(sum(errors), 0),"
        " coalesce(sum((detail->>'error')::bigint), 0), coalesce(sum((detail->>'info')::bigint), 0)"
        " from aggregates where service = :'v1' and signal = 'log' and width_s = :v2",
        service, width)[0]
    return tuple(int(x) for x in row)


def live_hub(env):
    """The module's running hub (the latest one still alive), started if there is none."""
    for h in reversed(env.hubs):
        if h.proc is not None and h.proc.poll() is None:
            return h
    return env.hub()


def assert_kafka_matches_timeline(env, service, incident_ids):
    """Every timeline row of these incidents is on the incidents topic exactly once, keyed by
    the fingerprint, with the incident's fields; nothing else is there for the fingerprint."""
    fp = fingerprint(service)
    for iid in incident_ids:
        wait_until(lambda: all_published(env, iid), 30, interval=0.25,
                   what=f"timeline of {iid} published")
    expected = sorted((iid, seq, kind, frm, to) for iid in incident_ids
                      for seq, kind, frm, to, _ in timeline(env, iid))
    msgs = kafka_transitions(env, fp)
    got = sorted((m["incident_id"], m["seq"], m["kind"], m["from"], m["to"]) for m in msgs)
    assert got == expected, f"kafka {got} vs timeline {expected}"
    for m in msgs:
        assert m["type"] == "incident.transition"
        assert m["fingerprint"] == fp
        assert m["rule"] == RULE
        assert m["service"] == service
        assert m["severity"] == "critical"
        assert m["status"] == m["to"]
        assert m["at"]
    return msgs


def test_error_burst_opens_one_incident_for_that_service_only(env):
    hub = live_hub(env)
    now = time.time()
    bad, normal = "inc-burst-bad", ["inc-burst-ok-a", "inc-burst-ok-b"]
    # Normal traffic (1 error in 50 = 0.02, under the threshold), then the burst (50 % errors).
    for i, s in enumerate(normal):
        post_logs(hub, lines(s, 1, 49, now + 0.1 * i, f"b1-{s}"))
    post_logs(hub, lines(bad, 20, 20, now + 0.3, "b1-bad"))

    wait_until(lambda: incidents_of(env, bad), 30, what="an incident for the erroring service")
    # Everything posted went through processing (aggregates are written by the same windows that
    # feed the rules), then a settle period for any second incident to appear.
    for s, n, e in [(bad, 40, 20)] + [(s, 50, 1) for s in normal]:
        for width in (10, 60):
            wait_until(lambda: agg_totals(env, s, width) == (n, e, e, n - e), 30, interval=0.25,
                       what=f"{width}s aggregates of {s} = {n} lines, {e} errors")
    time.sleep(SETTLE)

    incs = incidents_of(env, bad)
    assert len(incs) == 1, incs
    inc = incs[0]
    assert inc["fingerprint"] == fingerprint(bad)
    assert inc["rule"] == RULE
    assert inc["service"] == bad
    assert inc["severity"] == "critical"
    assert inc["status"] == "triggered"
    assert inc["resolved_at"] == ""
    assert inc["breach_count"] >= 1
    assert abs(inc["last_value"] - 0.5) <= 0.06, inc["last_value"]
    assert bad in inc["summary"], inc["summary"]
    assert [r[:4] for r in timeline(env, inc["id"])] == [(1, "triggered", "pending", "triggered")]
    assert inc["last_seq"] == 1
    for s in normal:
        assert incidents_of(env, s) == [], f"{s} has an incident"

    msgs = assert_kafka_matches_timeline(env, bad, [inc["id"]])
    assert len(msgs) == 1
    assert abs(msgs[0]["value"] - inc["last_value"]) <= 0.06
    keys = {k for k, _ in env.kcat_consume("incidents")}
    for s in normal:
        assert fingerprint(s) not in keys


def test_recovery_resolves_the_incident(env):
    hub = live_hub(env)
    svc = "inc-recover"
    t0 = time.time()
    post_logs(hub, lines(svc, 20, 20, t0, "rec-burst"))
    inc = wait_until(lambda: open_incident(env, svc), 30, what="the incident to trigger")

    # The service keeps logging, now without errors (later event times, still in the same 1 m
    # window as the errors): 20 errors / 1240 lines = 0.016 <= the recovery level 0.02. On the
    # way down it passes through "still breaching" (a repeat: 20 / 240 > 0.05, processed on its
    # own) and the hysteresis band.
    for k in range(6):
        post_logs(hub, lines(svc, 0, 200, t0 + 0.5 + 0.3 * k, f"rec-info{k}"))
        if k == 0:
            wait_until(lambda: agg_totals(env, svc, 60)[0] == 240, 30, interval=0.1,
                       what="the first 200 info lines processed")
    wait_until(lambda: incidents_of(env, svc)[0]["status"] == "resolved", 30, interval=0.25,
               what="the incident to resolve")
    wait_until(lambda: agg_totals(env, svc, 60)[0] == 1240, 30, interval=0.25,
               what="all 1240 lines processed")
    time.sleep(SETTLE)

    incs = incidents_of(env, svc)
    assert len(incs) == 1, incs
    assert incs[0]["id"] == inc["id"]
    assert incs[0]["status"] == "resolved"
    assert incs[0]["resolved_at"] != ""
    rows = timeline(env, inc["id"])
    assert [r[1] for r in rows] == ["triggered", "resolved"], rows
    assert [r[0] for r in rows] == [1, 2], f"timeline seq must be 1, 2 without gaps: {rows}"
    assert rows[1][2:4] == ("triggered", "resolved")
    assert incs[0]["last_seq"] == 2, incs[0]

    msgs = assert_kafka_matches_timeline(env, svc, [inc["id"]])
    assert [m["kind"] for m in msgs] == ["triggered", "resolved"]
    assert [m["seq"] for m in msgs] == [1, 2]


def test_repeat_breach_while_triggered_does_not_open_a_second_incident(env):
    hub = live_hub(env)
    svc = "inc-repeat"
    t0 = time.time()
    post_logs(hub, lines(svc, 20, 20, t0, "rep-burst"))
    first = wait_until(lambda: open_incident(env, svc), 30, what="the incident to trigger")

    # More errors, each chunk more than a second (event time) after the previous one and
    # processed before the next is sent: the breach count is persisted at most once per second
    # per incident.
    chunks = 3
    for k in range(1, chunks + 1):
        post_logs(hub, lines(svc, 10, 10, t0 + 1.5 * k, f"rep-more{k}"))
        wait_until(lambda: agg_totals(env, svc, 60)[0] == 40 + 20 * k, 30, interval=0.1,
                   what=f"chunk {k} processed")
    last_ts = t0 + 1.5 * chunks
    wait_until(lambda: incidents_of(env, svc)[0]["breach_count"] >= 1 + chunks, 30, interval=0.25,
               what=f"breach_count >= {1 + chunks}")
    wait_until(lambda: agg_totals(env, svc, 60)[0] == 40 + 20 * chunks, 30, interval=0.25,
               what="every line processed")
    time.sleep(SETTLE)

    incs = incidents_of(env, svc)
    assert len(incs) == 1, incs
    inc = incs[0]
    assert inc["id"] == first["id"]
    assert inc["status"] == "triggered"
    assert inc["breach_count"] >= 1 + chunks
    assert inc["last_seen"] is not None and inc["last_seen"] >= last_ts - 0.5, (inc, last_ts)
    assert abs(inc["last_value"] - 0.5) <= 0.06, inc["last_value"]
    # Repeats are not timeline entries: the timeline (and the topic) still hold only the
    # trigger, and last_seq is the seq of the latest timeline row.
    assert [r[:4] for r in timeline(env, inc["id"])] == [(1, "triggered", "pending", "triggered")]
    assert inc["last_seq"] == 1, inc
    assert triggered_rows(env, svc) == 1
    msgs = assert_kafka_matches_timeline(env, svc, [inc["id"]])
    assert len(msgs) == 1


def test_kill9_during_burst_and_restart_duplicates_nothing(env):
    a = live_hub(env)
    svc = "inc-crash"
    t0 = time.time()
    chunks = [lines(svc, 10, 10, t0 + 0.5 * k, f"crash{k}") for k in range(6)]
    posted = []
    for c in chunks[:3]:
        posted += post_logs(a, c)
    # A opened the incident (its first chunk alone breaches); kill it right away, likely before
    # it committed the offsets of everything it processed.
    wait_until(lambda: open_incident(env, svc), 30, interval=0.05, what="A triggering the incident")
    a.kill9()

    b = env.hub()  # same group, same database
    for c in chunks[3:]:
        posted += post_logs(b, c)
    wait_until(lambda: logs_stored(env, svc) >= len(posted), 90, interval=0.25,
               what=f"{len(posted)} log rows of {svc}")
    # B processed the rest (its windows were rebuilt by the warm-up, so the 60s aggregates
    # hold every line once).
    wait_until(lambda: agg_totals(env, svc, 60)[:2] == (120, 60), 60, interval=0.25,
               what="B's aggregates of all 120 lines")
    time.sleep(SETTLE)

    stored = [r[0] for r in env.pg.query("select event_id from logs where service = :'v1'", svc)]
    assert len(stored) == len(posted) == 120
    assert sorted(stored) == sorted(posted)
    incs = incidents_of(env, svc)
    assert len(incs) == 1, incs
    assert incs[0]["status"] == "triggered"
    assert [r[:4] for r in timeline(env, incs[0]["id"])] == [(1, "triggered", "pending", "triggered")]
    assert triggered_rows(env, svc) == 1
    assert int(env.pg.scalar("select count(*) from incidents where fingerprint = :'v1'",
                             fingerprint(svc))) == 1
    msgs = assert_kafka_matches_timeline(env, svc, [incs[0]["id"]])
    assert len(msgs) == 1


def assigned(hub):
    text = requests.get(hub.url + "/metrics", timeout=5).text
    m = re.search(r'^rtmon_consumer_assigned_partitions{pipeline="process"} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0


def stored_rows(hub):
    """Raw rows this process's store wrote or skipped (any outcome)."""
    text = requests.get(hub.url + "/metrics", timeout=5).text
    return sum(int(float(v)) for v in re.findall(r"^rtmon_store_rows_total(?:\{[^}]*\})? (\S+)$",
                                                 text, re.M))


def test_two_processes_in_one_group_open_each_incident_once(env):
    # Only the two new members in the group.
    for h in env.hubs:
        h.stop()
    a = env.hub()
    b = env.hub()
    # 4 topics (logs, metrics, events, commands) x 4 partitions between the two members.
    wait_until(lambda: assigned(a) > 0 and assigned(b) > 0 and assigned(a) + assigned(b) == 16,
               timeout=60, what="both members assigned")
    rows_a, rows_b = stored_rows(a), stored_rows(b)

    bad = [f"inc-group-bad-{i}" for i in range(8)]
    good = [f"inc-group-ok-{i}" for i in range(4)]
    t0 = time.time()
    for i, s in enumerate(bad):
        hub = a if i % 2 == 0 else b
        post_logs(hub, lines(s, 15, 15, t0, f"grp1-{s}"))
        post_logs(hub, lines(s, 10, 10, t0 + 1.5, f"grp2-{s}"))
    for i, s in enumerate(good):
        post_logs(b if i % 2 == 0 else a, lines(s, 0, 40, t0, f"grp-{s}"))

    wait_until(lambda: all(open_incident(env, s) for s in bad), 60, interval=0.25,
               what="an incident for every erroring service")
    for s in bad:
        wait_until(lambda: agg_totals(env, s, 60)[:2] == (50, 25), 30, interval=0.25,
                   what=f"every line of {s} processed")
    for s in good:
        wait_until(lambda: agg_totals(env, s, 60)[:2] == (40, 0), 30, interval=0.25,
                   what=f"every line of {s} processed")
    time.sleep(SETTLE)

    opened = {}
    for s in bad:
        incs = incidents_of(env, s)
        assert len(incs) == 1, (s, incs)
        assert incs[0]["status"] == "triggered"
        assert [r[:4] for r in timeline(env, incs[0]["id"])] == [
            (1, "triggered", "pending", "triggered")], s
        assert triggered_rows(env, s) == 1
        opened[s] = incs[0]["id"]
    for s in good:
        assert incidents_of(env, s) == [], s
    # Across the whole module (restarts and rebalances included): never two incidents of one
    # fingerprint, never a transition twice.
    assert env.pg.query(
        "select fingerprint, count(*) from incidents group by 1 having count(*) > 1") == []
    assert env.pg.query(
        "select incident_id, kind, count(*) from incident_events group by 1, 2"
        " having count(*) > 1") == []
    # Both processes did part of the work: each stored raw rows of the posted batches (the
    # services' partitions were split between them).
    for h, before in ((a, rows_a), (b, rows_b)):
        assert stored_rows(h) > before, f"{h.name} stored none of the posted rows"
    # Each transition went to the incidents topic once, although both processes publish the
    # outbox (the table shared by all processes of the group).
    for s in bad:
        assert len(assert_kafka_matches_timeline(env, s, [opened[s]])) == 1, s
