"""kill -9 of a hub in the middle of a stream of acknowledged batches: after a second hub (same
consumer group, same database) took over, every acknowledged id is in Postgres exactly once.
Requests in flight at the kill may fail; their ids are not required (but may be stored)."""
import re
import threading
import time

import requests

from conftest import wait_until

BATCH = 25


class Sender(threading.Thread):
    """Streams batches of logs and events with client event_ids to `self.target`, recording
    which ids were acknowledged (202) and which requests failed (connection error, 5xx)."""

    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_ = name
        self.target = None
        self.stop = threading.Event()
        self.acked = {"logs": [], "events": []}
        self.unconfirmed = {"logs": [], "events": []}
        self.acked_by = {}
        self.seq = 0
        self.errors = []
        self.lock = threading.Lock()

    def batch(self, kind):
        ids = [f"{self.name_}-{kind}-{self.seq}-{i}" for i in range(BATCH)]
        self.seq += 1
        if kind == "logs":
            return ids, [{"event_id": x, "service": f"crash-{i % 3}", "message": x} for i, x in enumerate(ids)]
        return ids, [{"event_id": x, "service": f"crash-{i % 3}", "type": "tick"} for i, x in enumerate(ids)]

    def run(self):
        n = 0
        while not self.stop.is_set():
            hub = self.target
            kind = "logs" if n % 2 == 0 else "events"
            n += 1
            ids, items = self.batch(kind)
            try:
                r = hub.post("/" + kind, items, timeout=15)
                ok = r.status_code == 202
                if ok:
                    assert r.json()["ids"] == ids
                else:
                    self.errors.append(f"{r.status_code} {r.text[:200]}")
            except requests.RequestException as e:
                ok = False
                self.errors.append(repr(e)[:200])
            with self.lock:
                (self.acked if ok else self.unconfirmed)[kind].extend(ids)
                if ok:
                    self.acked_by[hub.name] = self.acked_by.get(hub.name, 0) + len(ids)
            if not ok:
                time.sleep(0.05)


def count_acked(sender, hub_name):
    with sender.lock:
        return sender.acked_by.get(hub_name, 0)


def test_kill9_mid_stream_loses_and_duplicates_nothing(env):
    a = env.hub()
    sender = Sender("cr")
    sender.target = a
    sender.start()
    try:
        # Stream to A for a while (and let A's consumer store part of it), then kill it.
        wait_until(lambda: count_acked(sender, a.name) >= 1500, 30, what="1500 ids acked by A")
        wait_until(lambda: int(env.pg.scalar("select count(*) from logs")) >= 600, 30,
                   what="A storing 600 log rows")
        a.kill9()
        acked_by_a = count_acked(sender, a.name)
        b = env.hub()  # same group, same database
        sender.target = b
        wait_until(lambda: count_acked(sender, b.name) >= 1500, 60, what="1500 ids acked by B")
    finally:
        sender.stop.set()
        sender.join(30)
    assert not sender.is_alive()
    assert acked_by_a >= 1500

    acked = {k: set(v) for k, v in sender.acked.items()}
    unconfirmed = {k: set(v) for k, v in sender.unconfirmed.items()}
    for kind in ("logs", "events"):
        assert len(acked[kind]) == len(sender.acked[kind]), "an id was acked twice"

    def stored(table):
        return [r[0] for r in env.pg.query(f"select event_id from {table}")]

    # Sentinels behind everything on every partition the stream used (same keys): once they are
    # stored, B has consumed the whole stream, including any replayed tail.
    sentinels = {"logs": [f"sentinel-log-{i}" for i in range(3)],
                 "events": [f"sentinel-event-{i}" for i in range(3)]}
    r = b.post("/logs", [{"event_id": x, "service": f"crash-{i}", "message": "end"}
                         for i, x in enumerate(sentinels["logs"])])
    assert r.status_code == 202, r.text
    r = b.post("/events", [{"event_id": x, "service": f"crash-{i}", "type": "end"}
                           for i, x in enumerate(sentinels["events"])])
    assert r.status_code == 202, r.text
    for k in ("logs", "events"):
        acked[k] |= set(sentinels[k])
    wait_until(lambda: all(set(sentinels[k]) <= set(stored(k)) for k in ("logs", "events")),
               90, interval=0.5, what="the sentinels behind the stream in Postgres")

    for table in ("logs", "events"):
        dups = env.pg.query(f"select event_id, count(*) from {table} group by 1 having count(*) > 1")
        assert dups == [], f"duplicate rows in {table}: {dups[:10]}"
        rows = set(stored(table))
        assert acked[table] <= rows, f"{len(acked[table] - rows)} acknowledged ids missing"
        extra = rows - acked[table]
        assert extra <= unconfirmed[table], f"rows nobody sent: {sorted(extra - unconfirmed[table])[:10]}"
    assert env.pg.scalar("select count(*) from dead_letters") == "0"
    replayed = re.search(r'^rtmon_store_rows_total\{outcome="duplicate"\} (\d+)$',
                         requests.get(b.url + "/metrics", timeout=10).text, re.M)
    print(f"B skipped {replayed.group(1) if replayed else 0} replayed rows; acked by A {acked_by_a}, total acked {sum(map(len, acked.values()))}, "
          f"unconfirmed {sum(map(len, unconfirmed.values()))}, errors {sender.errors[:5]}")
