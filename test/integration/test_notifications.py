"""Notifications end to end on real Kafka and Postgres: incident transitions go through the
durable outbox (`notifications`, every attempt in `notification_attempts`) to a local Slack
stand-in, a webhook receiver and a real SMTP server (aiosmtpd), with retries that honour
Retry-After, a per-destination rate limit, permanent failures that stop, ambiguous timeouts that
are counted, re-notification until acknowledged, silences that mute, actions (acknowledge,
resolve, notes) that travel as commands to the incident's owner and land in the timeline, and no
notification lost across kill -9 or doubled by two processes.

Every test uses its own services; an incident is opened by an error burst (the shipped rule
high-error-rate: > 5 % errors over 1 m, at least 20 lines, for 0 s, critical)."""
import json
import re
import time
import uuid

import pytest
import requests

from conftest import wait_until
from receivers import error, hang, ok, rate_limited, server_error
from test_incidents import lines, post_logs

SLACK = "/services/T000/B000/slack"
HOOK = "/hook"


@pytest.fixture(scope="module")
def routes(env, slack, smtp, tmp_path_factory):
    """The notifications file every hub of this module uses: slack (1/s, burst 3, 1.5 s
    timeout), email and webhook for critical incidents, re-notified every 3 s; services whose
    name starts with "quiet" route to the webhook only (so their tests see Slack untouched)."""
    cfg = {
        "channels": {
            "slack": {"kind": "slack", "url": slack.url(SLACK), "rate_per_s": 1, "burst": 3,
                      "timeout_ms": 1500},
            "email": {"kind": "email", "url": smtp.url, "from": "rtmon@example.test",
                      "to": ["oncall@example.test"], "timeout_ms": 5000},
            "hook": {"kind": "webhook", "url": slack.url(HOOK), "timeout_ms": 1500},
        },
        "routes": [
            {"match": {"service": ["renotify-svc"]}, "channels": ["hook"],
             "renotify_every": "2s", "stop": True},
            {"match": {"severity": "critical"}, "channels": ["slack", "email", "hook"]},
        ],
    }
    path = tmp_path_factory.mktemp("notify") / "notifications.json"
    path.write_text(json.dumps(cfg))
    return str(path)


@pytest.fixture(scope="module")
def hub(env, routes):
    return env.hub(env={"RTMON_NOTIFICATIONS_FILE": routes, "RTMON_UI_URL": "http://ui.test"})


def burst(hub, service):
    """Opens a high-error-rate incident on `service`; returns its id once triggered."""
    post_logs(hub, lines(service, 30, 30, time.time(), f"{service}-{uuid.uuid4().hex[:6]}"))
    return wait_until(lambda: hub_incident(hub, service), 30, what=f"incident of {service}")


def hub_incident(hub, service):
    rows = requests.get(hub.url + "/api/incidents", params={"service": service, "status": "open"},
                        timeout=10).json()["items"]
    return rows[0]["id"] if rows and rows[0]["status"] == "triggered" else None


def notifications(env, incident_id):
    """(seq, channel, event, status, attempts, ambiguous) by seq, channel."""
    return [(int(s), c, e, st, int(a), int(amb)) for s, c, e, st, a, amb in env.pg.query(
        "select seq, channel, event, status, attempts, ambiguous from notifications"
        " where incident_id = :'v1' order by seq, channel", incident_id)]


def attempts(env, incident_id, channel):
    """(attempt, outcome, status_code, retry_after_ms, started epoch) of one channel's rows."""
    return [(int(a), o, int(c) if c else None, int(r) if r else None, float(t))
            for a, o, c, r, t in env.pg.query(
                "select a.attempt, a.outcome, a.status_code, a.retry_after_ms,"
                " extract(epoch from a.started_at) from notification_attempts a"
                " join notifications n on n.id = a.notification_id"
                " where n.incident_id = :'v1' and n.channel = :'v2'"
                " order by n.seq, a.attempt", incident_id, channel)]


def slack_for(slack, incident_id, path=SLACK):
    """Requests to `path` whose message is about `incident_id`."""
    return [r for r in slack.received(path) if incident_id in r.body.decode()]


def act(hub, incident_id, action, user="alice", body=None):
    return requests.post(f"{hub.url}/api/incidents/{incident_id}/{action}",
                         json=body or {}, headers={"X-Rtmon-User": user}, timeout=15)


