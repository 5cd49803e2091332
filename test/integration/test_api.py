"""The query API (docs/api.md) against a real hub on Kafka and Postgres: incidents with filters,
counts and keyset pages, incident detail, actions, silences, logs search, series, events,
services, rules, bounds and 400s, the static UI (with traversal refusal and the SPA fallback)
and the OpenAPI document matching the served routes.

Incidents come from the real pipeline (an error burst opens one through the shipped rule
`high-error-rate`) and, where the pipeline would be too slow (hundreds for pagination, closed
ones), straight from SQL."""
import http.client
import json
import re
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import ROOT, wait_until
from test_incidents import lines, post_logs

BULK = "api-bulk"
BURST = "api-burst"
CLOSED = "api-closed"


@pytest.fixture(scope="module")
def ui_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ui")
    (d / "index.html").write_text("<!doctype html><title>rtmon ui</title><div id=root></div>")
    (d / "assets").mkdir()
    (d / "assets" / "app-1a2b3c.js").write_text("console.log('rtmon')")
    (d / "assets" / "app-1a2b3c.css").write_text("body{}")
    (d.parent / "secret.txt").write_text("top secret")
    return d


@pytest.fixture(scope="module")
def hub(env, ui_dir):
    h = env.hub(env={"RTMON_UI_DIR": str(ui_dir)})
    # 300 incidents in the last hour, opened in threes at the same instant (the id breaks ties).
    env.pg.query(
        "insert into incidents (id, fingerprint, rule, service, severity, status, summary,"
        " labels, group_labels, opened_at, last_seq)"
        " select gen_random_uuid(), 'bulk|' || g, 'bulk-rule', :'v1',"
        " (array['info','warning','critical'])[1 + g % 3],"
        " (array['pending','triggered','acknowledged','resolved','cancelled'])[1 + g % 5],"
        " 'bulk ' || g, '{\"team\": \"core\"}', '{}',"
        " date_trunc('second', now()) - ((g / 3) * interval '7 seconds'), 0"
        " from generate_series(1, 300) g", BULK)
    return h


def get(hub, path, **params):
    return requests.get(hub.url + path, params=params, timeout=15)


def closed_incident(env, status="resolved"):
    iid = str(uuid.uuid4())
    env.pg.query(
        "insert into incidents (id, fingerprint, rule, service, severity, status, summary,"
        " opened_at, resolved_at, last_seq) values (:'v1', :'v2', 'high-error-rate', :'v3',"
        " 'critical', :'v4', 'closed one', now() - interval '10 minutes', now(), 0)",
        iid, f"closed|{iid}", CLOSED, status)
    return iid


def burst_incident(env, hub, service=BURST):
    """The incident opened by a real error burst of `service` (once per module)."""
    def find():
        items = get(hub, "/api/incidents", service=service).json()["items"]
        return items[0] if items else None
    if not find():
        post_logs(hub, lines(service, 20, 20, time.time(), f"burst-{uuid.uuid4().hex[:6]}"))
    return wait_until(find, 40, interval=0.25, what="the burst's incident in /api/incidents")


# --- incidents ---------------------------------------------------------------------------------

def test_incident_filters_and_counts(env, hub):
    body = get(hub, "/api/incidents", service=BULK, status="open", limit=200).json()
    assert body["items"], body
    assert {i["status"] for i in body["items"]} <= {"pending", "triggered", "acknowledged"}
    assert {i["service"] for i in body["items"]} == {BULK}
    assert len(body["items"]) == 180  # 3 of every 5 are open
    # Counts apply every filter but status.
    assert body["counts"] == {"pending": 60, "triggered": 60, "acknowledged": 60,
                              "resolved": 60, "cancelled": 60}
    crit = get(hub, "/api/incidents", service=BULK, severity="critical", status="resolved",
               limit=200).json()
    assert crit["items"] and all(i["severity"] == "critical" and i["status"] == "resolved"
                                 for i in crit["items"])
    assert sum(crit["counts"].values()) == 100
    i = body["items"][0]
    for k in ["id", "fingerprint", "rule", "service", "severity", "status", "summary", "labels",
              "group", "last_value", "breach_count", "opened_at", "last_seen_at",
              "acknowledged_at", "resolved_at", "flapping", "silenced"]:
        assert k in i, k
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", i["opened_at"])
    # A time window that excludes them all.
    old = get(hub, "/api/incidents", service=BULK, to="2020-01-02T00:00:00Z",
              **{"from": "2020-01-01T00:00:00Z"}).json()
    assert old["items"] == [] and sum(old["counts"].values()) == 0


