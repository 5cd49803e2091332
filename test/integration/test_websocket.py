"""WebSocket ingest on /ingest: a frame is one item or an array of items of mixed kinds, each frame
gets one reply (ok with the ids in item order, or an error and nothing written), frames over
1 MiB close the socket with 1009, and acknowledged items land in Postgres."""
import json
import struct
import uuid

import pytest
import websocket

from conftest import wait_until


@pytest.fixture(scope="module")
def hub(env):
    return env.hub()


def connect(hub, query=""):
    ws = websocket.create_connection(hub.url.replace("http://", "ws://") + "/ingest" + query,
                                     timeout=20)
    ws.rtmon_frames = 0  # text frames sent: the server numbers its replies the same way
    return ws


def call(ws, payload):
    """Sends one text frame and returns its reply, checking (and removing) the frame number."""
    ws.send(payload if isinstance(payload, str) else json.dumps(payload))
    ws.rtmon_frames += 1
    reply = json.loads(ws.recv())
    assert reply.pop("frame") == ws.rtmon_frames, reply
    return reply


def pg_ids(env, table, prefix):
    return sorted(r[0] for r in env.pg.query(f"select event_id from {table} where event_id like '{prefix}%'"))


def topic_ids(env, kind, prefix):
    return sorted(i for i in (json.loads(v)["event_id"] for _, v in env.kcat_consume(kind))
                  if i.startswith(prefix))


def test_mixed_kinds_in_one_frame(env, hub):
    t = f"mix-{uuid.uuid4().hex[:8]}"
    ws = connect(hub)
    try:
        frame = [
            {"kind": "log", "event_id": f"{t}-l1", "service": t, "message": "hello", "level": "WARNING"},
            {"kind": "metric", "event_id": f"{t}-m1", "service": t, "rps": 12, "lat": 0.5,
             "route": "/a"},
            {"kind": "event", "event_id": f"{t}-e1", "service": t, "type": "deploy", "v": "1.2"},
            {"kind": "logs", "service": t, "msg": "generated id"},
            {"kind": "metrics", "value": {"event_id": f"{t}-m2", "service": t, "name": "cpu", "value": 0.25}},
        ]
        reply = call(ws, frame)
        assert reply["status"] == "ok" and reply["accepted"] == 5, reply
        ids = reply["ids"]
        assert ids[:3] == [f"{t}-l1", f"{t}-m1", f"{t}-e1"] and ids[4] == f"{t}-m2"
        generated = ids[3]
        # One object per frame works too.
        reply = call(ws, {"kind": "event", "event_id": f"{t}-e2", "service": t, "type": "restart"})
        assert reply == {"status": "ok", "accepted": 1, "ids": [f"{t}-e2"]}
    finally:
        ws.close()

    want_logs = sorted([f"{t}-l1", generated])
    wait_until(lambda: env.pg.query(f"select count(*) from logs where service = '{t}'") == [["2"]]
               and env.pg.query(f"select count(*) from metrics where service = '{t}'") == [["3"]]
               and env.pg.query(f"select count(*) from events where service = '{t}'") == [["2"]],
               30, what="the frame's rows")
    assert sorted(r[0] for r in env.pg.query(f"select event_id from logs where service = '{t}'")) == want_logs
    assert env.pg.query(f"select level, message from logs where event_id = '{t}-l1'") == [["warn", "hello"]]
    assert sorted(env.pg.query(f"select event_id, name, value, tags->>'route' from metrics where service = '{t}'")) == [
        [f"{t}-m1", "lat", "0.5", "/a"], [f"{t}-m1", "rps", "12", "/a"], [f"{t}-m2", "cpu", "0.25", ""]]
    assert sorted(env.pg.query(f"select event_id, type, attrs::text from events where service = '{t}'")) == [
        [f"{t}-e1", "deploy", '{"v": "1.2"}'], [f"{t}-e2", "restart", "{}"]]
    # On the topics, keyed by service.
    assert sorted(k for k, v in env.kcat_consume("metrics") if t in v) == [t, t]


def test_kind_and_service_defaults_from_the_url(env, hub):
    t = f"def-{uuid.uuid4().hex[:8]}"
    ws = connect(hub, f"?kind=metrics&service={t}")
    try:
        reply = call(ws, [{"event_id": f"{t}-m", "rps": 3},
                          {"event_id": f"{t}-e", "kind": "event", "type": "deploy"},
                          {"event_id": f"{t}-m-own", "rps": 4, "service": f"{t}-own"}])
        assert reply == {"status": "ok", "accepted": 3, "ids": [f"{t}-m", f"{t}-e", f"{t}-m-own"]}
    finally:
        ws.close()
    wait_until(lambda: len(pg_ids(env, "metrics", t)) == 2 and len(pg_ids(env, "events", t)) == 1,
               30, what="default-kind rows")
    assert sorted(env.pg.query(f"select event_id, service from metrics where event_id like '{t}%'")) == [
        [f"{t}-m", t], [f"{t}-m-own", f"{t}-own"]]
    assert env.pg.query(f"select service, type from events where event_id = '{t}-e'") == [[t, "deploy"]]


