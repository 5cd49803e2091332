"""Two rtmon processes in one consumer group split the partitions (of both pipelines: processing
and raw store); every event is stored once, also across a rebalance when one of them leaves."""
import re

import requests

from conftest import wait_until


def assigned(hub, pipeline="process"):
    text = requests.get(hub.url + "/metrics", timeout=5).text
    m = re.search(rf'^rtmon_consumer_assigned_partitions{{pipeline="{pipeline}"}} (\d+)', text,
                  re.M)
    return int(m.group(1)) if m else 0


def post_events(hub, start, n):
    body = [{"event_id": f"ev-{i}", "service": f"svc-{i % 16}", "type": "tick"}
            for i in range(start, start + n)]
    r = hub.post("/events", body)
    assert r.status_code == 202, r.text
    return r.json()["ids"]


def test_two_processes_split_partitions_and_store_each_event_once(env):
    a = env.hub()
    b = env.hub(env={"RTMON_ROLES": "process,store"})
    # 4 topics (logs, metrics, events, commands) x 4 partitions between two members of the group.
    wait_until(lambda: assigned(a) > 0 and assigned(b) > 0 and assigned(a) + assigned(b) == 16,
               timeout=60, what="both members assigned")
    # The raw store's group: 3 topics (no commands) x 4 partitions.
    wait_until(lambda: assigned(a, "store") > 0 and assigned(b, "store") > 0
               and assigned(a, "store") + assigned(b, "store") == 12,
               timeout=60, what="both members of the store group assigned")
    ids = post_events(a, 0, 400)
    wait_until(lambda: env.pg.scalar("select count(*) from events") == "400", timeout=60,
               what="400 rows")
    # Both processes wrote rows (the 16 services spread over all 4 partitions).
    dup = env.pg.query("select event_id from events group by event_id having count(*) > 1")
    assert dup == []
    assert sorted(r[0] for r in env.pg.query("select event_id from events")) == sorted(ids)

    # B leaves: its partitions move to A, nothing is lost or doubled.
    assert b.stop() == 0
    wait_until(lambda: assigned(a) == 16 and assigned(a, "store") == 12, timeout=60,
               what="A owns every partition")
    ids += post_events(a, 400, 200)
    wait_until(lambda: env.pg.scalar("select count(*) from events") == "600", timeout=60,
               what="600 rows")
    assert env.pg.query("select event_id from events group by event_id having count(*) > 1") == []