def delivered(env, incident_id, n):
    return wait_until(
        lambda: (lambda rows: rows if len(rows) >= n and all(r[3] != "pending" for r in rows)
                 else None)(notifications(env, incident_id)),
        30, what=f"{n} notifications of {incident_id} finished")


def test_trigger_is_delivered_once_per_channel(env, hub, slack, smtp):
    iid = burst(hub, "checkout")
    rows = delivered(env, iid, 3)
    assert rows == [(1, "email", "triggered", "delivered", 1, 0),
                    (1, "hook", "triggered", "delivered", 1, 0),
                    (1, "slack", "triggered", "delivered", 1, 0)]
    (msg,) = slack_for(slack, iid)
    body = msg.json
    text = json.dumps(body)
    assert "blocks" in body and body["text"]
    for want in ("checkout", "high-error-rate", "critical", f"http://ui.test/incidents/{iid}"):
        assert want in text, want
    (hook,) = slack_for(slack, iid, HOOK)
    assert hook.json["event_action"] == "trigger" and hook.json["dedup_key"] == iid
    mail = wait_until(lambda: [m for m in smtp.mails if iid in m.raw.decode(errors="replace")],
                      15, what="the email")
    assert len(mail) == 1
    m = mail[0].message
    assert "checkout" in m["Subject"] and "high-error-rate" in m["Subject"]
    assert m["Message-ID"] == f"<incident-{iid}@rtmon>"
    assert "checkout" in mail[0].part("text/plain")
    assert mail[0].part("text/html") is not None
    # Every attempt recorded with what the receiver said.
    assert [(a, o, c) for a, o, c, _, _ in attempts(env, iid, "slack")] == [(1, "delivered", 200)]
    assert [(a, o, c) for a, o, c, _, _ in attempts(env, iid, "email")] == [(1, "delivered", 250)]


def test_acknowledge_note_resolve_notify_and_land_in_the_timeline(env, hub, slack, smtp):
    iid = burst(hub, "payments")
    delivered(env, iid, 3)
    r = act(hub, iid, "acknowledge", user="alice")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done" and r.json()["incident"]["status"] == "acknowledged"
    assert act(hub, iid, "acknowledge").status_code == 409  # once is enough
    r = act(hub, iid, "notes", user="bob", body={"text": "pool size raised to 50"})
    assert r.status_code == 200, r.text
    r = act(hub, iid, "resolve", user="carol")
    assert r.status_code == 200, r.text
    timeline = env.pg.query("select seq, kind, actor, detail from incident_events"
                            " where incident_id = :'v1' order by seq", iid)
    assert [(k, a) for _, k, a, _ in timeline] == [
        ("triggered", "rtmon"), ("acknowledged", "alice"), ("note", "bob"),
        ("resolved", "carol")]
    assert timeline[2][3] == "pool size raised to 50"
    # Follow-ups: acknowledged and resolved (a note notifies nobody), naming who.
    rows = delivered(env, iid, 9)
    assert sorted({(s, e) for s, _, e, _, _, _ in rows}) == [
        (1, "triggered"), (2, "acknowledged"), (4, "resolved")]
    assert all(st == "delivered" for _, _, _, st, _, _ in rows)
    msgs = slack_for(slack, iid)
    assert len(msgs) == 3
    assert "alice" in json.dumps(msgs[1].json) and "carol" in json.dumps(msgs[2].json)
    hooks = [m.json["event_action"] for m in slack_for(slack, iid, HOOK)]
    assert hooks == ["trigger", "acknowledge", "resolve"]
    # One incident, one email thread.
    mails = wait_until(lambda: (lambda ms: ms if len(ms) == 3 else None)(
        [m for m in smtp.mails if iid in m.raw.decode(errors="replace")]), 15, what="3 emails")
    root = f"<incident-{iid}@rtmon>"
    assert mails[0].message["Message-ID"] == root
    for m in mails[1:]:
        assert m.message["In-Reply-To"] == root and root in m.message["References"]
        assert m.message["Message-ID"] != root
    # The commands table says who did what, each done with the seq it produced.
    cmds = env.pg.query("select action, actor, status, seq from commands where incident_id = :'v1'"
                        " order by created_at", iid)
    assert [tuple(c) for c in cmds] == [("acknowledge", "alice", "done", "2"),
                                        ("note", "bob", "done", "3"),
                                        ("resolve", "carol", "done", "4")]


