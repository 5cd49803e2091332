"""Operational endpoints: /healthz, /readyz (JSON), /metrics (Prometheus text whose counters match
exactly what the test sent), and the JSON 404/405 answers."""
import json
import re

import pytest
import requests
import websocket

from conftest import wait_until

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')


@pytest.fixture(scope="module")
def hub(env):
    return env.hub()


def scrape(hub):
    """{(name, labels text): value} of one /metrics scrape (comments checked, not returned)."""
    r = requests.get(hub.url + "/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out = {}
    for line in r.text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def value(samples, name, labels=""):
    return samples.get((name, labels), 0.0)


def test_healthz_and_readyz(hub):
    r = requests.get(hub.url + "/healthz", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    j = r.json()
    assert j["status"] == "ok" and re.match(r"^\d+\.\d+\.\d+", j["version"])
    r = requests.get(hub.url + "/readyz", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert r.json() == {"status": "ready", "kafka": "ok", "postgres": "ok"}
    r = requests.post(hub.url + "/healthz", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET" and "error" in r.json()


def test_unknown_path_is_a_json_404(hub):
    for method, path in (("GET", "/nope"), ("POST", "/logs/extra"), ("GET", "/")):
        r = requests.request(method, hub.url + path, timeout=10)
        assert r.status_code == 404, (method, path)
        assert r.headers["Content-Type"] == "application/json"
        assert r.json() == {"error": f"no such endpoint: {path}"}


def test_metrics_count_what_was_sent(env, hub):
    before = scrape(hub)
    r = hub.post("/logs", [{"message": f"m{i}", "service": "ops"} for i in range(3)])
    assert r.status_code == 202
    r = hub.post("/metrics", [{"rps": 1, "lat": 2}, {"name": "cpu", "value": 0.5}])
    assert r.status_code == 202
    r = hub.post("/events", {"type": "deploy"})
    assert r.status_code == 202
    r = hub.post("/logs", {"message": 5})
    assert r.status_code == 400
    r = hub.post("/events", "not json")
    assert r.status_code == 400
    r = requests.get(hub.url + "/does-not-exist", timeout=10)
    assert r.status_code == 404
    for _ in range(2):
        assert requests.get(hub.url + "/readyz", timeout=10).status_code == 200
    # 3 log rows, 3 metric rows (samples), 1 event row.
    wait_until(lambda: [env.pg.scalar(f"select count(*) from {t}") for t in ("logs", "metrics", "events")]
               == ["3", "3", "1"], 30, what="the rows")

    def settled():
        s = scrape(hub)
        return s if value(s, "rtmon_store_rows_total", 'outcome="inserted"') - \
            value(before, "rtmon_store_rows_total", 'outcome="inserted"') == 7 else None
    after = wait_until(settled, 30, what="rtmon_store_rows_total to count the rows")

    def delta(name, labels=""):
        return value(after, name, labels) - value(before, name, labels)
    assert delta("rtmon_ingest_items_total", 'signal="log"') == 3
    assert delta("rtmon_ingest_items_total", 'signal="metric"') == 2
    assert delta("rtmon_ingest_items_total", 'signal="event"') == 1
    assert delta("rtmon_ingest_rejected_total") == 2
    assert delta("rtmon_http_requests_total", 'route="/logs",code="202"') == 1
    assert delta("rtmon_http_requests_total", 'route="/logs",code="400"') == 1
    assert delta("rtmon_http_requests_total", 'route="/metrics",code="202"') == 1
    assert delta("rtmon_http_requests_total", 'route="/events",code="202"') == 1
    assert delta("rtmon_http_requests_total", 'route="/events",code="400"') == 1
    assert delta("rtmon_http_requests_total", 'route="other",code="404"') == 1
    assert delta("rtmon_http_requests_total", 'route="/readyz",code="200"') == 2
    # The scrape that took `before` was counted once it was answered.
    assert delta("rtmon_http_requests_total", 'route="/metrics",code="200"') >= 1
    assert delta("rtmon_http_request_seconds_count", 'route="/logs"') == 2
    assert delta("rtmon_store_rows_total", 'outcome="inserted"') == 7
    assert delta("rtmon_store_rows_total", 'outcome="duplicate"') == 0
    assert delta("rtmon_store_rows_total", 'outcome="dead_letter"') == 0
    # Two consumer groups: processing reads 4 topics (with commands), the raw store 3.
    assert value(after, "rtmon_consumer_assigned_partitions", 'pipeline="process"') == 16
    assert value(after, "rtmon_consumer_assigned_partitions", 'pipeline="store"') == 12
    assert value(after, "rtmon_ingest_inflight_requests") == 0
    assert delta("rtmon_consumer_records_total", 'pipeline="process"') == 6
    assert delta("rtmon_consumer_records_total", 'pipeline="store"') == 6
    assert delta("rtmon_kafka_produce_seconds_count") == 3
    # Histogram buckets are cumulative and end with +Inf = count.
    buckets = sorted(((float(re.search(r'le="([^"]+)"', k[1]).group(1).replace("+Inf", "inf")), v)
                      for k, v in after.items()
                      if k[0] == "rtmon_http_request_seconds_bucket" and 'route="/logs"' in k[1]))
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    assert buckets[-1] == (float("inf"), value(after, "rtmon_http_request_seconds_count", 'route="/logs"'))


def test_websocket_items_are_counted_too(env, hub):
    """rtmon_ingest_items_total is "Items acknowledged": items acknowledged over the WebSocket
    are acknowledged items as well."""
    before = scrape(hub)
    ws = websocket.create_connection(hub.url.replace("http://", "ws://") + "/ingest", timeout=20)
    try:
        ws.send(json.dumps([{"kind": "log", "message": "ws"}, {"kind": "log", "message": "ws"},
                            {"kind": "event", "type": "ws"}]))
        assert json.loads(ws.recv())["status"] == "ok"
    finally:
        ws.close()
    after = scrape(hub)
    assert value(after, "rtmon_ingest_items_total", 'signal="log"') - \
        value(before, "rtmon_ingest_items_total", 'signal="log"') == 2
    assert value(after, "rtmon_ingest_items_total", 'signal="event"') - \
        value(before, "rtmon_ingest_items_total", 'signal="event"') == 1


def test_connections_beyond_the_cap_are_closed_and_service_recovers(env):
    """http.max-connections bounds open connections: idle clients beyond it are closed at once
    (counted), clients within it are served, and once connections close, new ones are served."""
    import socket

    hub = env.hub(extra=["--http.max-connections=8"])
    idle = []
    try:
        # Each of the 8 completes a keep-alive request first, so the server has surely accepted
        # it (otherwise the over-cap connect below could be accepted before one of them).
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
            idle.append(s)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
        def over_cap_is_closed():
            s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                return s.recv(100) == b""  # closed without an answer
            except (ConnectionResetError, BrokenPipeError):
                return True
            finally:
                s.close()
        wait_until(over_cap_is_closed, 10, what="a connection over the cap to be closed")
    finally:
        for s in idle:
            s.close()
    def served():
        try:  # refused until the server has seen the idle connections close
            return requests.get(hub.url + "/healthz", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False
    wait_until(served, 10, what="service after the idle connections closed")
    text = requests.get(hub.url + "/metrics", timeout=5).text
    refused = re.search(r"^rtmon_http_connections_refused (\d+)", text, re.M)
    assert refused and int(refused.group(1)) >= 1
