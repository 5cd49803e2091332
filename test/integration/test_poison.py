"""Records produced straight into rtmon's topics with kcat (same key, so the same partition as
valid data): each undecodable one becomes a dead_letters row with its topic, partition and
offset, the valid records around it are stored, and the partition keeps moving."""
import json
import re
import subprocess
import uuid
from datetime import datetime, timezone

import pytest
import requests

from conftest import KAFKA, wait_until


@pytest.fixture(scope="module")
def hub(env):
    return env.hub()


def now_z():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def produce(topic, key, values):
    """Produces `values` (bytes, one message each) with key `key` via kcat."""
    data = b"".join(key.encode() + b"\t" + v + b"\n" for v in values)
    out = subprocess.run(["kcat", "-P", "-b", KAFKA, "-t", topic, "-K", "\t"], input=data,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr


def coordinates(topic, key):
    """(partition, offset, value bytes) of every message of `topic` with key `key`, in order."""
    out = subprocess.run(["kcat", "-C", "-b", KAFKA, "-t", topic, "-o", "beginning", "-e", "-q",
                          "-f", "%p\t%o\t%k\t%S\t%s\n"], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows, buf = [], out.stdout
    while buf:
        p, o, k, size, rest = buf.split(b"\t", 4)
        n = int(size) if int(size) >= 0 else 0
        value, buf = rest[:n], rest[n + 1:]
        if k.decode() == key:
            rows.append((int(p), int(o), value))
    return rows


def log_record(event_id, service, message="valid"):
    return json.dumps({"event_id": event_id, "ts": now_z(), "service": service, "level": "info",
                       "message": message, "attrs": {"via": "kcat"}}).encode()


def store_rows(hub, outcome):
    m = re.search(r'^rtmon_store_rows_total\{outcome="%s"\} (\d+)$' % outcome,
                  requests.get(hub.url + "/metrics", timeout=10).text, re.M)
    return int(m.group(1)) if m else 0


def test_bad_records_become_dead_letters_and_the_partition_moves_on(env, hub):
    t = uuid.uuid4().hex[:8]
    svc = f"poison-{t}"
    topic = env.topic("logs")
    ts = now_z()
    records = [  # (value, expected dead-letter reason fragment or None for a valid record)
        (log_record(f"{t}-v1", svc), None),
        (b'{"event_id": "not json', "malformed JSON"),
        (log_record(f"{t}-v2", svc), None),
        (json.dumps({"event_id": f"{t}-nul", "ts": ts, "service": svc, "level": "info",
                     "message": "a\u0000b", "attrs": {}}).encode(), "NUL"),
        (log_record(f"{t}-v3", svc), None),
        (json.dumps({"ts": ts, "service": svc, "level": "info", "message": "no id",
                     "attrs": {}}).encode(), "event_id"),
        (log_record(f"{t}-v4", svc), None),
        (b'{"event_id": "' + t.encode() + b'-utf8", "ts": "' + ts.encode() +
         b'", "service": "x", "level": "info", "message": "\xff\xfe bad utf-8", "attrs": {}}', "malformed JSON"),
        (log_record(f"{t}-v5", svc), None),
        (b"[1, 2, 3]", "not a JSON object"),
        (json.dumps({"event_id": f"{t}-num", "ts": ts, "service": svc, "level": "info",
                     "message": 5, "attrs": {}}).encode(), "message"),
        (json.dumps({"event_id": f"{t}-attrs", "ts": ts, "service": svc, "level": "info",
                     "message": "m", "attrs": [1]}).encode(), "attrs"),
        (json.dumps({"event_id": f"{t}-nulkey", "ts": ts, "service": svc, "level": "info",
                     "message": "m", "attrs": {"k\u0000": 1}}).encode(), "NUL"),
        (log_record(f"{t}-v6", svc), None),
    ]
    produce(topic, svc, [v for v, _ in records])
    coords = coordinates(topic, svc)
    assert [c[2] for c in coords] == [v for v, _ in records]
    [partition] = {c[0] for c in coords}
    offsets = [c[1] for c in coords]
    assert offsets == list(range(offsets[0], offsets[0] + len(records)))
    bad = {offsets[i]: (v, why) for i, (v, why) in enumerate(records) if why is not None}
    valid = sorted(f"{t}-v{i}" for i in range(1, 7))

    wait_until(lambda: int(env.pg.scalar("select count(*) from dead_letters")) >= len(bad)
               and len(env.pg.query(f"select 1 from logs where service = '{svc}'")) >= len(valid),
               30, what="the dead letters and the valid rows")
    assert sorted(r[0] for r in env.pg.query(f"select event_id from logs where service = '{svc}'")) == valid
    assert env.pg.query("select attrs->>'via' from logs where event_id = :'v1'", f"{t}-v3") == [["kcat"]]
    rows = env.pg.query("select topic, kafka_partition, kafka_offset, error, payload from dead_letters "
                        "order by kafka_offset")
    assert [(r[0], int(r[1]), int(r[2])) for r in rows] == [(topic, partition, o) for o in sorted(bad)]
    for r in rows:
        value, why = bad[int(r[2])]
        assert why in r[3], (why, r[3])
        # The payload is kept, with invalid UTF-8 replaced so the row itself is storable.
        assert r[4] == value.decode("utf-8", errors="replace").replace("\ufffd", "?"), r[4]
    assert store_rows(hub, "dead_letter") == len(bad)

    # The partition keeps moving: a valid item through the edge, same key, lands after them.
    r = hub.post("/logs", {"event_id": f"{t}-edge", "service": svc, "message": "after the poison"})
    assert r.status_code == 202, r.text
    wait_until(lambda: env.pg.query("select message from logs where event_id = :'v1'", f"{t}-edge")
               == [["after the poison"]], 30, what="the edge's row after the poison")
    assert coordinates(topic, svc)[-1][:2] == (partition, offsets[-1] + 1)


def test_poison_in_metrics_and_events_topics(env, hub):
    t = uuid.uuid4().hex[:8]
    svc = f"pm-{t}"
    ts = now_z()
    metric = {"event_id": f"{t}-m", "ts": ts, "service": svc, "samples": [{"name": "rps", "value": 3.0}],
              "tags": {}}
    produce(env.topic("metrics"), svc, [
        json.dumps(metric).encode(),
        json.dumps(dict(metric, event_id=f"{t}-nosamples", samples=[])).encode(),
        json.dumps(dict(metric, event_id=f"{t}-strvalue", samples=[{"name": "a", "value": 1},
                                                                  {"name": "b", "value": "2"}])).encode(),
        json.dumps(dict(metric, event_id=f"{t}-m2")).encode(),
    ])
    event = {"event_id": f"{t}-e", "ts": ts, "service": svc, "type": "deploy", "attrs": {}}
    produce(env.topic("events"), svc, [
        json.dumps({k: v for k, v in event.items() if k != "type"}).encode(),
        json.dumps(event).encode(),
    ])
    wait_until(lambda: int(env.pg.scalar(
        f"select count(*) from dead_letters where topic in ('{env.topic('metrics')}', '{env.topic('events')}')")) == 3
               and env.pg.scalar(f"select count(*) from metrics where service = '{svc}'") == "2"
               and env.pg.scalar(f"select count(*) from events where service = '{svc}'") == "1",
               30, what="metric/event dead letters and rows")
    # A metric whose second sample is bad leaves no partial rows behind.
    assert env.pg.query(f"select event_id from metrics where service = '{svc}' order by 1") == [[f"{t}-m"], [f"{t}-m2"]]


def test_replay_by_a_new_group_adds_no_dead_letter_or_row_twice(env, hub):
    """Another consumer group on the same database re-reads every topic from the start."""
    counts = lambda: [env.pg.scalar(f"select count(*) from {t}") for t in ("logs", "metrics", "events", "dead_letters")]
    before = counts()
    other = env.hub(group=f"{env.group}-replay")
    try:
        wait_until(lambda: store_rows(other, "duplicate") + store_rows(other, "dead_letter")
                   >= sum(int(x) for x in before), 30, what="the replay")
        assert store_rows(other, "inserted") == 0
        assert counts() == before
    finally:
        other.stop()


def test_record_that_decodes_but_postgres_refuses_is_dead_lettered(env, hub):
    """A record with a ts Postgres cannot parse passes decode() (it only checks that ts is a
    string) and then fails the whole store transaction, forever: it must become a dead letter
    like any other undecodable record, and the partition must keep moving."""
    t = uuid.uuid4().hex[:8]
    svc = f"badts-{t}"
    topic = env.topic("logs")
    produce(topic, svc, [
        json.dumps({"event_id": f"{t}-badts", "ts": "not-a-time", "service": svc, "level": "info",
                    "message": "m", "attrs": {}}).encode(),
        log_record(f"{t}-after", svc),
    ])
    offset = coordinates(topic, svc)[0][1]
    wait_until(lambda: env.pg.query("select 1 from logs where event_id = :'v1'", f"{t}-after"), 30,
               what="the valid record behind the bad ts")
    assert env.pg.query("select kafka_offset from dead_letters where topic = :'v1' and payload like :'v2'",
                        topic, f"%{t}-badts%") == [[str(offset)]]


def test_values_postgres_or_its_indexes_would_refuse_are_dead_lettered(env, hub):
    """Records that parse but carry values Postgres refuses (a year-0001 ts before the epoch, an
    indexed field beyond the btree row limit, a non-canonical level, a bad event_id) must not
    stall the partition's writer: each becomes a dead letter and valid records behind them,
    grouped into the same transaction, are stored."""
    t = uuid.uuid4().hex[:8]
    svc = f"refuse-{t}"
    topic = env.topic("logs")
    def rec(eid, **over):
        base = {"event_id": eid, "ts": now_z(), "service": svc, "level": "info", "message": "m",
                "attrs": {}}
        base.update(over)
        return json.dumps(base).encode()
    bad = [
        rec(f"{t}-year1", ts="0001-01-01T00:00:00+01:00"),
        rec(f"{t}-bigsvc", service="s" * 5000),
        rec(f"{t}-level", level="LOUD"),
        rec("x" * 300),
        rec(f"{t}-host", host="h" * 5000),
    ]
    produce(topic, svc, bad + [log_record(f"{t}-after-{i}", svc) for i in range(3)])
    wait_until(lambda: len(env.pg.query("select 1 from logs where event_id like :'v1'",
                                        f"{t}-after-%")) == 3, 30,
               what="the valid records behind the refused ones")
    part, first, _ = coordinates(topic, svc)[0]
    dead = env.pg.scalar("select count(*) from dead_letters where topic = :'v1' and "
                         "kafka_partition = :v2 and kafka_offset >= :v3", topic, part, first)
    assert int(dead) == len(bad)
