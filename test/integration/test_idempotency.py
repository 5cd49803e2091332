"""event_id is the idempotency key: a batch posted twice (items without ts get a different
receipt time each time) is two messages per id on Kafka but one row per id in Postgres; an
event_id repeated inside one batch is one row."""
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from conftest import wait_until


@pytest.fixture(scope="module")
def hub(env):
    return env.hub()


def store_rows(hub):
    """rtmon_store_rows_total by outcome, from /metrics."""
    text = requests.get(hub.url + "/metrics", timeout=10).text
    out = {"inserted": 0, "duplicate": 0, "dead_letter": 0}
    for m in re.finditer(r'^rtmon_store_rows_total\{outcome="(\w+)"\} (\d+)$', text, re.M):
        out[m.group(1)] = int(m.group(2))
    return out


def wait_store(hub, before, inserted, duplicate):
    """Waits until the store handled exactly `inserted` new and `duplicate` repeated rows since
    `before`: then every message of the test went through the consumer."""
    def done():
        now = store_rows(hub)
        d = {k: now[k] - before[k] for k in now}
        assert d["inserted"] <= inserted and d["duplicate"] <= duplicate, d
        return d == {"inserted": inserted, "duplicate": duplicate, "dead_letter": 0} or None
    wait_until(done, 30, what=f"{inserted} inserted and {duplicate} duplicate rows")


def messages(env, kind, ids):
    out = {}
    for key, value in env.kcat_consume(kind):
        v = json.loads(value)
        if v["event_id"] in ids:
            out.setdefault(v["event_id"], []).append(v)
    return out


def pg_counts(env, table, ids):
    id_list = ",".join(f"'{i}'" for i in ids)
    return dict((k, int(n)) for k, n in env.pg.query(
        f"select event_id, count(*) from {table} where event_id in ({id_list}) group by 1"))


