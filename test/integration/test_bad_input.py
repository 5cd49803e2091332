"""Bad requests are refused as a whole with the documented status and a JSON body naming the
item index and field, and none of them writes anything: after the whole table the Kafka topics
and the tables are empty, and a valid request still works. HTTP framing errors are sent over a
raw socket."""
import json
import socket
import time

import pytest
import requests

from conftest import wait_until

LOG = {"message": "ok"}
NOW = time.time()


def deep(levels):
    """An attrs value nested so that the item is `levels` objects deep."""
    return "{\"a\":" * (levels - 2) + "1" + "}" * (levels - 2)


def exact_size(text, size):
    """Pads a JSON text with trailing whitespace to exactly `size` bytes."""
    assert len(text) <= size
    return text + " " * (size - len(text))


# (id, method, path, body, content type (None: no header), extra headers,
#  status, errors[0] index (None: no index, body level), errors[0] field (None: no errors list),
#  text the error must contain)
CASES = [
    ("malformed-json", "POST", "/logs", '{"message": }', "application/json", {},
     400, None, "message", "malformed JSON"),
    ("truncated-json", "POST", "/logs", '{"message": "abc"', "application/json", {},
     400, None, "message", "truncated JSON"),
    ("trailing-garbage", "POST", "/logs", '{"message": "abc"} xyz', "application/json", {},
     400, None, "", "unexpected data after the JSON value"),
    ("trailing-garbage-line", "POST", "/logs", '{"message": "abc"}\nxyz', "application/json", {},
     400, None, "", "unexpected data"),
    ("message-not-string", "POST", "/logs", '{"message": 5}', "application/json", {},
     400, 0, "message", "must be a string"),
    ("metric-value-string", "POST", "/metrics", '{"name": "cpu", "value": "3"}',
     "application/json", {}, 400, 0, "value", "must be a number"),
    ("log-missing-message", "POST", "/logs", '{"level": "info", "host": "h"}', "application/json",
     {}, 400, 0, "message", "is required"),
    ("event-missing-type", "POST", "/events", '{"service": "api", "x": 1}', "application/json", {},
     400, 0, "type", "is required"),
    ("metric-no-numeric-field", "POST", "/metrics", '{"endpoint": "/a", "ok": true}',
     "application/json", {}, 400, 0, "value", "no numeric field"),
    ("unknown-level", "POST", "/logs", '{"message": "a", "level": "loud"}', "application/json", {},
     400, 0, "level", "unknown level 'loud'"),
    ("nul-in-value", "POST", "/logs", '{"message": "a\\u0000b"}', "application/json", {},
     400, None, "message", "NUL"),
    # The key is named with its NUL shown as "?".
    ("nul-in-key-first", "POST", "/logs", '{"k\\u0000": "v", "message": "a"}', "application/json",
     {}, 400, None, "k?", "NUL"),
    ("non-finite-number", "POST", "/logs", '{"message": "a", "n": 1e400}', "application/json", {},
     400, None, "n", "not finite"),
    ("integer-2^53+1", "POST", "/logs", '{"message": "a", "n": 9007199254740993}',
     "application/json", {}, 400, None, "n", "2^53"),
    ("negative-integer-2^53+1", "POST", "/metrics", '{"delta": -9007199254740993}',
     "application/json", {}, 400, None, "delta", "2^53"),
    ("integer-beyond-64-bit", "POST", "/logs",
     '{"message": "a", "n": 123456789012345678901234567890}', "application/json", {},
     400, None, "n", "2^53"),
    ("nesting-depth-12", "POST", "/logs", '{"message": "a", "attrs": ' + deep(12) + '}',
     "application/json", {}, 400, None, "a", "nesting deeper than 10"),
    ("string-40KB", "POST", "/logs", json.dumps({"message": "x" * 40000}), "application/json", {},
     400, None, "message", "longer than 32768"),
    ("1001-items", "POST", "/logs", json.dumps([LOG] * 1001), "application/json", {},
     413, None, "", "exceeds the limit of 1000"),
    ("1001-ndjson-lines", "POST", "/logs", "\n".join([json.dumps(LOG)] * 1001),
     "application/x-ndjson", {}, 413, None, "", "more than 1000 items"),
    ("129-fields", "POST", "/logs", json.dumps({"message": "a", **{f"f{i}": i for i in range(128)}}),
     "application/json", {}, 400, 0, "", "more than 128 fields"),
    ("body-1MiB+1", "POST", "/logs", exact_size(json.dumps([LOG]), 1048577), "application/json",
     {}, 413, None, None, "larger than 1048576"),
    ("content-type-text-plain", "POST", "/logs", json.dumps(LOG), "text/plain", {},
     415, None, None, "Content-Type"),
    ("content-type-missing", "POST", "/logs", json.dumps(LOG), None, {},
     415, None, None, "Content-Type"),
    ("content-encoding-gzip", "POST", "/logs", json.dumps(LOG), "application/json",
     {"Content-Encoding": "gzip"}, 415, None, None, "Content-Encoding"),
    ("get-logs", "GET", "/logs", None, None, {}, 405, None, None, "method not allowed"),
    ("put-events", "PUT", "/events", json.dumps({"type": "x"}), "application/json", {},
     405, None, None, "method not allowed"),
    ("event-id-bad-chars", "POST", "/logs", json.dumps({"message": "a", "event_id": "bad id!"}),
     "application/json", {}, 400, 0, "event_id", "[A-Za-z0-9._:-]"),
    ("event-id-129-chars", "POST", "/events", json.dumps({"type": "a", "event_id": "e" * 129}),
     "application/json", {}, 400, 0, "event_id", "1 to 128"),
    ("event-id-number", "POST", "/logs", json.dumps({"message": "a", "event_id": 17}),
     "application/json", {}, 400, 0, "event_id", "must be a string"),
    ("ts-200h-past", "POST", "/logs", json.dumps({"message": "a", "ts": NOW - 200 * 3600}),
     "application/json", {}, 400, 0, "ts", "older than"),
    ("timestamp-2h-future", "POST", "/events",
     json.dumps({"type": "a", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                         time.gmtime(NOW + 7200))}),
     "application/json", {}, 400, 0, "timestamp", "in the future"),
    ("ts-not-a-time", "POST", "/logs", json.dumps({"message": "a", "ts": "yesterday"}),
     "application/json", {}, 400, 0, "ts", "RFC 3339"),
    ("ts-no-offset", "POST", "/logs", json.dumps({"message": "a", "ts": "2026-01-01T00:00:00"}),
     "application/json", {}, 400, 0, "ts", "RFC 3339"),
    ("one-good-one-bad", "POST", "/logs", json.dumps([{"message": "good"}, {"message": 5}]),
     "application/json", {}, 400, 1, "message", "must be a string"),
    ("ndjson-bad-third-line", "POST", "/metrics",
     '{"rps": 1}\n{"rps": 2}\n{"rps": [1]}\n{"rps": 4}\n', "application/x-ndjson", {},
     400, 2, "rps", "must be numbers"),
    ("ndjson-truncated-line", "POST", "/logs", '{"message": "a"}\n{"message":\n',
     "application/x-ndjson", {}, 400, 1, "message", "truncated"),
    ("item-not-object", "POST", "/logs", '["just a string"]', "application/json", {},
     400, 0, "", "must be a JSON object"),
    ("empty-body", "POST", "/logs", "", "application/json", {}, 400, None, "", "empty body"),
    ("blank-body", "POST", "/events", " \n\t\n", "application/x-ndjson", {},
     400, None, "", "empty body"),
    ("empty-array", "POST", "/metrics", "[]", "application/json", {}, 400, None, "", "empty batch"),
    ("unknown-path", "POST", "/log", json.dumps(LOG), "application/json", {},
     404, None, None, "no such endpoint"),
]