def test_renotify_until_acknowledged(env, hub, slack):
    iid = burst(hub, "renotify-svc")
    # Re-notified every 2 s while triggered and not acknowledged.
    wait_until(lambda: len(slack_for(slack, iid, HOOK)) >= 3, 20, what="2 re-notifications")
    assert act(hub, iid, "acknowledge").status_code == 200
    time.sleep(1)  # the acknowledgement's own follow-up may still be on its way
    n = len(slack_for(slack, iid, HOOK))
    time.sleep(5)  # 2.5 intervals: nothing more after the acknowledgement follow-up
    assert len(slack_for(slack, iid, HOOK)) == n
    events = [e for _, _, e, _, _, _ in notifications(env, iid)]
    assert events.count("renotify") >= 2 and "acknowledged" in events


def test_silence_mutes_but_keeps_the_incident_visible(env, hub, slack):
    r = requests.post(hub.url + "/api/silences", json={
        "service": "silenced-svc", "duration_s": 600, "comment": "maintenance"},
        headers={"X-Rtmon-User": "ops"}, timeout=10)
    assert r.status_code == 201, r.text
    iid = burst(hub, "silenced-svc")
    rows = delivered(env, iid, 3)
    assert {st for _, _, _, st, _, _ in rows} == {"muted"}
    assert slack_for(slack, iid) == [] and slack_for(slack, iid, HOOK) == []
    assert all(o == "muted" for _, o, _, _, _ in attempts(env, iid, "slack"))
    detail = requests.get(f"{hub.url}/api/incidents/{iid}", timeout=10).json()
    assert detail["incident"]["status"] == "triggered" and detail["incident"]["silenced"]


def test_until_resolved_silence_mutes_the_rest_of_an_incident(env, hub, slack):
    iid = burst(hub, "until-resolved-svc")
    delivered(env, iid, 3)  # told it started
    r = requests.post(hub.url + "/api/silences", json={
        "service": "until-resolved-svc", "until_resolved": True}, timeout=10)
    assert r.status_code == 201, r.text
    assert act(hub, iid, "acknowledge").status_code == 200
    assert act(hub, iid, "resolve").status_code == 200
    rows = delivered(env, iid, 9)
    by_event = {}
    for _, channel, event, status, _, _ in rows:
        by_event.setdefault(event, set()).add(status)
    assert by_event == {"triggered": {"delivered"}, "acknowledged": {"muted"},
                        "resolved": {"muted"}}
    assert len(slack_for(slack, iid)) == 1


def test_retry_after_rate_limit_and_permanent_failure(env, hub, slack):
    # 429 with Retry-After 2: the second attempt waits at least that long, then succeeds once.
    slack.script(rate_limited(2), path=SLACK)
    iid = burst(hub, "ratelimited")
    delivered(env, iid, 3)
    a = attempts(env, iid, "slack")
    assert [(n, o, c, r) for n, o, c, r, _ in a] == [(1, "retry", 429, 2000), (2, "delivered", 200, None)]
    assert a[1][4] - a[0][4] >= 2.0
    assert len(slack_for(slack, iid)) == 2
    # 400 invalid_payload is permanent: one attempt, failed, visible.
    slack.script(error(400, "invalid_payload"), path=SLACK)
    bad = burst(hub, "badpayload")
    rows = delivered(env, bad, 3)
    assert ("slack", "failed", 1) in [(c, st, n) for _, c, _, st, n, _ in rows]
    err = env.pg.scalar("select last_error from notifications where incident_id = :'v1'"
                        " and channel = 'slack'", bad)
    assert "invalid_payload" in err
    time.sleep(3)  # an absence: longer than the first back-off (1 s) twice over
    assert len(slack_for(slack, bad)) == 1  # never retried
    # Rate limit: five incidents at once reach Slack at most 3 at a time, then 1 per second.
    before = len(slack.received(SLACK))
    for i in range(5):
        post_logs(hub, lines(f"burst{i}", 30, 30, time.time(), f"b{i}-{uuid.uuid4().hex[:6]}"))
    msgs = slack.wait_for(before + 5, timeout=30, path=SLACK)[before:]
    times = sorted(m.at for m in msgs)
    for i in range(3, len(times)):
        # Any 4 consecutive messages span at least ~1 s (burst 3, 1/s); small slack for timing.
        assert times[i] - times[i - 3] >= 0.9, times


