"""Grouped notifications end to end on real Kafka and Postgres: a route with `group_wait` and
`group_by` sends the first alerts of the incidents of one group that come due within the wait as
ONE Slack message and ONE email, records the attempt on every grouped outbox row, keeps other
groups apart, and sends follow-ups (resolved) alone and at once.

The rule here (`hot-host`, max cpu > 90 grouped by host) opens one incident per host, so hot
samples from three hosts of a service open three incidents of one group (group_by service)."""
import json
import time
import uuid

import pytest
import requests

from conftest import wait_until
from receivers import rate_limited

SLACK = "/services/T000/B000/grouped"
WAIT_S = 4


@pytest.fixture(scope="module")
def hub(env, slack, smtp, tmp_path_factory):
    d = tmp_path_factory.mktemp("grouping")
    rules = {"rules": [{"name": "hot-host", "type": "threshold", "severity": "critical",
                        "metric": "cpu", "stat": "max", "window": "1m", "op": ">",
                        "threshold": 90, "recovery": 50, "min_count": 1, "for": "0s",
                        "group_by": ["host"],
                        "summary": "{service} {group.host}: cpu {value} %"}]}
    routes = {
        "channels": {
            "slack": {"kind": "slack", "url": slack.url(SLACK), "rate_per_s": 10, "burst": 10},
            "email": {"kind": "email", "url": smtp.url, "from": "rtmon@example.test",
                      "to": ["oncall@example.test"]},
        },
        "routes": [{"channels": ["slack", "email"], "group_wait": f"{WAIT_S}s",
                    "group_by": ["service"]}],
    }
    (d / "rules.json").write_text(json.dumps(rules))
    (d / "notifications.json").write_text(json.dumps(routes))
    return env.hub(env={"RTMON_RULES_FILE": str(d / "rules.json"),
                        "RTMON_NOTIFICATIONS_FILE": str(d / "notifications.json"),
                        "RTMON_UI_URL": "http://ui.test"})


def burst(hub, service, hosts):
    """A hot cpu sample of `service` from each host, in one request."""
    now = time.time()
    items = [{"event_id": f"{service}-{h}-{uuid.uuid4().hex[:8]}", "service": service,
              "ts": now, "name": "cpu", "value": 97, "tags": {"host": h}} for h in hosts]
    r = hub.post("/metrics", json.dumps(items), content_type="application/json")
    assert r.status_code == 202, r.text


def triggered(hub, service, n):
    def ids():
        rows = requests.get(hub.url + "/api/incidents",
                            params={"service": service, "status": "open"}, timeout=10).json()
        got = [r["id"] for r in rows["items"] if r["status"] == "triggered"]
        return got if len(got) >= n else None
    return wait_until(ids, 30, what=f"{n} incidents of {service}")


def rows_of(env, ids):
    """(incident, channel, status, attempts, group_key, created, first attempt started)."""
    out = []
    for iid in ids:
        out += env.pg.query(
            "select n.incident_id, n.channel, n.status, n.attempts, coalesce(n.group_key, ''),"
            " extract(epoch from n.created_at), (select extract(epoch from min(a.started_at))"
            " from notification_attempts a where a.notification_id = n.id)"
            " from notifications n where n.incident_id = :'v1' and n.event = 'triggered'", iid)
    return out


def finished(env, ids, n):
    return wait_until(lambda: (lambda rs: rs if len(rs) == n and all(r[2] != "pending" for r in rs)
                               else None)(rows_of(env, ids)),
                      30, what=f"{n} triggered notifications finished")


def about(messages, ids):
    return [m for m in messages if any(i in m for i in ids)]


