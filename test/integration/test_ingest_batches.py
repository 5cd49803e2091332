"""Batches of all three kinds (JSON array, NDJSON, the {"value": ...} envelope) through the edge,
Kafka and the consumer into Postgres: exact row counts, the returned ids are the event_ids on
the topic (keyed by service) and in the tables, client event_ids are kept, ?service= is the
default service, timestamps are normalized to UTC and levels to their canonical names."""
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from conftest import wait_until

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
PG_TS = "to_char(ts at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


@pytest.fixture(scope="module")
def hub(env):
    return env.hub()


def tag():
    return uuid.uuid4().hex[:8]


def iso_z(t):
    """A UTC datetime as the edge formats it: 2026-11-23T21:51:15.123456Z."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def topic_messages(env, kind, ids):
    """The messages of a topic whose event_id is in `ids`, as {event_id: [(key, value), ...]}."""
    out = {}
    for key, value in env.kcat_consume(kind):
        v = json.loads(value)
        if v.get("event_id") in ids:
            out.setdefault(v["event_id"], []).append((key, v))
    return out


def wait_rows(env, sql, n, what):
    """Polls until `sql` (a count) reaches n; fails at once if it overshoots."""
    def done():
        c = int(env.pg.scalar(sql))
        assert c <= n, f"{what}: {c} rows, more than the {n} expected"
        return c == n
    wait_until(done, 30, what=what)


LEVELS = [  # (sent, stored)
    ("info", "info"), ("WARNING", "warn"), ("Err", "error"), ("critical", "fatal"),
    ("information", "info"), ("TRACE", "trace"), ("debug", "debug"), ("notice", "info"),
    ("emerg", "fatal"), ("panic", "fatal"), ("warn", "warn"), (None, "info"),
]


def test_ndjson_logs_batch(env, hub):
    t = tag()
    services = [f"b-{t}-{k}" for k in "abcde"]
    items, expected = [], []
    for i in range(50):
        sent, stored = LEVELS[i % len(LEVELS)]
        svc = services[i % 5]
        item = {"service": svc}
        if i % 3 == 0:
            item["msg"] = f"line {i}"
        else:
            item["message"] = f"line {i}"
        if sent is not None:
            item["severity" if i % 7 == 0 else "level"] = sent
        if i % 4 == 0:
            item["host"] = f"host-{i}"
        if i % 5 == 0:
            item["event_id"] = f"client-{t}-{i}"
        if i % 6 == 0:
            item["attrs"] = {"n": i, "nested": {"ok": True}}
            item["user"] = "alice"  # unknown fields join attrs
        body_item = {"value": item} if i % 10 == 9 else item
        items.append(json.dumps(body_item))
        attrs = dict(item.get("attrs", {}))
        if "user" in item:
            attrs["user"] = "alice"
        expected.append((svc, item.get("host"), stored, f"line {i}", attrs))
    r = hub.post("/logs", "\n".join(items) + "\n", content_type="application/x-ndjson")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["accepted"] == 50 and len(body["ids"]) == 50
    ids = body["ids"]
    assert len(set(ids)) == 50
    for i, id_ in enumerate(ids):
        if i % 5 == 0:
            assert id_ == f"client-{t}-{i}"
        else:
            assert UUID7.match(id_), id_

    # Kafka: exactly one message per id, keyed by the item's service.
    msgs = topic_messages(env, "logs", set(ids))
    assert sorted(msgs) == sorted(ids)
    for i, id_ in enumerate(ids):
        assert len(msgs[id_]) == 1
        key, v = msgs[id_][0]
        svc, host, level, message, attrs = expected[i]
        assert key == svc and v["service"] == svc
        assert v["level"] == level and v["message"] == message and v.get("host") == host

    # Postgres: exactly these 50 rows.
    where = f"service like 'b-{t}-%'"
    wait_rows(env, f"select count(*) from logs where {where}", 50, "50 log rows")
    rows = env.pg.query(f"select event_id, service, coalesce(host, '-'), level, message, attrs::text "
                        f"from logs where {where}")
    got = {r[0]: r[1:] for r in rows}
    assert sorted(got) == sorted(ids)
    for i, id_ in enumerate(ids):
        svc, host, level, message, attrs = expected[i]
        assert got[id_][:4] == [svc, host or "-", level, message], (i, got[id_])
        assert json.loads(got[id_][4]) == attrs, (i, got[id_][4])


def test_json_array_metrics_two_samples_each(env, hub):
    t = tag()
    svc = f"m-{t}"
    items, expected = [], {}  # expected[(item index, name)] = (value, tags)
    for i in range(30):
        if i < 10:  # a bag of fields; status_code is a tag although numeric
            item = {"response_time": 100 + i, "bytes": i * 10, "endpoint": "/api/users",
                    "status_code": 200}
            expected[(i, "response_time")] = (100.0 + i, {"endpoint": "/api/users", "status_code": "200"})
            expected[(i, "bytes")] = (i * 10.0, {"endpoint": "/api/users", "status_code": "200"})
        elif i < 20:  # explicit name/value, mixed with a bag field
            item = {"name": "cpu", "value": i / 4, "tags": {"host": f"h{i}", "core": 1}, "mem": 42.5}
            expected[(i, "cpu")] = (i / 4, {"host": f"h{i}", "core": "1"})
            expected[(i, "mem")] = (42.5, {"host": f"h{i}", "core": "1"})
        else:  # the seed's envelope; booleans and port are tags
            item = {"value": {"lat_ms": 1.5 * i, "errors": 0, "ok": True, "port": 8080,
                              "service": svc}}
            expected[(i, "lat_ms")] = (1.5 * i, {"ok": "true", "port": "8080"})
            expected[(i, "errors")] = (0.0, {"ok": "true", "port": "8080"})
        if i < 20:
            item["service"] = svc
        items.append(item)
    r = hub.post("/metrics", items)
    assert r.status_code == 202, r.text
    ids = r.json()["ids"]
    assert r.json()["accepted"] == 30 and len(ids) == 30 and len(set(ids)) == 30

    msgs = topic_messages(env, "metrics", set(ids))
    assert sorted(msgs) == sorted(ids)
    for i, id_ in enumerate(ids):
        [(key, v)] = msgs[id_]
        assert key == svc
        assert sorted(s["name"] for s in v["samples"]) == sorted(n for (j, n) in expected if j == i)

    wait_rows(env, f"select count(*) from metrics where service = '{svc}'", 60, "60 metric rows")
    rows = env.pg.query(f"select event_id, name, value, tags::text from metrics where service = '{svc}'")
    assert len(rows) == 60
    index = {id_: i for i, id_ in enumerate(ids)}
    got = {(index[r[0]], r[1]): (float(r[2]), json.loads(r[3])) for r in rows}
    assert got == expected


def test_json_array_events(env, hub):
    t = tag()
    svc = f"e-{t}"
    items = []
    for i in range(20):
        item = {"type": "deploy" if i % 2 else "restart", "service": svc, "version": f"1.{i}",
                "attrs": {"by": "ci"}}
        if i % 4 == 0:
            item["event_id"] = f"ev-{t}-{i}"
        items.append(item)
    r = hub.post("/events", items)
    assert r.status_code == 202, r.text
    ids = r.json()["ids"]
    assert r.json()["accepted"] == 20 and len(set(ids)) == 20
    assert [ids[i] for i in range(0, 20, 4)] == [f"ev-{t}-{i}" for i in range(0, 20, 4)]

    msgs = topic_messages(env, "events", set(ids))
    assert sorted(msgs) == sorted(ids) and all(len(m) == 1 and m[0][0] == svc for m in msgs.values())

    wait_rows(env, f"select count(*) from events where service = '{svc}'", 20, "20 event rows")
    rows = env.pg.query(f"select event_id, type, attrs::text from events where service = '{svc}'")
    got = {r[0]: (r[1], json.loads(r[2])) for r in rows}
    assert got == {id_: ("deploy" if i % 2 else "restart", {"by": "ci", "version": f"1.{i}"})
                   for i, id_ in enumerate(ids)}


def test_service_query_param_is_the_default(env, hub):
    t = tag()
    q = f"q-{t}"
    explicit = f"x-{t}"
    # application/json with one object per line (NDJSON fallback), and a charset parameter.
    body = "\n".join(json.dumps(x) for x in [
        {"message": "no service 1"}, {"message": "own service", "service": explicit},
        {"message": "no service 2"}])
    r = hub.post(f"/logs?service={q}", body, content_type="application/json; charset=utf-8")
    assert r.status_code == 202, r.text
    log_ids = r.json()["ids"]
    r = hub.post(f"/metrics?service={q}", [{"rps": 5}, {"rps": 6, "service": explicit}])
    assert r.status_code == 202, r.text
    metric_ids = r.json()["ids"]
    r = hub.post(f"/events?service={q}", {"type": "deploy"})
    assert r.status_code == 202, r.text
    event_ids = r.json()["ids"]
    # Without ?service= and without a service field: "unknown".
    r = hub.post("/events", {"type": "unknown-svc", "event_id": f"unk-{t}"})
    assert r.status_code == 202 and r.json()["ids"] == [f"unk-{t}"]

    want_logs = dict(zip(log_ids, [q, explicit, q]))
    want_metrics = dict(zip(metric_ids, [q, explicit]))
    want_events = {event_ids[0]: q, f"unk-{t}": "unknown"}
    for kind, want in (("logs", want_logs), ("metrics", want_metrics), ("events", want_events)):
        msgs = topic_messages(env, kind, set(want))
        assert {k: [m[0] for m in v] for k, v in msgs.items()} == {k: [s] for k, s in want.items()}
        assert all(v[0][1]["service"] == want[k] for k, v in msgs.items())
        ids_sql = ",".join(f"'{i}'" for i in want)
        wait_rows(env, f"select count(*) from {kind} where event_id in ({ids_sql})", len(want),
                  f"{kind} rows")
        rows = env.pg.query(f"select event_id, service from {kind} where event_id in ({ids_sql})")
        assert dict(rows) == want


def test_rfc3339_timestamps_are_stored_in_utc(env, hub):
    t = tag()
    svc = f"ts-{t}"
    base = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    plus2 = timezone(timedelta(hours=2))
    minus530 = timezone(-timedelta(hours=5, minutes=30))
    cases = {  # event_id suffix: (item fields, expected UTC)
        "z": ({"ts": base.strftime("%Y-%m-%dT%H:%M:%SZ")}, base),
        "plus2": ({"ts": base.astimezone(plus2).strftime("%Y-%m-%dT%H:%M:%S+02:00")}, base),
        "minus530": ({"ts": base.astimezone(minus530).strftime("%Y-%m-%dT%H:%M:%S.250-05:30")},
                     base + timedelta(milliseconds=250)),
        "nanos": ({"ts": base.strftime("%Y-%m-%dT%H:%M:%S.123456789Z")},
                  base + timedelta(microseconds=123456)),
        "lower_t": ({"timestamp": base.strftime("%Y-%m-%dt%H:%M:%S.5z")},
                    base + timedelta(milliseconds=500)),
        "epoch_s": ({"ts": int(base.timestamp())}, base),
        "epoch_s_frac": ({"ts": base.timestamp() + 0.5}, base + timedelta(milliseconds=500)),
    }
    items = [{"event_id": f"{svc}-{k}", "service": svc, "message": k, **fields}
             for k, (fields, _) in cases.items()]
    items.append({"event_id": f"{svc}-now", "service": svc, "message": "receipt time"})
    before = datetime.now(timezone.utc)
    r = hub.post("/logs", items)
    after = datetime.now(timezone.utc)
    assert r.status_code == 202, r.text
    want = {f"{svc}-{k}": iso_z(exp) for k, (_, exp) in cases.items()}

    msgs = topic_messages(env, "logs", set(want) | {f"{svc}-now"})
    assert {k: v[0][1]["ts"] for k, v in msgs.items() if k in want} == want
    now_ts = datetime.strptime(msgs[f"{svc}-now"][0][1]["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc)
    assert before - timedelta(seconds=1) <= now_ts <= after + timedelta(seconds=1)

    wait_rows(env, f"select count(*) from logs where service = '{svc}'", len(items), "ts rows")
    rows = dict(env.pg.query(f"select event_id, {PG_TS} from logs where service = '{svc}'"))
    assert {k: v for k, v in rows.items() if k in want} == want
    assert rows[f"{svc}-now"] == iso_z(now_ts)


def rounding_victim(base, unit):
    """An epoch number in `unit` (1e3: ms, 1e6: us) close to `base` whose exact instant has no
    exact double in nanoseconds below it, so converting through double nanoseconds lands just
    before it (e.g. 1795471788873 ms -> ...872999936 ns)."""
    scale = {1e3: 10**6, 1e6: 10**3}[unit]
    n = int(base.timestamp() * unit)
    while int(float(n) * (1e9 / unit)) >= n * scale:
        n += 1
    return n


def test_epoch_millis_and_micros_are_exact(env, hub):
    """Epoch ms and us are exact instants: 1795471788873 ms is .873000, not .872999."""
    t = tag()
    svc = f"ep-{t}"
    base = datetime.now(timezone.utc) - timedelta(hours=2)
    ms = rounding_victim(base, 1e3)
    us = rounding_victim(base, 1e6)
    want = {
        f"{svc}-ms": iso_z(datetime.fromtimestamp(ms // 1000, timezone.utc)
                           + timedelta(milliseconds=ms % 1000)),
        f"{svc}-us": iso_z(datetime.fromtimestamp(us // 10**6, timezone.utc)
                           + timedelta(microseconds=us % 10**6)),
        f"{svc}-ms-half": iso_z(datetime.fromtimestamp(ms // 1000, timezone.utc)
                                + timedelta(milliseconds=500)),
    }
    items = [{"event_id": f"{svc}-ms", "service": svc, "message": "ms", "ts": ms},
             {"event_id": f"{svc}-us", "service": svc, "message": "us", "ts": us},
             {"event_id": f"{svc}-ms-half", "service": svc, "message": "ms",
              "ts": ms // 1000 * 1000 + 500}]
    r = hub.post("/logs", items)
    assert r.status_code == 202, r.text
    msgs = topic_messages(env, "logs", set(want))
    assert {k: v[0][1]["ts"] for k, v in msgs.items()} == want
    wait_rows(env, f"select count(*) from logs where service = '{svc}'", 3, "epoch rows")
    assert dict(env.pg.query(f"select event_id, {PG_TS} from logs where service = '{svc}'")) == want