def test_old_open_incidents_stay_in_the_default_view(env, hub):
    old = "api-old"
    env.pg.query(
        "insert into incidents (id, fingerprint, rule, service, severity, status, summary,"
        " opened_at, resolved_at, last_seq) values"
        " (gen_random_uuid(), 'old|open', 'r', :'v1', 'critical', 'triggered', 'old open',"
        "  now() - interval '3 days', null, 0),"
        " (gen_random_uuid(), 'old|closed', 'r', :'v1', 'critical', 'resolved', 'old closed',"
        "  now() - interval '3 days', now() - interval '2 days', 0)", old)
    # Without `from`: what is open shows however old; closed ones only within the last hour.
    body = get(hub, "/api/incidents", service=old).json()
    assert [i["summary"] for i in body["items"]] == ["old open"]
    assert body["counts"]["triggered"] == 1 and body["counts"]["resolved"] == 0
    # An explicit range is exact.
    since = get(hub, "/api/incidents", service=old, **{"from": "2000-01-01T00:00:00Z"})
    assert since.status_code == 400  # beyond 31 days
    week = get(hub, "/api/incidents", service=old,
               **{"from": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 7 * 86400))}).json()
    assert sorted(i["summary"] for i in week["items"]) == ["old closed", "old open"]
    hour = get(hub, "/api/incidents", service=old,
               **{"from": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))}).json()
    assert hour["items"] == []


def test_pagination_walks_every_incident_once_in_order(env, hub):
    expected = [r[0] for r in env.pg.query(
        "select id from incidents where service = :'v1' order by opened_at desc, id desc", BULK)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"service": BULK, "limit": 37}
        if cursor:
            params["cursor"] = cursor
        r = get(hub, "/api/incidents", **params)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
        assert len(body["items"]) == 37
    assert seen == expected  # no duplicates, no gaps, newest first with the id as tie-break
    assert pages == 9