def test_incidents_of_one_group_go_out_as_one_message_per_channel(env, hub, slack, smtp):
    burst(hub, "grp-x", ["h1", "h2", "h3"])
    burst(hub, "grp-y", ["h1"])
    xs, ys = triggered(hub, "grp-x", 3), triggered(hub, "grp-y", 1)
    rows = finished(env, xs + ys, 8)
    # Every row delivered with exactly one attempt, each recorded.
    assert all(r[2] == "delivered" and int(r[3]) == 1 for r in rows), rows
    keys = {r[0]: r[4] for r in rows if r[1] == "slack"}
    assert {keys[i] for i in xs} == {"0|slack|service=grp-x"}
    assert keys[ys[0]] == "0|slack|service=grp-y"
    # The group waited: its first row was attempted a group wait after it was written.
    first = min((r for r in rows if r[0] in xs and r[1] == "slack"), key=lambda r: float(r[5]))
    assert float(first[6]) - float(first[5]) >= WAIT_S - 0.5, first

    bodies = [r.body.decode() for r in slack.received(SLACK)]
    x_msgs, y_msgs = about(bodies, xs), about(bodies, ys)
    assert len(x_msgs) == 1, x_msgs       # one message for the three incidents
    assert len(y_msgs) == 1 and not about(y_msgs, xs)
    msg = json.loads(x_msgs[0])
    assert all(i in x_msgs[0] for i in xs)
    assert msg["blocks"][0]["text"]["text"].endswith("3 incidents TRIGGERED: hot-host on grp-x")
    assert len(msg["blocks"]) == 5
    assert "Grouped by service=grp-x" in msg["blocks"][-1]["elements"][0]["text"]
    assert "3 incidents" not in y_msgs[0]  # a group of one is an ordinary message

    mails = [m.raw.decode(errors="replace") for m in smtp.wait_for(2, 15)]
    x_mails = about(mails, xs)
    assert len(x_mails) == 1 and all(i in x_mails[0] for i in xs)
    mail = [m for m in smtp.messages if any(i in m.raw.decode(errors="replace") for i in xs)][0]
    assert mail.message["Subject"].startswith("[CRITICAL] 3 incidents triggered: hot-host")
    assert mail.message["Message-ID"].startswith("<incident-")
    assert "grouped by service=grp-x" in mail.part("text/plain")
    # The incident page shows which notifications went out grouped.
    detail = requests.get(f"{hub.url}/api/incidents/{xs[0]}", timeout=10).json()
    assert {(n["channel"], n["group"]) for n in detail["notifications"]} == {
        ("slack", "service=grp-x"), ("email", "service=grp-x")}


def test_follow_ups_of_grouped_incidents_go_alone(env, hub, slack):
    xs = triggered(hub, "grp-x", 3)
    finished(env, xs, 6)
    before = len(slack.received(SLACK))
    r = requests.post(f"{hub.url}/api/incidents/{xs[1]}/resolve", json={},
                      headers={"X-Rtmon-User": "alice"}, timeout=15)
    assert r.status_code in (200, 202), r.text
    def resolved_messages():
        bodies = [x.body.decode() for x in slack.received(SLACK)[before:]]
        return [b for b in bodies if xs[1] in b and "RESOLVED" in b] or None
    resolved = wait_until(resolved_messages, 15, what="the resolved message")
    assert len(resolved) == 1
    assert not about(resolved, [xs[0], xs[2]])  # alone: not grouped with the others
    row = env.pg.query("select group_key is null, next_attempt_at <= created_at + interval '1 s'"
                       " from notifications where incident_id = :'v1' and event = 'resolved'"
                       " and channel = 'slack'", xs[1])
    assert [tuple(x) for x in row] == [("t", "t")]
    detail = requests.get(f"{hub.url}/api/incidents/{xs[1]}", timeout=10).json()
    assert {n["event"]: n["group"] for n in detail["notifications"] if n["channel"] == "slack"} \
        == {"triggered": "service=grp-x", "resolved": None}


def test_a_refused_group_is_retried_as_one_message(env, hub, slack):
    # The group's first attempt gets a 429: every member is retried with it, after the
    # Retry-After, again as one message; each row has both attempts recorded.
    slack.script(rate_limited(1), path=SLACK)
    before = len(slack.received(SLACK))
    burst(hub, "grp-z", ["h1", "h2"])
    zs = triggered(hub, "grp-z", 2)
    rows = [r for r in finished(env, zs, 4) if r[1] == "slack"]
    assert all(r[2] == "delivered" and int(r[3]) == 2 for r in rows), rows
    got = [x for x in slack.received(SLACK)[before:] if any(i in x.body.decode() for i in zs)]
    assert [x.answer.status for x in got] == [429, 200]
    assert all(all(i in x.body.decode() for i in zs) for x in got)  # both times together
    assert got[1].at - got[0].at >= 0.9  # the Retry-After was honoured
    outcomes = env.pg.query(
        "select a.outcome, count(*) from notification_attempts a join notifications n"
        " on n.id = a.notification_id where n.channel = 'slack' and n.incident_id in"
        " (:'v1', :'v2') group by a.outcome order by 1", *zs)
    assert [tuple(o) for o in outcomes] == [("delivered", "2"), ("retry", "2")]
