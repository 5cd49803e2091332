"""The test broker goes away: ingest answers 503 with Retry-After (never a 202 it cannot keep),
/readyz turns 503; the broker comes back on the same data dir: ingest resumes on its own and
everything acknowledged, before and after the outage, reaches Postgres."""
import os
import subprocess
import threading
import time

import requests

from conftest import ROOT, wait_until

KAFKA_ENV = {
    **os.environ,
    "KAFKA_PORT": os.environ.get("TEST_KAFKA_PORT", "29092"),
    "KAFKA_CONTROLLER_PORT": os.environ.get("TEST_KAFKA_CONTROLLER_PORT", "29093"),
    "KAFKA_DIR": os.path.join(os.environ.get("RTMON_STATE_DIR", str(ROOT / ".rtmon")),
                              "test-stack", "kafka"),
}


def kafka(cmd):
    out = subprocess.run(["bash", str(ROOT / "infra" / "kafka.sh"), cmd], env=KAFKA_ENV,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, f"kafka.sh {cmd}: {out.stdout}\n{out.stderr}"


def post_logs(hub, tag, n=5, timeout=30):
    ids = [f"{tag}-{i}" for i in range(n)]
    r = hub.post("/logs", [{"event_id": x, "service": f"out-{i % 4}", "message": x}
                           for i, x in enumerate(ids)], timeout=timeout)
    return r, ids


class Background(threading.Thread):
    """Posts small batches back to back through the whole outage: every answer must be a 202
    or a 503 within the produce timeout (10 s) plus slack; every 202 must reach Postgres."""

    def __init__(self, hub):
        super().__init__(daemon=True)
        self.hub, self.stop, self.acked, self.answers = hub, threading.Event(), set(), []

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            t0 = time.monotonic()
            try:
                r, ids = post_logs(self.hub, f"bg-{n}", n=3, timeout=20)
                self.answers.append((r.status_code, time.monotonic() - t0, r.text[:200]))
                if r.status_code == 202:
                    self.acked |= set(ids)
                elif r.status_code == 503:
                    time.sleep(0.1)
            except requests.RequestException as e:
                self.answers.append((None, time.monotonic() - t0, repr(e)[:200]))


def stored_ids(env):
    return {r[0] for r in env.pg.query("select event_id from logs")}


def test_broker_outage_gives_503_and_ingest_resumes(env):
    hub = env.hub()
    acked = set()
    r, ids = post_logs(hub, "before")
    assert r.status_code == 202, r.text
    acked |= set(ids)
    wait_until(lambda: acked <= stored_ids(env), 30, what="the rows sent before the outage")

    seq = 0
    bg = Background(hub)
    bg.start()
    try:
        wait_until(lambda: len(bg.acked) >= 30, 30, what="the background sender going")
        t_stop = time.monotonic()
        kafka("stop")
        stopped = time.monotonic()
        print(f"kafka.sh stop took {stopped - t_stop:.1f}s")

        def refused():
            nonlocal seq
            seq += 1
            r, _ = post_logs(hub, f"during-{seq}")
            assert r.status_code in (202, 503), r.text
            return [r] if r.status_code == 503 else None  # a 503 Response is falsy
        [r] = wait_until(refused, 20, interval=0.2, what="the first 503 while Kafka is down")
        first_503_after = time.monotonic() - stopped
        assert first_503_after < 15, f"first 503 only {first_503_after:.1f}s after the stop"
        assert int(r.headers["Retry-After"]) >= 1
        j = r.json()
        assert "error" in j and j["retry_after_s"] == int(r.headers["Retry-After"])
        assert len(j["ids"]) == 5

        # Once the producer knows, refusals are immediate (no 10 s wait per request).
        t0 = time.monotonic()
        r, fast_ids = post_logs(hub, "during-fast")
        assert r.status_code == 503 and "Retry-After" in r.headers
        # The ids come back with the refusal, so a retry can reuse them (no duplicates).
        assert r.json()["ids"] == fast_ids
        assert time.monotonic() - t0 < 3, "refusal while Kafka is known down took too long"

        def not_ready():
            r = requests.get(hub.url + "/readyz", timeout=10)
            return [r] if r.status_code == 503 else None
        [r] = wait_until(not_ready, 15, interval=0.2, what="/readyz 503")
        assert r.json() == {"status": "not ready", "kafka": "unreachable", "postgres": "ok"}
        assert requests.get(hub.url + "/healthz", timeout=10).status_code == 200

        kafka("start")
        restarted = time.monotonic()

        def accepted():
            nonlocal seq
            seq += 1
            r, ids = post_logs(hub, f"after-{seq}")
            assert r.status_code in (202, 503), r.text
            return ids if r.status_code == 202 else None
        acked |= set(wait_until(accepted, 60, interval=0.5, what="the first 202 after the restart"))
        print(f"first 503 {first_503_after:.1f}s after the stop; "
              f"first 202 {time.monotonic() - restarted:.1f}s after the restart")
        for k in range(10):
            r, ids = post_logs(hub, f"resumed-{k}", n=20)
            assert r.status_code == 202, r.text
            acked |= set(ids)
        wait_until(lambda: requests.get(hub.url + "/readyz", timeout=10).status_code == 200, 15,
                   what="/readyz 200 again")
        n = len(bg.answers)
        wait_until(lambda: any(a[0] == 202 for a in bg.answers[n:]), 30,
                   what="the background sender acked again")
    finally:
        bg.stop.set()
        kafka("start")  # idempotent: a no-op when the broker is already running
    bg.join(30)
    codes = [a[0] for a in bg.answers]
    print(f"background: {codes.count(202)} x 202, {codes.count(503)} x 503, "
          f"slowest {max(a[1] for a in bg.answers):.1f}s")
    # A request in flight when the broker stops can take longer than message.timeout.ms (10 s;
    # seen: up to 18 s): the idempotent producer does not time out in-flight messages before the
    # request times out. Bound: request.timeout.ms (30 s) plus slack.
    odd = [a for a in bg.answers if a[0] not in (202, 503) or a[1] > 32]
    assert odd == [], f"answers other than a timely 202/503: {odd[:5]}"
    # Whether the background sender itself sees a 503 depends on timing: a request in flight
    # across a short outage is acknowledged after the restart, which is right. The foreground
    # checks above assert the 503s.
    acked |= bg.acked

    wait_until(lambda: acked <= stored_ids(env), 60, interval=0.5,
               what="every acknowledged id in Postgres")
    dups = env.pg.query("select event_id from logs group by 1 having count(*) > 1")
    assert dups == []
    # Requests refused with 503 may have reached Kafka (possibly persisted) but nothing else may.
    assert all(x.startswith(("before", "during", "after", "resumed", "bg")) for x in stored_ids(env))