def test_bad_frames_get_an_error_and_write_nothing(env, hub):
    t = f"bad-{uuid.uuid4().hex[:8]}"
    ws = connect(hub)
    try:
        good = {"kind": "log", "event_id": f"{t}-good", "service": t, "message": "fine"}
        reply = call(ws, [good, {"kind": "log", "event_id": f"{t}-bad", "service": t, "message": 5}])
        assert reply["status"] == "error" and reply["code"] == 400, reply
        assert reply["errors"][0] == {"index": 1, "field": "message", "problem": "must be a string"}
        assert "ids" not in reply or reply["ids"] == []

        reply = call(ws, [{"event_id": f"{t}-nokind", "message": "which table?"}])
        assert reply["code"] == 400 and reply["errors"][0]["index"] == 0
        assert reply["errors"][0]["field"] == "kind"

        reply = call(ws, [good, {"kind": "trace", "event_id": f"{t}-k", "message": "x"}])
        assert reply["code"] == 400 and reply["errors"][0]["index"] == 1
        assert reply["errors"][0]["field"] == "kind"

        reply = call(ws, '[{"kind": "log", "message": "unterminated"')
        assert reply["status"] == "error" and reply["code"] == 400
        assert "index" not in reply["errors"][0]

        reply = call(ws, [good, {"kind": "event", "event_id": f"{t}-nul", "type": "a\u0000b"}])
        assert reply["code"] == 400 and "NUL" in reply["errors"][0]["problem"]

        reply = call(ws, [good, {"kind": "metric", "event_id": f"{t}-big", "n": 9007199254740993}])
        assert reply["code"] == 400

        reply = call(ws, "[]")
        assert reply["code"] == 400

        reply = call(ws, json.dumps([dict(good, event_id=f"{t}-many-{i}") for i in range(1001)]))
        assert reply["status"] == "error" and reply["code"] == 413

        ws.send_binary(json.dumps(good).encode())
        reply = json.loads(ws.recv())
        assert reply["status"] == "error" and reply["code"] == 415

        # The connection still works, and its rows land.
        reply = call(ws, {"kind": "log", "event_id": f"{t}-after", "service": t, "message": "after"})
        assert reply == {"status": "ok", "accepted": 1, "ids": [f"{t}-after"]}
    finally:
        ws.close()
    wait_until(lambda: pg_ids(env, "logs", t) == [f"{t}-after"], 30, what="the valid frame's row")
    # Nothing of the refused frames anywhere: same partition as the valid row, which is stored.
    for kind in ("logs", "metrics", "events"):
        assert topic_ids(env, kind, t) == ([f"{t}-after"] if kind == "logs" else [])
        assert pg_ids(env, kind, t) == ([f"{t}-after"] if kind == "logs" else [])


def test_pipelined_frames_each_get_their_reply(env, hub):
    t = f"pipe-{uuid.uuid4().hex[:8]}"
    ws = connect(hub)
    try:
        frames = {}
        for i in range(100):
            ids = [f"{t}-{i}-{k}" for k in range(5)]
            frames[tuple(ids)] = i
            ws.send(json.dumps([{"kind": ("log", "event", "metric")[k % 3], "event_id": x,
                                 "service": f"{t}-{i % 4}", "message": "m", "type": "t", "n": k}
                                for k, x in enumerate(ids)]))
        replies = [json.loads(ws.recv()) for _ in range(100)]
    finally:
        ws.close()
    assert all(r["status"] == "ok" and r["accepted"] == 5 for r in replies), replies[:3]
    assert sorted(frames[tuple(r["ids"])] for r in replies) == list(range(100))
    # Replies name their frame (1-based), so a client can match them without ids.
    assert all(frames[tuple(r["ids"])] + 1 == r["frame"] for r in replies)
    # Per frame: log, event, metric, log, event.
    wait_until(lambda: len(pg_ids(env, "logs", t)) == 200 and len(pg_ids(env, "events", t)) == 200
               and len(pg_ids(env, "metrics", t)) == 100, 30, what="500 pipelined items")
    all_ids = {x for ids in frames for x in ids}
    assert set(pg_ids(env, "logs", t)) | set(pg_ids(env, "events", t)) | set(pg_ids(env, "metrics", t)) == all_ids


def close_code(ws):
    """Reads raw frames until the server's close frame; returns its status code. (recv_frame, not
    recv_data_frame: that one answers the close and fails on the socket the server shut.)"""
    while True:
        frame = ws.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0]


def test_frame_over_1MiB_closes_with_1009(env, hub):
    t = f"big-{uuid.uuid4().hex[:8]}"
    ws = connect(hub)
    try:
        # Exactly 1 MiB is still accepted.
        text = json.dumps([{"kind": "log", "event_id": f"{t}-limit", "service": t, "message": "x" * 30000}] * 1)
        text += " " * (1048576 - len(text))
        reply = call(ws, text)
        assert reply["status"] == "ok", reply
        try:
            ws.send(text + " ")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may stop reading mid-frame; its close frame is already queued
        assert close_code(ws) == 1009
    finally:
        ws.close()
    # The connection is gone, a new one works.
    ws = connect(hub)
    try:
        reply = call(ws, {"kind": "log", "event_id": f"{t}-after", "service": t, "message": "after"})
        assert reply["status"] == "ok"
    finally:
        ws.close()
    wait_until(lambda: pg_ids(env, "logs", t) == [f"{t}-after", f"{t}-limit"], 30, what="rows")