@pytest.mark.parametrize("params,field", [
    ({"limit": "500"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-45T00:00:00Z"}, "to"),
    ({"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "from"),
    ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
    ({"status": "burning"}, "status"),
    ({"severity": "apocalyptic"}, "severity"),
    ({"cursor": "not-a-cursor"}, "cursor"),
])
def test_bad_incident_parameters_are_400_naming_the_parameter(hub, params, field):
    r = get(hub, "/api/incidents", **params)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(field + ":"), r.json()


@pytest.mark.parametrize("path,params,field", [
    ("/api/logs", {"limit": "201"}, "limit"),
    ("/api/logs", {"from": "2026-01-01T00:00:00Z", "to": "2026-02-15T00:00:00Z"}, "from"),
    ("/api/events", {"to": "noon"}, "to"),
    ("/api/services/x/series", {"signal": "trace"}, "signal"),
    ("/api/services/x/series", {"signal": "metric"}, "name"),
    ("/api/silences", {"active": "maybe"}, "active"),
])
def test_bad_parameters_elsewhere_are_400(hub, path, params, field):
    r = get(hub, path, **params)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(field + ":"), r.json()


def test_unknown_things_are_404(hub):
    assert get(hub, f"/api/incidents/{uuid.uuid4()}").status_code == 404
    assert get(hub, "/api/incidents/not-a-uuid").status_code == 404
    assert get(hub, f"/api/silences/{uuid.uuid4()}").status_code == 404
    assert requests.delete(hub.url + f"/api/silences/{uuid.uuid4()}", timeout=10).status_code == 404
    r = get(hub, "/api/nothing-here")
    assert r.status_code == 404 and "error" in r.json()
    r = requests.post(hub.url + f"/api/incidents/{uuid.uuid4()}/acknowledge", timeout=10)
    assert r.status_code == 404, r.text
    r = requests.delete(hub.url + "/api/incidents", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"


def test_incident_detail_has_timeline_and_notifications(env, hub):
    inc = burst_incident(env, hub)
    r = get(hub, f"/api/incidents/{inc['id']}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["incident"]["id"] == inc["id"]
    assert body["incident"]["rule"] == "high-error-rate"
    t = body["timeline"]
    assert t and t[0]["seq"] == 1 and t[0]["kind"] == "triggered" and t[0]["to"] == "triggered"
    for k in ["seq", "stream_id", "at", "kind", "from", "to", "actor", "detail", "value", "notify"]:
        assert k in t[0], k
    assert isinstance(body["notifications"], list)
    for n in body["notifications"]:
        assert isinstance(n["attempt_log"], list)
    # Seeded notification rows with attempts show up with their attempt log.
    env.pg.query(
        "insert into notifications (idem_key, incident_id, seq, channel, kind, event, payload,"
        " status, attempts) values (:'v1' || ':1:test', :'v1', 1, 'test', 'webhook',"
        " 'triggered', '{}', 'delivered', 2)", inc["id"])
    env.pg.query(
        "insert into notification_attempts (notification_id, attempt, started_at, latency_ms,"
        " status_code, outcome, retry_after_ms, error) select id, a, now(), 12.5,"
        " case a when 1 then 503 else 200 end, case a when 1 then 'retry' else 'delivered' end,"
        " case a when 1 then 1000 end, null from notifications, generate_series(1, 2) a"
        " where idem_key = :'v1' || ':1:test'", inc["id"])
    n = [x for x in get(hub, f"/api/incidents/{inc['id']}").json()["notifications"]
         if x["channel"] == "test"][0]
    assert n["status"] == "delivered" and n["attempts"] == 2 and n["kind"] == "webhook"
    assert [(a["attempt"], a["outcome"], a["status_code"], a["retry_after_ms"])
            for a in n["attempt_log"]] == [(1, "retry", 503, 1000), (2, "delivered", 200, None)]


# --- actions -----------------------------------------------------------------------------------

def act(hub, iid, action, body=None, user="it-user"):
    return requests.post(hub.url + f"/api/incidents/{iid}/{action}", timeout=30,
                         data=json.dumps(body) if body is not None else None,
                         headers={"X-Rtmon-User": user, "Content-Type": "application/json"})


def test_actions_that_cannot_apply_are_409_at_once(env, hub):
    iid = closed_incident(env)
    for action in ["acknowledge", "resolve"]:
        t0 = time.monotonic()
        r = act(hub, iid, action)
        assert r.status_code == 409, r.text
        assert "resolved" in r.json()["error"]
        assert time.monotonic() - t0 < 2
    assert env.pg.scalar("select count(*) from commands where incident_id = :'v1'", iid) == "0"


def test_note_on_a_closed_incident_is_written_directly(env, hub):
    iid = closed_incident(env, "cancelled")
    r = act(hub, iid, "notes", {"text": "postmortem: disk full"}, user="carol")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "done" and body["seq"] == 1
    assert body["incident"]["id"] == iid and body["incident"]["status"] == "cancelled"
    t = get(hub, f"/api/incidents/{iid}").json()["timeline"]
    assert [(e["seq"], e["kind"], e["from"], e["to"], e["actor"], e["detail"], e["notify"])
            for e in t] == [(1, "note", "cancelled", "cancelled", "carol",
                             "postmortem: disk full", False)]
    msg = json.loads(env.pg.scalar(
        "select message from incident_events where incident_id = :'v1'", iid))
    assert msg["type"] == "incident.transition" and msg["kind"] == "note"
    assert msg["incident_id"] == iid and msg["seq"] == 1 and msg["actor"] == "carol"
    r = act(hub, iid, "notes", {"text": "second"})
    assert r.status_code == 200 and r.json()["seq"] == 2
    assert env.pg.scalar("select last_seq from incidents where id = :'v1'", iid) == "2"


@pytest.mark.parametrize("body", [None, {}, {"text": ""}, {"text": 5}, {"text": "x" * 4001}])
def test_bad_notes_are_400(env, hub, body):
    iid = closed_incident(env)
    r = act(hub, iid, "notes", body)
    assert r.status_code == 400, r.text
    assert r.json()["error"].split(":")[0] in ("text", "body")


def test_acknowledge_open_incident_goes_through_a_command(env, hub):
    inc = burst_incident(env, hub)
    r = act(hub, inc["id"], "acknowledge", user="alice")
    cmd = env.pg.query("select action, actor, service, status from commands"
                       " where incident_id = :'v1'", inc["id"])
    assert cmd and cmd[0][:3] == ["acknowledge", "alice", BURST]
    msgs = [json.loads(v) for k, v in env.kcat_consume("commands") if k == BURST]
    assert any(m["type"] == "incident.command" and m["incident_id"] == inc["id"]
               and m["action"] == "acknowledge" and m["actor"] == "alice"
               and m["fingerprint"] == inc["fingerprint"] for m in msgs), msgs
    # The owner commits the transition and marks the command done.
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "done" and body["incident"]["status"] == "acknowledged"
    r = act(hub, inc["id"], "acknowledge")
    assert r.status_code == 409, r.text
    # A note on the open incident travels the same way, then the resolve.
    r = act(hub, inc["id"], "notes", {"text": "looking into it"}, user="alice")
    assert r.status_code == 200, r.text
    note_seq = r.json()["seq"]
    r = act(hub, inc["id"], "resolve", user="bob")
    assert r.status_code == 200, r.text
    assert r.json()["incident"]["status"] == "resolved" and r.json()["seq"] > note_seq
    t = get(hub, f"/api/incidents/{inc['id']}").json()["timeline"]
    kinds = [(e["kind"], e["actor"]) for e in t]
    assert ("acknowledged", "alice") in kinds and ("note", "alice") in kinds
    assert kinds[-1][0] in ("resolved", "stable") and ("resolved", "bob") in kinds
    assert act(hub, inc["id"], "resolve").status_code == 409
    statuses = [r[0] for r in env.pg.query(
        "select status from commands where incident_id = :'v1'", inc["id"])]
    assert statuses.count("done") == 3, statuses


# --- silences ----------------------------------------------------------------------------------

def post_silence(hub, body, user="sam"):
    return requests.post(hub.url + "/api/silences", data=json.dumps(body), timeout=15,
                         headers={"Content-Type": "application/json", "X-Rtmon-User": user})


def test_silences_crud(env, hub):
    r = post_silence(hub, {"service": BULK, "labels": {"team": "core"}, "duration_s": 600,
                           "comment": "maintenance"})
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["service"] == BULK and s["labels"] == {"team": "core"} and s["active"] is True
    assert s["created_by"] == "sam" and s["comment"] == "maintenance" and s["ends_at"]
    assert s["until_resolved"] is False and s["deleted_at"] is None and s["rule"] is None
    assert get(hub, f"/api/silences/{s['id']}").json() == s
    assert s["id"] in [x["id"] for x in get(hub, "/api/silences", active="true").json()["items"]]
    # The matching incidents show as silenced; others do not.
    items = get(hub, "/api/incidents", service=BULK, limit=10).json()["items"]
    assert items and all(i["silenced"] for i in items)
    r = requests.delete(hub.url + f"/api/silences/{s['id']}", timeout=10)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["active"] is False and d["deleted_at"]
    assert s["id"] in [x["id"] for x in get(hub, "/api/silences", active="false").json()["items"]]
    assert s["id"] not in [x["id"] for x in get(hub, "/api/silences", active="true").json()["items"]]
    items = get(hub, "/api/incidents", service=BULK, limit=10).json()["items"]
    assert not any(i["silenced"] for i in items)
    u = post_silence(hub, {"rule": "bulk-rule", "until_resolved": True}).json()
    assert u["until_resolved"] is True and u["ends_at"] is None and u["active"] is True
    requests.delete(hub.url + f"/api/silences/{u['id']}", timeout=10)


@pytest.mark.parametrize("body,field", [
    ({"duration_s": 60}, "service"),
    ({"labels": {}, "duration_s": 60}, "service"),
    ({"service": "a"}, "ends_at"),
    ({"service": "a", "duration_s": 60, "until_resolved": True}, "ends_at"),
    ({"service": "a", "duration_s": 60, "ends_at": "2099-01-01T00:00:00Z"}, "ends_at"),
    ({"service": "a", "ends_at": "2001-01-01T00:00:00Z"}, "ends_at"),
    ({"service": "a", "duration_s": -5}, "duration_s"),
    ({"service": "a", "duration_s": "10"}, "duration_s"),
    ({"severity": "loud", "duration_s": 60}, "severity"),
    ({"service": "a", "labels": {"k": 1}, "duration_s": 60}, "labels"),
    ({"service": "a", "duration_s": 60, "colour": "red"}, "colour"),
    ([], "body"),
])
def test_silence_validation(hub, body, field):
    r = post_silence(hub, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(field + ":"), r.json()


# --- signals -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def logs_posted(env, hub):
    now = time.time()
    items = [{"event_id": f"api-log-{i}", "service": "api-logs", "ts": round(now - 60 + i * 0.1, 3),
              "level": "error" if i % 4 == 0 else "info", "host": "h1",
              "message": f"Request {i} " + ("Payment GATEWAY timeout" if i % 10 == 0 else "ok")}
             for i in range(120)]
    post_logs(hub, items)
    wait_until(lambda: env.pg.scalar("select count(*) from logs where service = 'api-logs'")
               == "120", 30, what="the logs stored")
    r = hub.post("/events", [{"event_id": f"api-ev-{i}", "service": "api-logs",
                              "ts": round(now - 30 + i, 3), "type": "deploy" if i % 2 else "scale",
                              "attrs": {"n": i}} for i in range(6)])
    assert r.status_code == 202, r.text
    wait_until(lambda: env.pg.scalar("select count(*) from events where service = 'api-logs'")
               == "6", 30, what="the events stored")
    return items


def test_logs_search_by_text_level_and_pages(hub, logs_posted):
    r = get(hub, "/api/logs", service="api-logs", q="payment gateway", limit=200)
    assert r.status_code == 200, r.text
    got = r.json()["items"]
    assert sorted(x["event_id"] for x in got) == sorted(
        f"api-log-{i}" for i in range(120) if i % 10 == 0)
    assert [x["ts"] for x in got] == sorted((x["ts"] for x in got), reverse=True)
    assert set(got[0]) == {"event_id", "ts", "service", "host", "level", "message", "attrs"}
    # LIKE wildcards in q are literal characters.
    assert get(hub, "/api/logs", service="api-logs", q="%").json()["items"] == []
    errs = get(hub, "/api/logs", service="api-logs", level="error", limit=200).json()["items"]
    assert len(errs) == 30 and all(x["level"] == "error" for x in errs)
    seen, cursor = [], None
    while True:
        params = {"service": "api-logs", "limit": 50}
        if cursor:
            params["cursor"] = cursor
        body = get(hub, "/api/logs", **params).json()
        seen += [x["event_id"] for x in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(x["event_id"] for x in logs_posted) and len(seen) == 120


def test_events_by_type(hub, logs_posted):
    body = get(hub, "/api/events", service="api-logs", type="deploy").json()
    assert len(body["items"]) == 3 and all(e["type"] == "deploy" for e in body["items"])
    assert body["items"][0]["attrs"]["n"] == 5 and body["next_cursor"] is None
    page = get(hub, "/api/events", service="api-logs", limit=4).json()
    assert len(page["items"]) == 4 and page["next_cursor"]
    rest = get(hub, "/api/events", service="api-logs", limit=4, cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None


def test_series_width_follows_the_range(env, hub):
    burst_incident(env, hub)
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    def series(span, **kw):
        r = get(hub, f"/api/services/{BURST}/series", to=iso(now + 60),
                **{"from": iso(now + 60 - span)}, **kw)
        assert r.status_code == 200, r.text
        return r.json()
    def counted():
        s = series(1800)
        return s if sum(p["count"] for p in s["points"]) >= 40 else None
    s = wait_until(counted, 30, interval=0.5, what="the burst in the 10 s series")
    assert s["width_s"] == 10 and s["signal"] == "log"
    p = [x for x in s["points"] if x["count"]][0]
    assert p["sum"] is None and p["p95"] is None and p["errors"] <= p["count"]
    assert series(6 * 3600)["width_s"] == 60
    week = series(7 * 86400)
    assert week["width_s"] == 1800
    assert sum(x["count"] for x in week["points"]) == sum(x["count"] for x in s["points"])
    assert series(31 * 86400)["width_s"] == 7200


def test_services_and_rules(env, hub):
    inc = burst_incident(env, hub, "api-burst-open")  # stays open (the other one is resolved)
    svc = wait_until(lambda: [x for x in get(hub, "/api/services").json()["items"]
                              if x["service"] == "api-burst-open"
                              and x["error_rate"] is not None], 30,
                     what="the burst service with stats")[0]
    assert svc["open_incidents"] >= 1 and svc["worst_severity"] == "critical"
    assert svc["error_rate"] > 0 and svc["logs_per_s"] > 0 and svc["last_seen"]
    rules = get(hub, "/api/rules").json()["items"]
    rule = [r for r in rules if r["name"] == "high-error-rate"][0]
    assert rule["kind"] == "error_rate" and rule["severity"] == "critical"
    assert (rule["metric"], rule["op"], rule["threshold"], rule["window_s"]) == (
        "error_rate", ">", 0.05, 60)
    slow = [r for r in rules if r["name"] == "slow-responses"][0]
    assert (slow["metric"], slow["stat"], slow["threshold"]) == ("response_time", "p95", 500)
    assert inc["id"] in [s["incident_id"] for s in rule["states"]]


# --- static UI ---------------------------------------------------------------------------------

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what browsers send


def raw_get(hub, path, headers=None):
    """GET with the path sent exactly as given (requests would normalise `..`)."""
    c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    c.putrequest("GET", path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict(r.getheaders()), body


def test_static_ui(hub):
    status, h, body = raw_get(hub, "/", HTML)
    assert status == 200 and b"rtmon ui" in body
    assert h["Content-Type"].startswith("text/html") and h["Cache-Control"] == "no-cache"
    status, h, body = raw_get(hub, "/assets/app-1a2b3c.js")
    assert status == 200 and body == b"console.log('rtmon')"
    assert h["Content-Type"].startswith("text/javascript") and "immutable" in h["Cache-Control"]
    assert raw_get(hub, "/assets/app-1a2b3c.css")[1]["Content-Type"].startswith("text/css")
    # Client-side routes get the app; missing files do not.
    for route in ["/incidents", f"/incidents/{uuid.uuid4()}", "/services/api", "/silences"]:
        status, h, body = raw_get(hub, route, HTML)
        assert status == 200 and b"rtmon ui" in body, route
    # Non-browser clients keep the JSON 404 of an unknown endpoint.
    status, h, body = raw_get(hub, "/incidents")
    assert status == 404 and json.loads(body) == {"error": "no such endpoint: /incidents"}
    assert raw_get(hub, "/assets/missing.js")[0] == 404
    # Traversal attempts never reach the file next to the UI directory.
    for path in ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                 "/assets/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2e%2e%5csecret.txt"]:
        status, _, body = raw_get(hub, path)
        assert b"top secret" not in body, path
        assert status in (400, 404), (path, status)
    # /logs is both an ingest endpoint and a UI route.
    status, _, body = raw_get(hub, "/logs", HTML)
    assert status == 200 and b"rtmon ui" in body
    assert raw_get(hub, "/logs")[0] == 405
    assert raw_get(hub, "/healthz")[0] == 200
    assert raw_get(hub, "/metrics")[1]["Content-Type"].startswith("text/plain")


def test_unbuilt_ui_page_and_api_only_role(env, tmp_path):
    h = env.hub(env={"RTMON_UI_DIR": str(tmp_path / "nothing"), "RTMON_ROLES": "api"})
    try:
        status, hd, body = raw_get(h, "/", HTML)
        assert status == 200 and b"not built" in body and hd["Content-Type"].startswith("text/html")
        assert get(h, "/api/incidents", service=BULK).json()["counts"]["pending"] == 60
        # No ingest role: no ingest.
        assert h.post("/logs", [{"service": "x", "message": "m", "level": "info"}]).status_code == 404
    finally:
        h.stop()


# --- OpenAPI -----------------------------------------------------------------------------------

def served_routes():
    """The router's table, read from its source (the unit test api_openapi checks the same
    table against the embedded document from inside the binary)."""
    src = (ROOT / "system" / "api" / "router.cpp").read_text()
    return {(m.lower(), p) for m, p in re.findall(r'\{"(GET|POST|DELETE|PUT|PATCH)", "([^"]+)"', src)}


def test_openapi_matches_the_routes(hub):
    r = get(hub, "/api/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    doc = r.json()
    assert doc["openapi"].startswith("3.0")
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops
                  if m in ("get", "post", "delete", "put", "patch")}
    assert documented == served_routes()
    # Every documented operation is answered by a handler (not "no such endpoint" or 405).
    for method, path in sorted(documented):
        url = path.replace("{id}", str(uuid.uuid4())).replace("{service}", "svc")
        if path == "/api/stream":
            continue  # WebSocket: test_stream.py
        r = requests.request(method.upper(), hub.url + url, timeout=15,
                             data="{}", headers={"Content-Type": "application/json"})
        assert r.status_code != 405, (method, path, r.text)
        assert not (r.status_code == 404 and "no such endpoint" in r.text), (method, path)
        assert r.status_code < 500, (method, path, r.status_code, r.text)
    # And the stream route answers plain GETs with 426 (it needs an upgrade).
    assert get(hub, "/api/stream").status_code == 426


# --- the pool's bounds -------------------------------------------------------------------------

def test_full_queue_and_slow_queries_are_503_with_retry_after(env, hub):
    import subprocess
    from concurrent.futures import ThreadPoolExecutor
    h = env.hub(env={"RTMON_ROLES": "api"},
                extra=["--api.db-connections=1", "--api.statement-timeout-ms=1000"])
    try:
        assert get(h, "/api/incidents").status_code == 200
        # Hold a lock every incidents query waits for: the one worker is stuck, the queue
        # (64 per connection) fills, and the statement timeout ends the stuck query.
        locker = subprocess.Popen(
            ["psql", env.db_url, "-X", "-q", "-c",
             "begin; lock table incidents in access exclusive mode; select pg_sleep(3); commit;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        t0 = time.monotonic()
        with ThreadPoolExecutor(100) as pool:
            answers = list(pool.map(lambda _: get(h, "/api/incidents"), range(100)))
        locker.wait(timeout=30)
        codes = [r.status_code for r in answers]
        refused = [r for r in answers if r.status_code == 503 and "overloaded" in r.text]
        timed_out = [r for r in answers if r.status_code == 503 and "longer than 1000 ms" in r.text]
        assert refused, codes
        assert timed_out, codes
        assert all(r.headers.get("Retry-After") == "1" for r in refused + timed_out)
        assert set(codes) <= {200, 503}, codes
        assert time.monotonic() - t0 < 20
        assert get(h, "/api/incidents").status_code == 200
    finally:
        h.stop()
