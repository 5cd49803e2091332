"""The seed's two curl lines, verbatim (port aside), through Kafka into Postgres."""
import json
import subprocess

from conftest import wait_until


def curl(url, body):
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-X", "POST", url, "-H",
                          "Content-Type: application/json", "-d", body],
                         capture_output=True, text=True, timeout=30)
    text, code = out.stdout.rsplit("\n", 1)
    return int(code), json.loads(text)


def test_seed_log_and_metric_lines_land_in_kafka_and_postgres(env):
    hub = env.hub()
    code, log = curl(hub.url + "/logs", '{"value": {"level": "error", "msg": "Database connection failed", "service": "api", "host": "server-01"}}')
    assert code == 202 and log["accepted"] == 1
    code, metric = curl(hub.url + "/metrics", '{"value": {"response_time": 250, "endpoint": "/api/users", "status_code": 200}}')
    assert code == 202 and metric["accepted"] == 1
    log_id, metric_id = log["ids"][0], metric["ids"][0]

    # On the topics (the seed's acceptance criterion), keyed by service.
    logs = env.kcat_consume("logs")
    assert len(logs) == 1 and logs[0][0] == "api"
    value = json.loads(logs[0][1])
    assert value["event_id"] == log_id and value["level"] == "error"
    assert value["message"] == "Database connection failed" and value["host"] == "server-01"
    metrics = env.kcat_consume("metrics")
    assert len(metrics) == 1 and metrics[0][0] == "unknown"
    assert json.loads(metrics[0][1])["samples"] == [{"name": "response_time", "value": 250.0}]

    # In Postgres, exactly once.
    row = wait_until(lambda: env.pg.query(
        "select event_id, service, host, level, message from logs"), what="the log row")
    assert row == [[log_id, "api", "server-01", "error", "Database connection failed"]]
    row = wait_until(lambda: env.pg.query(
        "select event_id, service, name, value, tags->>'endpoint', tags->>'status_code' from metrics"),
        what="the metric row")
    assert row == [[metric_id, "unknown", "response_time", "250", "/api/users", "200"]]
