"""The process role runs two consumer groups (system/kafka/consumer.hpp): processing (windows,
rules, incidents) and the raw-row store. Alerting must not wait for raw rows: with the `logs`
table locked, so no raw row can be written, an error burst still opens its incident; once the
lock goes, every raw row arrives exactly once. A kill -9 while the store is held back loses and
doubles nothing in either pipeline."""
import subprocess
import time

from conftest import wait_until
from test_incidents import RULE, incidents_of, lines, post_logs, timeline


class TableLock:
    """Holds ACCESS EXCLUSIVE on a table in an open transaction of its own psql session."""

    def __init__(self, pg, table):
        self.proc = subprocess.Popen(
            ["psql", pg.url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdin.write(f"begin; lock table {table} in access exclusive mode;"
                              " select 'locked';\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("commit;\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def waiting_for_lock(pg, table):
    """Backends of this database waiting for a lock on `table` (the store's COPY)."""
    return int(pg.scalar(
        "select count(*) from pg_locks l join pg_class c on c.oid = l.relation"
        " where not l.granted and c.relname = :'v1'", table))


def burst_and_trigger(env, hub, svc, tag):
    """An error burst of `svc`; returns its ids once its incident is triggered."""
    ids = post_logs(hub, lines(svc, 10, 30, time.time(), tag))
    wait_until(lambda: any(i["status"] == "triggered" for i in incidents_of(env, svc)),
               timeout=30, what="incident triggered while logs is locked")
    return ids


def wait_rows(env, svc, n, what):
    wait_until(lambda: env.pg.scalar(
        "select count(*) from logs where service = :'v1'", svc) == str(n), timeout=90, what=what)


def test_incident_opens_while_raw_rows_cannot_be_written(env):
    hub = env.hub()
    svc = "pipe-lock"
    lock = TableLock(env.pg, "logs")
    try:
        ids = burst_and_trigger(env, hub, svc, "lk")
        # The store really was held back: its transaction waits for the lock.
        wait_until(lambda: waiting_for_lock(env.pg, "logs") > 0, timeout=30,
                   what="the store's write waiting for the lock")
        [inc] = incidents_of(env, svc)
        assert inc["rule"] == RULE and inc["severity"] == "critical"
        assert [t[3] for t in timeline(env, inc["id"])] == ["triggered"]
    finally:
        lock.release()
    wait_rows(env, svc, len(ids), "the raw rows after the lock went")
    assert sorted(r[0] for r in env.pg.query(
        "select event_id from logs where service = :'v1'", svc)) == sorted(ids)


def test_kill9_with_the_store_behind_loses_and_doubles_nothing(env):
    svc, hub = "pipe-kill", env.hub()
    lock = TableLock(env.pg, "logs")
    try:
        ids = burst_and_trigger(env, hub, svc, "kl")
        # Processing committed its offsets after the incident; the store group has none past
        # the burst. Killed now, the restart must store every row and re-open nothing.
        time.sleep(1.5)  # > auto.commit.interval.ms: the processing offsets reach the broker
        hub.kill9()
    finally:
        lock.release()
    hub.start()
    wait_rows(env, svc, len(ids), "the raw rows after the restart")
    assert env.pg.query("select event_id from logs where service = :'v1'"
                        " group by event_id having count(*) > 1", svc) == []
    time.sleep(2.5)  # anything the restart wrongly re-applies shows up by now
    [inc] = incidents_of(env, svc)
    assert inc["status"] == "triggered"
    assert [t[3] for t in timeline(env, inc["id"])] == ["triggered"]