def test_server_errors_retry_and_timeouts_are_ambiguous(env, hub, slack):
    slack.script(server_error(500), path=SLACK)
    iid = burst(hub, "flaky")
    delivered(env, iid, 3)
    assert [(n, o, c) for n, o, c, _, _ in attempts(env, iid, "slack")] == [
        (1, "retry", 500), (2, "delivered", 200)]
    # A hang beyond the 1.5 s timeout: the message may have arrived - ambiguous, retried,
    # and the duplicate is counted.
    slack.script(hang(3, ok()), path=SLACK)
    slow = burst(hub, "slowslack")
    rows = delivered(env, slow, 3)
    assert ("slack", "delivered", 2, 1) in [(c, st, n, amb) for _, c, _, st, n, amb in rows]
    assert [o for _, o, _, _, _ in attempts(env, slow, "slack")] == ["ambiguous", "delivered"]
    wait_until(lambda: len(slack_for(slack, slow)) == 2, 10, what="both deliveries seen")


def test_nothing_lost_across_kill_9(env, hub, routes, slack):
    hub.stop()  # from here on, only this test's processes (same consumer group) run
    h = env.hub(env={"RTMON_NOTIFICATIONS_FILE": routes})
    # Slack is down (503) while incidents open; then the hub dies with rows pending.
    slack.script(*[server_error(503)] * 50, path=SLACK)
    ids = [burst(h, f"crash{i}") for i in range(3)]
    wait_until(lambda: all(any(st == "pending" and c == "slack" for _, c, _, st, _, _ in
                               notifications(env, i)) for i in ids), 20, what="pending rows")
    h.kill9()
    with slack._lock:
        slack._per_path.clear()  # Slack is back
    h2 = env.hub(env={"RTMON_NOTIFICATIONS_FILE": routes})
    for i in ids:
        rows = wait_until(lambda: (lambda rs: rs if all(r[3] == "delivered" for r in rs)
                                   else None)(notifications(env, i)), 90, what="delivery after restart")
        assert len(rows) == 3
        assert len([m for m in slack_for(slack, i) if m.answer.status == 200]) == 1
    h2.stop()


def test_two_processes_notify_each_transition_once(env, routes, slack):
    a = env.hub(env={"RTMON_NOTIFICATIONS_FILE": routes})
    b = env.hub(env={"RTMON_NOTIFICATIONS_FILE": routes})
    def assigned(h):
        m = re.search(r'^rtmon_consumer_assigned_partitions{pipeline="process"} (\d+)',
                      requests.get(h.url + "/metrics", timeout=5).text, re.M)
        return int(m.group(1)) if m else 0
    # 4 topics x 4 partitions split between the two members.
    wait_until(lambda: assigned(a) > 0 and assigned(b) > 0 and assigned(a) + assigned(b) == 16,
               60, what="both members assigned")
    ids = [burst(a if i % 2 else b, f"pair{i}") for i in range(4)]
    for i in ids:
        delivered(env, i, 3)
    time.sleep(2)  # an absence: time for a duplicate from the other process to show up
    for i in ids:
        assert len(slack_for(slack, i)) == 1
        assert len(slack_for(slack, i, HOOK)) == 1
    # The Slack pace (1/s, burst 3) is one schedule for all processes: eight incidents at once,
    # dispatched by whichever process claims them, still reach Slack at most 3 at a time and
    # then 1 per second (each process pacing alone would let 3 + 3 through at once).
    before = len(slack.received(SLACK))
    for i in range(8):
        post_logs(a if i % 2 else b,
                  lines(f"pace{i}", 30, 30, time.time(), f"p{i}-{uuid.uuid4().hex[:6]}"))
    msgs = slack.wait_for(before + 8, timeout=60, path=SLACK)[before:]
    times = sorted(m.at for m in msgs)
    for i in range(3, len(times)):
        assert times[i] - times[i - 3] >= 0.9, times
    a.stop()
    b.stop()
