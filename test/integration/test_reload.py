"""SIGHUP reloads the rules file and the notifications file of a running hub: a valid file
replaces what is in force (the next data is evaluated with the new rules, the next incident is
routed to the new channel), an invalid one is refused with a log line and changes nothing."""
import json
import signal
import time
import uuid

import pytest
import requests

from conftest import wait_until


def rules(threshold):
    return {"rules": [{"name": "hot", "type": "threshold", "severity": "critical",
                       "metric": "cpu", "stat": "max", "window": "1m", "op": ">",
                       "threshold": threshold, "min_count": 1, "for": "0s",
                       "summary": "{service}: cpu {value}"}]}


def routes(slack, path):
    return {"channels": {"slack": {"kind": "slack", "url": slack.url(path), "rate_per_s": 10,
                                   "burst": 10}},
            "routes": [{"channels": ["slack"]}]}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("reload")
    return d / "rules.json", d / "notifications.json"


@pytest.fixture(scope="module")
def hub(env, slack, files):
    rules_file, routes_file = files
    rules_file.write_text(json.dumps(rules(90)))
    routes_file.write_text(json.dumps(routes(slack, "/first")))
    return env.hub(env={"RTMON_RULES_FILE": str(rules_file),
                        "RTMON_NOTIFICATIONS_FILE": str(routes_file)})


def cpu(hub, service, value):
    r = hub.post("/metrics", json.dumps({"event_id": f"{service}-{uuid.uuid4().hex[:8]}",
                                         "service": service, "ts": time.time(), "name": "cpu",
                                         "value": value}))
    assert r.status_code == 202, r.text


def hup_and_wait(hub, *lines):
    """SIGHUP, then waits until the log has each of `lines` once more than before."""
    before = hub.log_path.read_text(errors="replace")
    hub.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: all(hub.log_path.read_text(errors="replace").count(x) > before.count(x)
                           for x in lines), 15, what=f"log lines {lines}")


def triggered(hub, service):
    def one():
        rows = requests.get(hub.url + "/api/incidents", params={"service": service},
                            timeout=10).json()["items"]
        return rows[0]["id"] if rows and rows[0]["status"] == "triggered" else None
    return wait_until(one, 30, what=f"incident of {service}")


def test_a_valid_reload_replaces_rules_and_routing(hub, slack, files):
    rules_file, routes_file = files
    # Under the first rules (> 90) 70 % cpu would not open anything (rules_eval unit tests).
    rules_file.write_text(json.dumps(rules(50)))
    routes_file.write_text(json.dumps(routes(slack, "/second")))
    hup_and_wait(hub, "rules: reloaded 1 rules", "notify: reloaded 1 channels and 1 routes")
    cpu(hub, "reload-b", 70)
    iid = triggered(hub, "reload-b")
    slack.wait_for(1, path="/second", timeout=15)
    assert any(iid in r.body.decode() for r in slack.received("/second"))
    assert not slack.received("/first")


def test_an_invalid_reload_changes_nothing(hub, slack, files):
    rules_file, routes_file = files
    rules_file.write_text('{"rules": [{"name": "broken", "type": "nope"}]}')
    routes_file.write_text('{"channels": {"slack": {"kind": "pager"}}}')
    hup_and_wait(hub, "rules: reload refused", "notify: reload refused")
    n = len(slack.received("/second"))
    cpu(hub, "reload-c", 70)  # still the reloaded rule (> 50) and channel (/second)
    iid = triggered(hub, "reload-c")
    slack.wait_for(n + 1, path="/second", timeout=15)
    assert any(iid in r.body.decode() for r in slack.received("/second"))
    assert not slack.received("/first")