def test_same_batch_posted_twice_is_stored_once(env, hub):
    t = uuid.uuid4().hex[:8]
    old = (datetime.now(timezone.utc) - timedelta(hours=50)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    recent = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    logs = [{"event_id": f"l-{t}-{i}", "service": f"idem-{t}", "message": f"m{i}"} for i in range(6)]
    logs[4]["ts"] = recent
    logs[5]["ts"] = old  # beyond the 24 h dedup horizon: the same ts is what matches
    metrics = [{"event_id": f"m-{t}-{i}", "service": f"idem-{t}", "rps": i, "lat": i / 2}
               for i in range(4)]
    events = [{"event_id": f"e-{t}-{i}", "service": f"idem-{t}", "type": "deploy"} for i in range(3)]
    events[2]["ts"] = recent
    before = store_rows(hub)
    first = [hub.post("/logs", logs), hub.post("/metrics", metrics), hub.post("/events", events)]
    assert [r.status_code for r in first] == [202] * 3, [r.text for r in first]
    # Let the first copy be stored, so the second is a later retry, not part of the same batch.
    wait_store(hub, before, 6 + 8 + 3, 0)
    second = [hub.post("/logs", logs), hub.post("/metrics", metrics), hub.post("/events", events)]
    assert [r.status_code for r in second] == [202] * 3
    assert [r.json()["ids"] for r in first] == [r.json()["ids"] for r in second]
    wait_store(hub, before, 6 + 8 + 3, 6 + 8 + 3)

    for kind, table, items in (("logs", "logs", logs), ("metrics", "metrics", metrics),
                               ("events", "events", events)):
        ids = [x["event_id"] for x in items]
        msgs = messages(env, kind, set(ids))
        assert {k: len(v) for k, v in msgs.items()} == {i: 2 for i in ids}, kind
        for x in items:  # items without ts got two different receipt times
            a, b = (m["ts"] for m in msgs[x["event_id"]])
            assert (a == b) == ("ts" in x), (x, a, b)
        want = {i: 2 for i in ids} if table == "metrics" else {i: 1 for i in ids}
        assert pg_counts(env, table, ids) == want, table
    # The row keeps the first copy's ts.
    l0 = env.pg.scalar(f"select to_char(ts at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
                       f"from logs where event_id = 'l-{t}-0'")
    assert l0 == messages(env, "logs", {f"l-{t}-0"})[f"l-{t}-0"][0]["ts"]


def test_same_event_id_twice_in_one_batch_is_one_row(env, hub):
    t = uuid.uuid4().hex[:8]
    before = store_rows(hub)
    r = hub.post("/logs", [{"event_id": f"d-{t}", "message": "first"},
                           {"event_id": f"d-{t}", "message": "second"},
                           {"event_id": f"d-{t}-other", "message": "third"}])
    assert r.status_code == 202 and r.json() == {"accepted": 3, "ids": [f"d-{t}", f"d-{t}", f"d-{t}-other"]}
    r = hub.post("/metrics", [{"event_id": f"dm-{t}", "name": "cpu", "value": 1},
                              {"event_id": f"dm-{t}", "name": "cpu", "value": 2, "ts":
                               (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()}])
    assert r.status_code == 202, r.text
    r = hub.post("/events", "\n".join(json.dumps({"event_id": f"de-{t}", "type": "x", "n": n})
                                      for n in range(3)), content_type="application/x-ndjson")
    assert r.status_code == 202 and r.json()["ids"] == [f"de-{t}"] * 3
    wait_store(hub, before, 2 + 1 + 1, 1 + 1 + 2)
    assert pg_counts(env, "logs", [f"d-{t}", f"d-{t}-other"]) == {f"d-{t}": 1, f"d-{t}-other": 1}
    assert env.pg.scalar(f"select message from logs where event_id = 'd-{t}'") in ("first", "second")
    assert pg_counts(env, "metrics", [f"dm-{t}"]) == {f"dm-{t}": 1}
    assert pg_counts(env, "events", [f"de-{t}"]) == {f"de-{t}": 1}


def test_retry_to_another_service_partition_is_stored_once(env, hub):
    """The same event_id under two services lands in two Kafka partitions (key = service), so
    two partition actors see it: still one row."""
    t = uuid.uuid4().hex[:8]
    before = store_rows(hub)
    services = [f"svc-{t}-{k}" for k in range(8)]  # 8 keys over 4 partitions: several partitions
    for s in services:
        r = hub.post("/events", {"event_id": f"x-{t}", "type": "retry", "service": s})
        assert r.status_code == 202, r.text
    wait_store(hub, before, 1, 7)
    parts = {json.loads(v)["service"] for k, v in env.kcat_consume("events") if f"x-{t}" in v}
    assert parts == set(services)
    assert pg_counts(env, "events", [f"x-{t}"]) == {f"x-{t}": 1}


def test_a_replay_of_rtmon_assigned_ids_changes_nothing(env):
    """Items without client ids are COPYed straight into the tables; a replay of the same Kafka
    records (here: a second consumer group reading the topics from the start into the same
    database, as after a crash before offsets were committed) collides on the primary key, falls
    back to INSERT ... ON CONFLICT DO NOTHING and adds no row."""
    a = env.hub()
    body = "\n".join(json.dumps({"service": f"replay-{i % 3}", "message": f"m{i}"})
                     for i in range(300))
    r = a.post("/logs", body, content_type="application/x-ndjson")
    assert r.status_code == 202, r.text
    ids = r.json()["ids"]
    wait_until(lambda: env.pg.scalar("select count(*) from logs where service like 'replay-%'")
               == "300", 30, what="300 rows")
    b = env.hub(env={"RTMON_ROLES": "store"}, group=env.group + "-replay")

    def replayed():
        text = requests.get(b.url + "/metrics", timeout=5).text
        m = re.search(r"^rtmon_store_replayed_batches_total (\d+)", text, re.M)
        return m and int(m.group(1)) > 0
    wait_until(replayed, 60, what="the second group to replay the batch")
    # Let the replay finish: the group's lag reaches zero once every record was handled.
    wait_until(lambda: env.pg.scalar("select count(*) from logs where service like 'replay-%'")
               == "300", 10, what="still 300 rows")
    rows = env.pg.query("select event_id, count(*) from logs where service like 'replay-%' "
                        "group by event_id having count(*) > 1")
    assert rows == []
    assert sorted(x[0] for x in env.pg.query(
        "select event_id from logs where service like 'replay-%'")) == sorted(ids)