@pytest.fixture(scope="module")
def hub(env):
    return env.hub()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused(hub, case):
    _, method, path, body, ctype, headers, status, index, field, text = case
    headers = dict(headers)
    if ctype is not None:
        headers["Content-Type"] = ctype
    r = requests.request(method, hub.url + path, data=body, headers=headers, timeout=30)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    j = r.json()
    assert text in j["error"] or text in j["errors"][0]["problem"], j
    if status == 405:
        assert "POST" in r.headers["Allow"]
    if field is None:
        return
    e0 = j["errors"][0]
    if index is None:
        assert "index" not in e0, j
    else:
        assert e0["index"] == index, j
    assert e0["field"] == field, j


def test_method_not_allowed_names_allowed_methods(hub):
    r = requests.get(hub.url + "/logs", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = requests.delete(hub.url + "/metrics", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, POST"


def test_nul_in_a_later_key_names_that_key(hub):
    """The error must not blame the previous, valid field."""
    for body in ('{"message": "a", "k\\u0000": "v"}', json.dumps({"message": "a", "k" * 40000: 1})):
        r = hub.post("/logs", body)
        assert r.status_code == 400, r.text
        field = r.json()["errors"][0]["field"]
        assert field != "message", f"error blames the valid field 'message': {r.text[:300]}"


# --- raw HTTP framing ------------------------------------------------------------------------


def raw_request(hub, data):
    """Sends bytes, returns (status, headers dict, body bytes) of the first response."""
    with socket.create_connection(("127.0.0.1", hub.port), timeout=15) as s:
        s.sendall(data)
        buf = b""
        while True:
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                lines = head.decode("latin-1").split("\r\n")
                hdrs = {k.strip().lower(): v.strip()
                        for k, v in (line.split(":", 1) for line in lines[1:])}
                n = int(hdrs.get("content-length", "0"))
                if len(rest) >= n:
                    return int(lines[0].split()[1]), hdrs, rest[:n]
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed after {buf!r}")
            buf += chunk


def post_bytes(headers, body=b""):
    return (b"POST /logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body)


def chunked(body):
    return b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"


BODY = json.dumps(LOG).encode()


def test_raw_header_over_16KiB_is_431(hub):
    status, hdrs, body = raw_request(hub, post_bytes(
        [b"X-Padding: " + b"a" * 17000, b"Content-Length: %d" % len(BODY)], BODY))
    assert status == 431 and "16384" in json.loads(body)["error"]
    assert hdrs["connection"] == "close"


def test_raw_content_length_and_chunked_is_400(hub):
    status, hdrs, body = raw_request(hub, post_bytes(
        [b"Content-Length: %d" % len(BODY), b"Transfer-Encoding: chunked"], chunked(BODY)))
    assert status == 400, body
    assert "Transfer-Encoding" in json.loads(body)["error"]
    assert hdrs["connection"] == "close"


def test_raw_two_content_lengths_is_400(hub):
    status, _, body = raw_request(hub, post_bytes(
        [b"Content-Length: %d" % len(BODY), b"Content-Length: 3"], BODY))
    assert status == 400, body


def test_raw_gzip_chunked_transfer_encoding_is_501(hub):
    status, hdrs, body = raw_request(hub, post_bytes([b"Transfer-Encoding: gzip, chunked"],
                                                     chunked(BODY)))
    assert status == 501, body
    assert "gzip, chunked" in json.loads(body)["error"]
    assert hdrs["connection"] == "close"


def test_raw_chunked_body_over_1MiB_is_413(hub):
    big = json.dumps([{"message": "x" * 1000}] * 1100).encode()
    status, _, body = raw_request(hub, post_bytes([b"Transfer-Encoding: chunked"], chunked(big)))
    assert status == 413, body


def test_nothing_was_written_and_valid_requests_still_work(env, hub):
    for kind in ("logs", "metrics", "events"):
        assert env.kcat_consume(kind) == [], f"topic {kind} is not empty"
    for table in ("logs", "metrics", "events", "dead_letters"):
        assert env.pg.scalar(f"select count(*) from {table}") == "0", table

    # A valid request right at the body limit (exactly 1 MiB) is accepted.
    r = hub.post("/logs", exact_size(json.dumps([{"message": "after", "event_id": "after-1"}]),
                                     1048576))
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 1, "ids": ["after-1"]}
    r = hub.post("/metrics", {"event_id": "after-2", "rps": 3})
    assert r.status_code == 202, r.text
    status, _, body = raw_request(hub, post_bytes(
        [b"Transfer-Encoding: chunked"], chunked(json.dumps({"message": "c", "event_id": "after-3"}).encode())))
    assert status == 202 and json.loads(body)["ids"] == ["after-3"]
    wait_until(lambda: env.pg.query("select event_id from logs order by 1") == [["after-1"], ["after-3"]]
               and env.pg.query("select event_id, name, value from metrics") == [["after-2", "rps", "3"]],
               30, what="the valid rows")
    assert [k for k, _ in env.kcat_consume("logs")] == ["unknown", "unknown"]


# --- found while writing the table: run after the emptiness check since they may write ---------


def test_transfer_encoding_is_case_insensitive(env, hub):
    """RFC 9112: transfer-coding names are case-insensitive; Beast parses `Chunked` as chunked,
    so the request must be accepted like `chunked`."""
    status, _, body = raw_request(hub, post_bytes(
        [b"Transfer-Encoding: Chunked"], chunked(json.dumps({"message": "C", "event_id": "te-C"}).encode())))
    assert status == 202, body


@pytest.mark.parametrize("service", ["%00", "a%0Ab", "s" * 201], ids=["nul", "newline", "201-chars"])
def test_service_query_param_is_validated_like_the_field(hub, service):
    """?service= is the item's service: it must obey the same rules as a `service` field
    (1-200 printable characters, no \\u0000), or the edge acks items that never reach the table
    (a NUL service ends in dead_letters after the 202)."""
    r = hub.post(f"/logs?service={service}", {"message": "a"})
    assert r.status_code == 400, f"?service={service[:20]} accepted: {r.status_code} {r.text}"
    assert r.json()["errors"][0]["field"] == "service"
